// The preload for real, in a child Node process: two SIGUSR2 give a profile, and the process
// still ends as it would without the preload.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type CpuProfile, analyseProfile } from '../src/cpu-profile-summary';

const PRELOAD = resolve(__dirname, '../src/cpu-profiler-preload.cjs');
// Busy in bursts (the signal handler runs between them); on SIGTERM it stops its timer and must
// then exit by itself: the preload's signal listener and inspector session keep nothing alive.
const CHILD = `
  const timer = setInterval(() => { const end = Date.now() + 20; while (Date.now() < end); }, 25);
  process.on('SIGTERM', () => clearInterval(timer));
  process.stdout.write('ready\\n');
`;

const sleep = (ms: number): Promise<void> =>
  new Promise((resolvePromise) => setTimeout(resolvePromise, ms));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'strata-cpu-preload-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('writes a .cpuprofile between two SIGUSR2 and lets the process exit on SIGTERM', async () => {
  const child = spawn(process.execPath, ['--require', PRELOAD, '-e', CHILD], {
    env: { ...process.env, STRATA_CPU_PROF_DIR: dir, STRATA_CPU_PROF_INTERVAL_US: '500' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolvePromise) =>
    child.once('exit', (code, signal) => resolvePromise([code, signal])),
  );
  try {
    await new Promise<void>((resolvePromise) => child.stdout.once('data', () => resolvePromise()));
    child.kill('SIGUSR2');
    await sleep(400);
    child.kill('SIGUSR2');
    let files: string[] = [];
    for (let waited = 0; files.length === 0 && waited < 5_000; waited += 50) {
      await sleep(50);
      files = readdirSync(dir).filter((file) => file.endsWith('.cpuprofile'));
    }
    expect(files).toEqual([`node-${child.pid}-1.cpuprofile`]);
    const profile = JSON.parse(readFileSync(join(dir, files[0]), 'utf8')) as CpuProfile;
    expect(profile.samples!.length).toBeGreaterThan(10);
    expect(profile.timeDeltas).toHaveLength(profile.samples!.length);
    const analysis = analyseProfile(profile);
    // ~400 ms window, busy ~80 % of it; loose bounds for a loaded machine.
    expect(analysis.sampledMs).toBeGreaterThan(200);
    expect(analysis.busyMs).toBeGreaterThan(50);

    child.kill('SIGTERM');
    expect(await exited).toEqual([0, null]);
    expect(stderr).toBe('');
  } finally {
    child.kill('SIGKILL');
  }
});
