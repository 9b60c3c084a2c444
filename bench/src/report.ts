// Results: the JSON file of a run, and docs/benchmarks.md + docs/benchmarks.svg generated from it.
// The chart is plain SVG text (no native dependency): throughput and p99 per scenario.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { format as prettierFormat, resolveConfig } from 'prettier';

export interface ScenarioResult {
  readonly name: string;
  readonly unit: string;
  readonly throughput: number;
  readonly latencyMs: { p50: number; p90: number; p99: number; max: number };
  readonly latencyNote?: string;
  readonly errors: number;
  readonly operations: number;
  /** CPU-seconds per 1,000 operations: Strata's processes (and baseline servers), PostgreSQL, Redis. */
  readonly cpuSecondsPer1k: {
    strata: number;
    postgres: number;
    redis: number;
    loadGenerator: number;
    byProcess: Record<string, number>;
  };
  readonly loadAverage1m: number;
  readonly wallSeconds?: number;
  readonly peakRssMiB?: Record<string, number>;
  readonly detail: unknown;
}

export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | null;
}

export interface BenchResults {
  readonly startedAt: string;
  readonly mode: 'quick' | 'full';
  readonly command: string;
  readonly machine: {
    cpuModel: string;
    cpus: number;
    memoryGiB: number;
    os: string;
    hostname: string;
    node: string;
  };
  readonly loadAverage: { before: number[]; after: number[] };
  readonly loadGeneratorCpu: number | null;
  readonly clusterStartSeconds: number;
  readonly scenarioWallSeconds: number;
  /** From the cluster being ready to the last scenario's end: seeding, bench servers, scenarios. */
  readonly afterClusterSeconds: number;
  readonly seed: { readonly seconds: number } & Readonly<Record<string, number>>;
  readonly scenarios: ScenarioResult[];
  readonly ratios: { hotRead?: number; warmRead?: number; coldRead?: number };
  readonly idleRssMiB: Record<string, number>;
  readonly peakRssMiB: Record<string, number>;
  readonly failures: Record<string, string>;
  readonly targets: TargetCheck[];
}

const SERVICE_PROCESSES =
  /^(user|content|payment|notification|gateway-[a-z]|psp-simulator)(-worker)?$/;

export function evaluateTargets(results: BenchResults): TargetCheck[] {
  const find = (name: string) => results.scenarios.find((scenario) => scenario.name === name);
  const check = (
    target: string,
    value: number | undefined,
    met: (v: number) => boolean,
    show: (v: number) => string,
  ): TargetCheck =>
    value === undefined || Number.isNaN(value)
      ? { target, measured: 'not measured', met: null }
      : { target, measured: show(value), met: met(value) };
  const half = find('warm read at half rate');
  const payment = find('payment create');
  const idle = Object.entries(results.idleRssMiB).filter(([name]) => SERVICE_PROCESSES.test(name));
  const worstIdle = idle.sort((a, b) => b[1] - a[1])[0];
  return [
    check(
      'hot read ≥ 0.8× baseline',
      results.ratios.hotRead,
      (v) => v >= 0.8,
      (v) => `${v}×`,
    ),
    check(
      'warm read ≥ 0.4× baseline',
      results.ratios.warmRead,
      (v) => v >= 0.4,
      (v) => `${v}×`,
    ),
    check(
      'warm read p99 ≤ 10 ms at half its max rate',
      half?.latencyMs.p99,
      (v) => v <= 10,
      (v) => `${v} ms at ${half?.throughput ?? '?'} req/s`,
    ),
    check(
      'cold read ≥ 0.7× raw pg',
      results.ratios.coldRead,
      (v) => v >= 0.7,
      (v) => `${v}×`,
    ),
    check(
      'payment create ≥ 1,000/s',
      payment?.throughput,
      (v) => v >= 1_000,
      (v) => `${v}/s`,
    ),
    check(
      'payment create p99 < 50 ms at 500/s',
      payment?.latencyMs.p99,
      (v) => v < 50,
      (v) => `${v} ms (${payment?.latencyNote ?? ''})`,
    ),
    check(
      '≥ 2,000 no-op jobs/s per worker process',
      find('no-op jobs')?.throughput,
      (v) => v >= 2_000,
      (v) => `${v}/s`,
    ),
    check(
      'idle RSS ≤ 150 MB per service',
      worstIdle?.[1],
      (v) => v <= 150 * 1.048576,
      (v) => `max ${v} MiB (${worstIdle?.[0] ?? ''})`,
    ),
  ];
}

// null: a NaN that went through a results file (JSON has no NaN), when docs are redone from one.
const format = (value: number | null | undefined): string =>
  value === undefined || value === null || Number.isNaN(value)
    ? '–'
    : value.toLocaleString('en-US');

const BASELINE_OF: Record<string, string> = {
  'hot read': 'hot read baseline',
  'warm read': 'warm read baseline',
  'cold read': 'cold read baseline',
};

/** Throughput (left) and p99 (right) per scenario, as horizontal bars. */
export function renderChart(results: BenchResults): string {
  const rows = results.scenarios;
  const rowHeight = 26;
  const top = 50;
  const labelWidth = 190;
  const barWidth = 300;
  const gap = 40;
  const width = labelWidth + barWidth * 2 + gap + 80;
  const height = top + rows.length * rowHeight + 30;
  const maxThroughput = Math.max(1, ...rows.map((row) => row.throughput || 0));
  const maxP99 = Math.max(
    1,
    ...rows.map((row) => (Number.isFinite(row.latencyMs.p99) ? row.latencyMs.p99 : 0)),
  );
  const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${labelWidth}" y="20" font-weight="bold">Throughput (per second, linear)</text>`,
    `<text x="${labelWidth + barWidth + gap}" y="20" font-weight="bold">p99 latency (ms, linear)</text>`,
    `<text x="10" y="38" fill="#555">${escape(`${results.machine.cpus} × ${results.machine.cpuModel}; load ${results.loadAverage.before.join(' ')}`)}</text>`,
  ];
  rows.forEach((row, index) => {
    const y = top + index * rowHeight;
    const isBaseline = row.name.endsWith('baseline');
    const throughputWidth = Math.max(1, (row.throughput / maxThroughput) * barWidth);
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${escape(row.name)}</text>`,
    );
    parts.push(
      `<rect x="${labelWidth}" y="${y + 3}" width="${throughputWidth.toFixed(1)}" height="16" fill="${isBaseline ? '#9e9e9e' : '#1f77b4'}"/>`,
    );
    parts.push(
      `<text x="${labelWidth + throughputWidth + 4}" y="${y + 15}">${escape(`${format(row.throughput)} ${row.unit.replace('/s', '')}`)}</text>`,
    );
    if (Number.isFinite(row.latencyMs.p99)) {
      const p99Width = Math.max(1, (row.latencyMs.p99 / maxP99) * (barWidth - 60));
      const x = labelWidth + barWidth + gap;
      parts.push(
        `<rect x="${x}" y="${y + 3}" width="${p99Width.toFixed(1)}" height="16" fill="${isBaseline ? '#bdbdbd' : '#ff7f0e'}"/>`,
      );
      parts.push(`<text x="${x + p99Width + 4}" y="${y + 15}">${row.latencyMs.p99}</text>`);
    }
  });
  parts.push(
    `<text x="10" y="${height - 10}" fill="#555">grey: baselines in the same run · generated by bench/src/report.ts</text>`,
  );
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function markdown(results: BenchResults, resultsFile: string, findings?: string): string {
  const lines: string[] = [];
  const ratioOf = (name: string): string => {
    const baseline = results.scenarios.find((scenario) => scenario.name === BASELINE_OF[name]);
    const scenario = results.scenarios.find((candidate) => candidate.name === name);
    return baseline && scenario && baseline.throughput > 0
      ? `${(scenario.throughput / baseline.throughput).toFixed(2)}×`
      : '';
  };
  lines.push(
    '<!-- Generated by `npm run bench` (bench/src/report.ts) from the results file named below; edit the generator or the hand-written notes in bench/README.md, not this file. -->',
    '# Benchmarks',
    '',
    'End-to-end figures of the one-machine cluster (`npm start`: Nginx → two gateway replicas → gRPC services → PostgreSQL/Redis), each read scenario beside its baseline **in the same run**. How the harness works, what each baseline is and what limits each figure: [bench/README.md](../bench/README.md).',
    '',
    `- Run: ${results.startedAt} (${results.mode}), results \`${resultsFile}\``,
    `- Command: \`${results.command}\``,
    `- Machine: ${results.machine.cpus} × ${results.machine.cpuModel}, ${results.machine.memoryGiB} GiB, ${results.machine.os}, Node ${results.machine.node}`,
    `- Load generators: separate processes${results.loadGeneratorCpu === null ? ' (not pinned)' : `, pinned with \`taskset\` to CPU ${results.loadGeneratorCpu}; the servers are not pinned and share both CPUs with it`}`,
    `- Load average (1/5/15 min) before: ${results.loadAverage.before.join(' / ')}, after: ${results.loadAverage.after.join(' / ')}. **This machine is shared with other jobs**: a load average above ~2 means neighbours took CPU during the run, so throughput is understated and p99 overstated; re-run on a quiet machine for reference numbers. CPU-seconds per 1,000 requests are less sensitive to this than req/s.`,
    `- Data: ${Object.entries(results.seed)
      .filter(([key]) => key !== 'seconds')
      .map(([key, value]) => `${format(value)} ${key}`)
      .join(', ')} (seeded with SQL in ${results.seed.seconds} s)`,
    '',
    '![Throughput and p99 per scenario](benchmarks.svg)',
    '',
    '## Results',
    '',
    '| scenario | throughput | ratio to baseline | p50 ms | p90 ms | p99 ms | errors | CPU-s / 1k: Strata | PostgreSQL | Redis | load gen. | load 1m |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const row of results.scenarios) {
    const cpu = row.cpuSecondsPer1k;
    lines.push(
      `| ${row.name} | ${format(row.throughput)} ${row.unit} | ${ratioOf(row.name)} | ${format(row.latencyMs.p50)} | ${format(row.latencyMs.p90)} | ${format(row.latencyMs.p99)}${row.latencyNote ? ` (${row.latencyNote})` : ''} | ${row.errors} | ${format(cpu.strata)} | ${format(cpu.postgres)} | ${format(cpu.redis)} | ${format(cpu.loadGenerator)} | ${row.loadAverage1m} |`,
    );
  }
  for (const [name, message] of Object.entries(results.failures)) {
    lines.push(
      `| ${name} | **failed**: ${message.replace(/\|/g, '\\|').slice(0, 200)} | | | | | | | | | | |`,
    );
  }
  lines.push('', '## Targets (issue 9)', '', '| target | measured | met |', '|---|---|---|');
  for (const target of results.targets) {
    lines.push(
      `| ${target.target} | ${target.measured} | ${target.met === null ? 'not measured' : target.met ? 'met' : '**not met**'} |`,
    );
  }
  lines.push('', '## Where the CPU went (CPU-seconds per 1,000 operations, by process)', '');
  for (const row of results.scenarios) {
    const entries = Object.entries(row.cpuSecondsPer1k.byProcess);
    if (entries.length > 0)
      lines.push(
        `- ${row.name}: ${entries
          .slice(0, 8)
          .map(([name, value]) => `${name} ${value}`)
          .join(', ')}`,
      );
  }
  lines.push(
    '',
    '## Memory (MiB)',
    '',
    '| process | idle RSS | peak RSS (VmHWM) |',
    '|---|---:|---:|',
  );
  const processNames = [
    ...new Set([...Object.keys(results.idleRssMiB), ...Object.keys(results.peakRssMiB)]),
  ].sort();
  for (const name of processNames) {
    lines.push(
      `| ${name} | ${format(results.idleRssMiB[name])} | ${format(results.peakRssMiB[name])} |`,
    );
  }
  for (const row of results.scenarios) {
    if (row.peakRssMiB && Object.keys(row.peakRssMiB).length > 0) {
      lines.push(
        '',
        `Peak RSS of the processes of the ${row.name} bench: ${Object.entries(row.peakRssMiB)
          .map(([name, value]) => `${name} ${value}`)
          .join(', ')}.`,
      );
    }
  }
  if (findings === undefined) {
    lines.push(
      '',
      'What limits each missed target: see "Findings" in [bench/README.md](../bench/README.md).',
      '',
    );
  } else {
    // bench/FINDINGS.md, one heading level down so it sits under this page's title.
    lines.push(
      '',
      '## Findings (hand-written: [bench/FINDINGS.md](../bench/FINDINGS.md))',
      '',
      findings
        .replace(/^# .*\n+/, '')
        .replace(/^(#{2,5}) /gm, '#$1 ')
        .replace(/\]\((?!https?:|#|\.\.\/)([^)]+)\)/g, '](../bench/$1)')
        .trim(),
      '',
    );
  }
  return lines.join('\n');
}

/** Formatted as the repository's Prettier settings say, so `prettier --check .` (CI) passes. */
async function formatted(path: string, text: string): Promise<string> {
  const config = (await resolveConfig(path)) ?? {};
  return prettierFormat(text, { ...config, filepath: path });
}

/** Writes `<outDir>/<date>-<machine>.json` and, when asked, docs/benchmarks.md and .svg. */
export async function writeReport(
  results: BenchResults,
  options: { outDir: string; writeDocs: boolean; root: string },
): Promise<string> {
  mkdirSync(options.outDir, { recursive: true });
  const machine = results.machine.hostname.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
  const file = join(
    options.outDir,
    `${results.startedAt.slice(0, 10)}-${machine}${results.mode === 'quick' ? '-quick' : ''}.json`,
  );
  writeFileSync(file, await formatted(file, JSON.stringify(results)));
  if (options.writeDocs) {
    const docs = join(options.root, 'docs');
    const page = join(docs, 'benchmarks.md');
    writeFileSync(join(docs, 'benchmarks.svg'), renderChart(results));
    const findingsFile = join(options.root, 'bench', 'FINDINGS.md');
    const findings = existsSync(findingsFile) ? readFileSync(findingsFile, 'utf8') : undefined;
    writeFileSync(
      page,
      await formatted(page, markdown(results, relative(options.root, file), findings)),
    );
  }
  return file;
}
