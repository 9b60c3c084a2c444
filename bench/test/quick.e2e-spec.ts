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

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'strata-bench-quick-'));
  // Under Nx the test target already depends on every service's build; run directly, the
  // launcher builds (cache hits when nothing changed).
  const args = ['--conditions=@strata/source', '--import', 'tsx', 'src/main.ts', '--quick'];
  args.push('--out', outDir);
  const child = spawn(process.execPath, args, {
    cwd: BENCH_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  exitCode = await new Promise<number | null>((resolvePromise) =>
    child.once('exit', resolvePromise),
  );
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
