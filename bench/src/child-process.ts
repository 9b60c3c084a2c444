// Servers and load generators of the bench run in processes of their own, so that the load
// generator never shares an event loop (or, where the machine allows, a CPU) with what it measures.
// A child tells the parent about itself with one JSON line per message, prefixed by MESSAGE_PREFIX.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';

const MESSAGE_PREFIX = '@@bench ';
const SOURCE_DIR = __dirname;

/** Written by a child: the parent reads it as the next message. */
export function sendToParent(message: Record<string, unknown>): void {
  process.stdout.write(`${MESSAGE_PREFIX}${JSON.stringify(message)}\n`);
}

/** Reads a child's JSON arguments (argv[2]). */
export function childArguments<T>(): T {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error('expected one JSON argument');
  return JSON.parse(raw) as T;
}

const TASKSET_AVAILABLE = spawnSync('taskset', ['--version']).error === undefined;

/**
 * The CPU the load generators are pinned to: the last one. With 2 cores the servers still run on
 * both (they are not pinned), so the generator takes a share of one core away from them; that is
 * the best a 2-core machine allows and docs/benchmarks.md says so. undefined = no pinning.
 */
export function loadGeneratorCpu(): number | undefined {
  const count = cpus().length;
  return TASKSET_AVAILABLE && count >= 2 ? count - 1 : undefined;
}

export interface BenchChild {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the next message of `type` (rejects if the child exits first). */
  next(type: string, timeoutMs: number): Promise<Record<string, unknown>>;
  /** Everything the child wrote to stderr (for error messages). */
  errors(): string;
  stop(): Promise<void>;
}

/** Starts `src/<file>` (TypeScript, through tsx) with a JSON argument. */
export function startChild(
  file: string,
  argument: unknown,
  options: { pinToLoadCpu?: boolean; env?: Record<string, string>; nodeArgs?: string[] } = {},
): BenchChild {
  const nodeArgs = [
    ...(options.nodeArgs ?? []),
    '--conditions=@strata/source',
    '--import',
    'tsx',
    join(SOURCE_DIR, file),
    JSON.stringify(argument),
  ];
  const cpu = options.pinToLoadCpu ? loadGeneratorCpu() : undefined;
  const [command, args] =
    cpu === undefined
      ? [process.execPath, nodeArgs]
      : ['taskset', ['-c', String(cpu), process.execPath, ...nodeArgs]];
  const child = spawn(command, args, {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const messages: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  let stderr = '';
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith(MESSAGE_PREFIX)) {
        messages.push(JSON.parse(line.slice(MESSAGE_PREFIX.length)) as Record<string, unknown>);
        for (const wake of waiters.splice(0)) wake();
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => {
    for (const wake of waiters.splice(0)) wake();
  });

  const next = async (type: string, timeoutMs: number): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = messages.findIndex((message) => message.type === type);
      if (index >= 0) return messages.splice(index, 1)[0];
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${file} exited (${child.exitCode ?? child.signalCode}): ${stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${file}: no "${type}" within ${timeoutMs} ms: ${stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1_000));
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  if (child.pid === undefined) throw new Error(`could not start ${file}`);
  return { child, pid: child.pid, next, errors: () => stderr, stop };
}
