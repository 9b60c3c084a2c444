// The stall log for real, in a child Node process: a 150 ms busy stretch is logged as a stall,
// a process without the variable logs nothing, and neither is kept alive by the preload.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const PRELOAD = resolve(__dirname, '../src/stall-monitor-preload.cjs');
// Waits for the monitor's timer to run, blocks the loop for 150 ms, then lets the loop run once
// more (so the late timer fires and is logged) and returns: the process must then exit by itself.
const CHILD = `
  setTimeout(() => {
    const end = Date.now() + 150;
    while (Date.now() < end);
    setTimeout(() => {}, 30);
  }, 50);
`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'strata-stall-log-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const runChild = (env: NodeJS.ProcessEnv) =>
  spawnSync(process.execPath, ['--require', PRELOAD, '-e', CHILD], {
    env,
    encoding: 'utf8',
    timeout: 10_000,
  });

it('logs an event-loop stall with its length and lets the process exit', () => {
  const result = runChild({ ...process.env, STRATA_STALL_LOG_DIR: dir });
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  const files = readdirSync(dir);
  expect(files).toHaveLength(1);
  const stalls = readFileSync(join(dir, files[0]), 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(' '))
    .filter(([, kind]) => kind === 'stall')
    .map(([, , ms]) => Number(ms));
  // On a starved machine other, shorter stalls may be logged too; the busy stretch is the longest.
  expect(stalls.length).toBeGreaterThanOrEqual(1);
  expect(Math.max(...stalls)).toBeGreaterThanOrEqual(120);
  expect(Math.max(...stalls)).toBeLessThan(5_000);
});

it('does nothing without STRATA_STALL_LOG_DIR', () => {
  const env = { ...process.env };
  delete env.STRATA_STALL_LOG_DIR;
  const result = runChild(env);
  expect(result.status).toBe(0);
  expect(readdirSync(dir)).toEqual([]);
});
