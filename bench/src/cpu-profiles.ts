// `--cpu-prof <dir>`: V8 CPU profiles of every Node process of the cluster and of the bench's
// servers, one window per chosen scenario. The processes load `cpu-profiler-preload.cjs` through
// NODE_OPTIONS (the only way in: `--cpu-prof` itself is refused there, and it would profile the
// whole life of a process); SIGUSR2 starts their profiler, the next SIGUSR2 stops it and writes a
// `.cpuprofile`, which is moved to `<dir>/<scenario-slug>/<process-name>-<pid>.cpuprofile`.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { basename, join, resolve } from 'node:path';

export const CPU_PROFILER_PRELOAD = join(__dirname, 'cpu-profiler-preload.cjs');

/** The variables a process needs to be profiled (bench servers with an explicit env copy them). */
export const CPU_PROFILER_ENV_NAMES = [
  'NODE_OPTIONS',
  'STRATA_CPU_PROF_DIR',
  'STRATA_CPU_PROF_INTERVAL_US',
] as const;

/** The scenarios that run through `measured` in main.ts: the read scenarios and the fan-out. */
export const PROFILABLE_SCENARIOS = [
  'hot read',
  'hot read baseline',
  'warm read',
  'warm read baseline',
  'warm read at half rate',
  'cold read',
  'cold read baseline',
  'websocket fan-out',
] as const;

// Long enough for every process's event loop to reach the signal handler and start sampling
// before the load begins (a process busy for longer starts late; its profile is only shorter).
const START_SETTLE_MS = 300;
const WRITE_TIMEOUT_MS = 30_000;

export const scenarioSlug = (name: string): string =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

export interface CpuProfileCapture {
  /** Stops the profilers and moves their files under `<dir>/<slug>/`; never throws. */
  stop(): Promise<string[]>;
}

export interface CpuProfiler {
  readonly dir: string;
  /** Slugs of the scenarios profiled so far, in order. */
  readonly profiled: string[];
  includes(scenario: string): boolean;
  /** Starts profiling every armed Node process among `processes` (pid → display name). */
  start(scenario: string, processes: Map<number, string>): Promise<CpuProfileCapture>;
  /** Removes the staging directory. */
  close(): void;
}

let nodeExecutable: string | undefined;

/**
 * Only a Node process whose environment carries the preload for this run has a SIGUSR2 handler;
 * anything else (Nginx, Redis, which inherit NODE_OPTIONS too) would take SIGUSR2 as something
 * else entirely (Nginx: upgrade its binary; Node without the handler: terminate).
 */
function armed(pid: number, rawDir: string): boolean {
  try {
    nodeExecutable ??= realpathSync(process.execPath);
    const executable = readlinkSync(`/proc/${pid}/exe`);
    if (executable !== nodeExecutable && !/^node(js)?$/.test(basename(executable))) return false;
    const environment = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return (
      environment.includes(`STRATA_CPU_PROF_DIR=${rawDir}`) &&
      environment.some(
        (entry) => entry.startsWith('NODE_OPTIONS=') && entry.includes(CPU_PROFILER_PRELOAD),
      )
    );
  } catch {
    return false; // ended meanwhile, or not ours to read
  }
}

function signal(pid: number): boolean {
  try {
    process.kill(pid, 'SIGUSR2');
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolvePromise) => setTimeout(resolvePromise, ms));

/**
 * Sets this process's environment so that every Node process started from now on (the cluster
 * through start.mjs, the bench's servers) loads the preload. Must run before the cluster starts.
 */
export function enableCpuProfiling(options: {
  dir: string;
  scenarios: readonly string[];
  intervalMicroseconds: number;
  say: (message: string) => void;
}): CpuProfiler {
  const unknown = options.scenarios.filter(
    (name) => !(PROFILABLE_SCENARIOS as readonly string[]).includes(name),
  );
  if (unknown.length > 0) {
    throw new Error(
      `--cpu-prof-scenarios: unknown ${unknown.map((name) => `"${name}"`).join(', ')}; choose among ${PROFILABLE_SCENARIOS.join(', ')}`,
    );
  }
  const dir = resolve(options.dir);
  const rawDir = join(dir, '.raw');
  rmSync(rawDir, { recursive: true, force: true });
  mkdirSync(rawDir, { recursive: true });
  // Appended, so whatever NODE_OPTIONS a developer runs with still applies; quoted, as NODE_OPTIONS
  // splits on spaces.
  const preload = `--require ${JSON.stringify(CPU_PROFILER_PRELOAD)}`;
  process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, preload].filter(Boolean).join(' ');
  process.env.STRATA_CPU_PROF_DIR = rawDir;
  process.env.STRATA_CPU_PROF_INTERVAL_US = String(options.intervalMicroseconds);
  const profiled: string[] = [];

  const start = async (
    scenario: string,
    processes: Map<number, string>,
  ): Promise<CpuProfileCapture> => {
    const slug = scenarioSlug(scenario);
    // Left over only by a process that wrote after an earlier scenario had stopped waiting.
    for (const file of readdirSync(rawDir)) rmSync(join(rawDir, file), { force: true });
    const targets = new Map([...processes].filter(([pid]) => armed(pid, rawDir)));
    if (targets.size === 0) options.say(`  cpu-prof: no profilable Node process for ${scenario}`);
    for (const pid of targets.keys()) if (!signal(pid)) targets.delete(pid);
    await sleep(START_SETTLE_MS);

    const stop = async (): Promise<string[]> => {
      const moved: string[] = [];
      try {
        const pending = new Map([...targets].filter(([pid]) => signal(pid)));
        const scenarioDir = join(dir, slug);
        rmSync(scenarioDir, { recursive: true, force: true });
        mkdirSync(scenarioDir, { recursive: true });
        const deadline = Date.now() + WRITE_TIMEOUT_MS;
        while (pending.size > 0 && Date.now() < deadline) {
          await sleep(100);
          for (const file of readdirSync(rawDir)) {
            const pid = Number(/-(\d+)-\d+\.cpuprofile$/.exec(file)?.[1]);
            const name = pending.get(pid);
            if (name === undefined) continue;
            const target = join(scenarioDir, `${name}-${pid}.cpuprofile`);
            renameSync(join(rawDir, file), target);
            moved.push(target);
            pending.delete(pid);
          }
          // A process that ended meanwhile (a restarted gateway replica) will not write one.
          for (const pid of pending.keys()) if (!existsSync(`/proc/${pid}`)) pending.delete(pid);
        }
        if (pending.size > 0) {
          options.say(
            `  cpu-prof: no profile from ${[...pending].map(([pid, name]) => `${name} (${pid})`).join(', ')}`,
          );
        }
        profiled.push(slug);
        options.say(`  cpu-prof: ${moved.length} profiles in ${scenarioDir}`);
      } catch (error) {
        options.say(`  cpu-prof: ${error instanceof Error ? error.message : String(error)}`);
      }
      return moved;
    };
    return { stop };
  };

  return {
    dir,
    profiled,
    includes: (scenario) => options.scenarios.includes(scenario),
    start,
    close: () => rmSync(rawDir, { recursive: true, force: true }),
  };
}
