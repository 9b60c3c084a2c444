// Keeps the benchmark harness from rotting: runs `npm run bench -- --quick` as CI would (a private
// one-machine cluster on free ports, its own databases and Redis, all removed afterwards) and
// asserts only what issue 9 asks of the quick mode: every scenario ran, with zero errors. Speed
// is not asserted: CI machines are shared and the figures mean nothing there.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BenchResults } from '../src/report';

const BENCH_DIR = resolve(__dirname, '..');
const EXPECTED_SCENARIOS = [
  'hot read',
  'hot read baseline',
  'warm read',
  'warm read baseline',
  'warm read at half rate',
  'cold read',
  'cold read baseline',
  'websocket fan-out',
  'payment create',
  'no-op jobs',
  'email jobs',
];

let outDir: string;
let results: BenchResults;
let exitCode: number | null;
let output = '';

// Below the hook's timeout, so a hung run is stopped here with its log instead of by jest (which
// would leave the cluster running and jest waiting on its pipes).
const RUN_DEADLINE_MS = 480_000;
const STOP_GRACE_MS = 30_000;

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'strata-bench-quick-'));
  // Under Nx the e2e target already depends on every service's build; run directly, the
  // launcher builds (cache hits when nothing changed).
  const args = ['--conditions=@strata/source', '--import', 'tsx', 'src/main.ts', '--quick'];
  args.push('--out', outDir);
  // Its own process group: on a deadline the whole tree (cluster, load generators, service
  // benches) is signalled, not only the bench's main process.
  const child = spawn(process.execPath, args, {
    cwd: BENCH_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  // Progress goes to CI's log as it happens: a slow or hung step is visible there.
  const record = (chunk: Buffer): void => {
    output += chunk.toString();
    process.stderr.write(chunk);
  };
  child.stdout.on('data', record);
  child.stderr.on('data', record);
  const exited = new Promise<number | null>((resolvePromise) => child.once('exit', resolvePromise));
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // the group is gone already
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolvePromise) => {
    timer = setTimeout(() => resolvePromise('deadline'), RUN_DEADLINE_MS);
  });
  const first = await Promise.race([exited, deadline]);
  clearTimeout(timer);
  if (first === 'deadline') {
    signalGroup('SIGTERM');
    const stopped = await Promise.race([
      exited.then(() => true),
      new Promise<false>((resolvePromise) =>
        setTimeout(() => resolvePromise(false), STOP_GRACE_MS),
      ),
    ]);
    if (!stopped) signalGroup('SIGKILL');
    throw new Error(
      `npm run bench -- --quick did not finish within ${RUN_DEADLINE_MS / 1_000} s (stopped); log tail:\n${output.slice(-6_000)}`,
    );
  }
  exitCode = first;
  // Anything the bench left behind in its group (it should leave nothing) goes too.
  signalGroup('SIGKILL');
  const summary = output
    .split('\n')
    .reverse()
    .find((line) => line.startsWith('{"resultsFile"'));
  if (summary === undefined)
    throw new Error(`no results (exit ${exitCode}):\n${output.slice(-4_000)}`);
  const { resultsFile } = JSON.parse(summary) as { resultsFile: string };
  results = JSON.parse(readFileSync(resultsFile, 'utf8')) as BenchResults;
}, 590_000);

afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
});

describe('npm run bench -- --quick', () => {
  it('exits cleanly with no failed scenario', () => {
    expect(results.failures).toEqual({});
    expect(exitCode).toBe(0);
  });

  it('runs every scenario of issue 9', () => {
    expect(results.scenarios.map((scenario) => scenario.name).sort()).toEqual(
      [...EXPECTED_SCENARIOS].sort(),
    );
  });

  it.each(EXPECTED_SCENARIOS)('%s: did work, with zero errors', (name) => {
    const scenario = results.scenarios.find((candidate) => candidate.name === name);
    expect(scenario).toBeDefined();
    expect({ name, errors: scenario!.errors }).toEqual({ name, errors: 0 });
    expect(scenario!.operations).toBeGreaterThan(0);
    expect(scenario!.throughput).toBeGreaterThan(0);
  });
});
