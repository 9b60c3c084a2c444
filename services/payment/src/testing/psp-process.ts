import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

const REPO_ROOT = path.join(__dirname, '..', '..', '..', '..');
export const REGISTER_TS = path.join(__dirname, '..', '..', 'scripts', 'register-ts.cjs');
const PSP_MAIN = path.join(REPO_ROOT, 'services', 'psp-simulator', 'src', 'main.ts');

export const PSP_API_KEY = 'psp-test-api-key';
export const PSP_WEBHOOK_SECRET = 'whsec_test_0123456789abcdef';

export interface PspCharge {
  id: string;
  status: string;
  amount: number;
  reference: string | null;
}

export interface PspProcess {
  readonly url: string;
  charges(reference?: string): Promise<PspCharge[]>;
  requestCount(): Promise<number>;
  close(): Promise<void>;
}

/** Spawns a TypeScript entry point (fixture or service main) with the repository's sources. */
export function spawnTs(entry: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--conditions=@strata/source', '-r', REGISTER_TS, entry], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves with the first stdout JSON line whose `msg` matches, rejects if the process exits first. */
export function waitForLine(
  child: ChildProcess,
  message: string,
  timeoutMs = 20_000,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const stderr: string[] = [];
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    const timer = setTimeout(
      () => done(new Error(`timed out waiting for "${message}": ${stderr.join('')}`)),
      timeoutMs,
    );
    const onExit = (code: number | null) =>
      done(new Error(`process exited (${code}) before "${message}": ${stderr.join('')}`));
    function done(error: Error | undefined, line?: Record<string, unknown>) {
      clearTimeout(timer);
      child.off('exit', onExit);
      lines.close();
      if (error) reject(error);
      else resolve(line!);
    }
    child.once('exit', onExit);
    lines.on('line', (text) => {
      try {
        const parsed = JSON.parse(text) as Record<string, unknown>;
        if (parsed.msg === message) done(undefined, parsed);
      } catch {
        // not a log line
      }
    });
  });
}

export async function stopProcess(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await exited;
}

/** The simulator as a real process (as in production), on a free port. */
export async function startPsp(env: Record<string, string> = {}): Promise<PspProcess> {
  const child = spawnTs(PSP_MAIN, {
    PSP_HOST: '127.0.0.1',
    PSP_PORT: '0',
    PSP_API_KEY,
    PSP_WEBHOOK_SECRET,
    LOG_LEVEL: 'info',
    ...env,
  });
  const ready = await waitForLine(child, 'psp-simulator listening');
  child.stdout?.resume();
  const url = `http://127.0.0.1:${String(ready.port)}`;
  const get = async <T>(pathname: string): Promise<T> => {
    const response = await fetch(`${url}${pathname}`, {
      headers: { authorization: `Bearer ${PSP_API_KEY}` },
    });
    return (await response.json()) as T;
  };
  return {
    url,
    charges: async (reference) =>
      (await get<{ data: PspCharge[] }>(`/v1/charges${reference ? `?reference=${reference}` : ''}`))
        .data,
    requestCount: async () => (await get<{ data: unknown[] }>('/v1/charges')).data.length,
    close: () => stopProcess(child),
  };
}
