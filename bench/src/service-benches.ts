// The service-level benchmarks that already exist, run as they are (their own processes, their
// own databases and queue prefixes) and read back: payment creates (services/payment/scripts/
// bench.ts, JSON on stdout) and BullMQ jobs (services/notification/scripts/bench-jobs.ts, Markdown
// tables on stdout). This file only adds what the end-to-end report needs around them: peak RSS
// of every process they start and, for the job bench, CPU per phase from /proc.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { allProcesses, memoryOf, withDescendants } from './proc-stats';

const ROOT = resolve(__dirname, '../..');

/** Peak RSS (VmHWM) of every process under `root`, sampled until stopped. */
class TreePeakSampler {
  private readonly peaks = new Map<string, number>();
  /** Last CPU seconds seen per pid: what a process spent survives its exit (to within 250 ms). */
  readonly lastCpu = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly root: number) {
    this.timer = setInterval(() => this.sample(), 250);
  }

  sample(): void {
    const processes = allProcesses();
    for (const pid of withDescendants([this.root], processes)) {
      this.lastCpu.set(pid, processes.get(pid)?.cpuSeconds ?? 0);
      const memory = memoryOf(pid);
      if (!memory) continue;
      const label = processLabel(pid);
      if (label === undefined) continue;
      this.peaks.set(label, Math.max(this.peaks.get(label) ?? 0, memory.peakRssMiB));
    }
  }

  stop(): Record<string, number> {
    clearInterval(this.timer);
    return Object.fromEntries(this.peaks);
  }
}

/** "bench.ts", "bench-process.ts (server)", "simulator"…; undefined for npm/sh wrappers. */
function processLabel(pid: number): string | undefined {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    if (!/node$/.test(args[0] ?? '')) return undefined;
    const script = [...args].reverse().find((arg) => /\.(ts|js|mjs|cjs)$/.test(arg));
    if (script === undefined || /npm-cli|npx-cli/.test(script)) return undefined;
    const environment = readFileSync(`/proc/${pid}/environ`, 'utf8');
    const role = /(?:^|\0)BENCH_ROLE=([^\0]+)/.exec(environment)?.[1];
    return role === undefined ? basename(script) : `${basename(script)} (${role})`;
  } catch {
    return undefined;
  }
}

interface RunResult {
  readonly stdout: string;
  readonly peakRssMiB: Record<string, number>;
  readonly marks: Array<{ line: string; cpu: Map<number, number> }>;
  /** CPU seconds of the whole tree, each process counted to its last sample. */
  readonly totalCpuSeconds: number;
}

/**
 * Runs `npm run bench -w <workspace>` and collects its output; `markLines` are stdout lines at
 * which a /proc CPU snapshot of its process tree is taken (phase boundaries).
 */
async function runWorkspaceBench(
  workspace: string,
  env: Record<string, string>,
  markLines: readonly RegExp[],
  timeoutMs: number,
): Promise<RunResult> {
  const child = spawn('npm', ['run', '--silent', 'bench', '-w', workspace], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start the ${workspace} bench`);
  const rootPid = child.pid;
  const sampler = new TreePeakSampler(rootPid);
  const snapshot = (): Map<number, number> => {
    sampler.sample();
    return new Map(sampler.lastCpu);
  };
  const marks: RunResult['marks'] = [{ line: 'start', cpu: snapshot() }];
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    stdout += text;
    for (const line of text.split('\n')) {
      if (markLines.some((pattern) => pattern.test(line))) marks.push({ line, cpu: snapshot() });
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8_000)));
  const code = await new Promise<number | null>((resolvePromise) => {
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolvePromise(exitCode);
    });
  });
  const peakRssMiB = sampler.stop();
  if (code !== 0) throw new Error(`${workspace} bench exited with ${code}: ${stderr}`);
  const totalCpuSeconds = [...sampler.lastCpu.values()].reduce((sum, value) => sum + value, 0);
  return { stdout, peakRssMiB, marks, totalCpuSeconds };
}

function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}

export interface PaymentBenchResult {
  readonly createsPerSecond: number;
  readonly completed: number;
  readonly throughputP50Ms: number | undefined;
  readonly latency: { ratePerSecond: number; p50Ms: number; p99Ms: number; maxMs: number };
  readonly errors: number;
  /** Server + worker + simulator, per 1,000 creates, in the throughput phase. */
  readonly strataCpuSecondsPer1k: number;
  readonly postgresCpuSecondsPer1k: number;
  readonly redisCpuSecondsPer1k: number;
  readonly peakRssMiB: Record<string, number>;
  readonly raw: unknown;
}

interface PaymentBenchJson {
  throughput: {
    completed: number;
    errors: number;
    createsPerSecond: number;
    cpuSeconds: Record<string, number>;
    p50Ms?: number;
  };
  latency: { ratePerSecond: number; errors: number; p50Ms: number; p99Ms: number; maxMs: number };
}

export async function runPaymentBench(options: {
  seconds: number;
  rate: number;
  concurrency: number;
  databaseUrl: string;
  redisUrl: string;
}): Promise<PaymentBenchResult> {
  const run = await runWorkspaceBench(
    '@strata/payment-service',
    {
      BENCH_SECONDS: String(options.seconds),
      BENCH_RATE: String(options.rate),
      BENCH_CONCURRENCY: String(options.concurrency),
      TEST_DATABASE_URL: options.databaseUrl,
      TEST_REDIS_URL: options.redisUrl,
    },
    [],
    10 * 60_000,
  );
  const json = JSON.parse(run.stdout.slice(run.stdout.indexOf('{'))) as PaymentBenchJson;
  const cpu = json.throughput.cpuSeconds;
  const per1k = (seconds: number): number =>
    Math.round((seconds * 1_000_000) / Math.max(1, json.throughput.completed)) / 1_000;
  const sumRoles = (pattern: RegExp): number =>
    Object.entries(cpu)
      .filter(([role]) => pattern.test(role))
      .reduce((sum, [, seconds]) => sum + seconds, 0);
  return {
    createsPerSecond: json.throughput.createsPerSecond,
    completed: json.throughput.completed,
    throughputP50Ms: json.throughput.p50Ms,
    latency: {
      ratePerSecond: json.latency.ratePerSecond,
      p50Ms: json.latency.p50Ms,
      p99Ms: json.latency.p99Ms,
      maxMs: json.latency.maxMs,
    },
    errors: json.throughput.errors + json.latency.errors,
    strataCpuSecondsPer1k: per1k(sumRoles(/payment server|payment worker|psp-simulator/)),
    postgresCpuSecondsPer1k: per1k(sumRoles(/postgres/)),
    redisCpuSecondsPer1k: per1k(sumRoles(/redis/)),
    peakRssMiB: run.peakRssMiB,
    raw: json,
  };
}

export interface JobsBenchResult {
  readonly noopJobsPerSecondByConcurrency: Record<string, number>;
  readonly noopJobsPerSecond: number;
  readonly emailJobsPerSecondByRun: Record<string, number>;
  readonly emailJobsPerSecond: number;
  readonly errors: number;
  /** CPU of the bench's own process tree (worker, load, SMTP sink) per 1,000 jobs, by phase. */
  readonly noopCpuSecondsPer1k: number;
  readonly emailCpuSecondsPer1k: number;
  readonly peakRssMiB: Record<string, number>;
}

export async function runJobsBench(options: {
  noopJobs: number;
  emailJobs: number;
  queueRedisUrl: string;
}): Promise<JobsBenchResult> {
  const run = await runWorkspaceBench(
    '@strata/notification-service',
    {
      BENCH_NOOP_JOBS: String(options.noopJobs),
      BENCH_EMAIL_JOBS: String(options.emailJobs),
      REDIS_QUEUE_URL: options.queueRedisUrl,
    },
    [/^## end-to-end email/],
    10 * 60_000,
  );
  const noop: Record<string, number> = {};
  const email: Record<string, number> = {};
  for (const line of run.stdout.split('\n')) {
    const noopRow = /^\| (\d+) \| (\d+) \|$/.exec(line);
    if (noopRow) noop[`c${noopRow[1]}`] = Number(noopRow[2]);
    const emailRow = /^\| (.+?) \| (\d+) \| (\d+) \|$/.exec(line);
    if (emailRow && !/recipient/.test(emailRow[1]))
      email[`${emailRow[1]} c${emailRow[2]}`] = Number(emailRow[3]);
  }
  const failed = [...run.stdout.matchAll(/\((\d+) failed attempts\)/g)].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  );
  const [start, emailMark] = run.marks;
  const noopRuns = Object.keys(noop).length;
  const emailRuns = Object.keys(email).length;
  // Split at the email table's header: before it the no-op runs (with their enqueueing and the
  // process start), after it the email runs (worker, SMTP sink child, fake user service).
  const noopCpu = start && emailMark ? cpuBetween(start.cpu, emailMark.cpu) : NaN;
  const emailCpu = emailMark
    ? run.totalCpuSeconds - [...emailMark.cpu.values()].reduce((sum, value) => sum + value, 0)
    : NaN;
  const expectedRuns = 4; // bench-jobs.ts: concurrency 1, 10, 50, 100; and 2 × 2 email runs
  return {
    noopJobsPerSecondByConcurrency: noop,
    noopJobsPerSecond: Math.max(0, ...Object.values(noop)),
    emailJobsPerSecondByRun: email,
    emailJobsPerSecond: Math.max(0, ...Object.values(email)),
    errors: failed + Math.max(0, expectedRuns - noopRuns) + Math.max(0, expectedRuns - emailRuns),
    noopCpuSecondsPer1k:
      Math.round((noopCpu * 1_000_000) / Math.max(1, options.noopJobs * noopRuns)) / 1_000,
    emailCpuSecondsPer1k:
      Math.round((emailCpu * 1_000_000) / Math.max(1, options.emailJobs * emailRuns)) / 1_000,
    peakRssMiB: run.peakRssMiB,
  };
}
