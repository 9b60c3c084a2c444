import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { HealthCheckResponse_ServingStatus, HealthClient } from '@strata/contracts';
import { createGrpcClient } from '@strata/grpc';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
} from '@strata/testing';
import { SERVICE_DIR, testEnvironment } from './testing/user-service.harness';

/**
 * The real entry points, as separate processes: `node --import tsx` runs the TypeScript sources
 * directly (the `@strata/source` condition resolves the kit to its sources, as under jest).
 */
function runEntry(
  entry: 'main.ts' | 'worker.ts',
  env: Record<string, string>,
): ChildProcessWithoutNullStreams {
  return spawn(
    process.execPath,
    ['--conditions=@strata/source', '--import', 'tsx', path.join('src', entry)],
    {
      cwd: SERVICE_DIR,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
}

function collect(child: ChildProcessWithoutNullStreams): {
  stdout: () => string;
  stderr: () => string;
} {
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return { stdout: () => stdout, stderr: () => stderr };
}

async function exitOf(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

async function waitForLine(
  read: () => string,
  pattern: RegExp,
  timeoutMs = 20_000,
): Promise<string> {
  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    const line = read()
      .split('\n')
      .find((candidate) => pattern.test(candidate));
    if (line) return line;
    if (Date.now() > giveUpAt)
      throw new Error(`no line matching ${String(pattern)} in:\n${read()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// Each test starts a Node process that compiles the sources on the fly: slow on a busy machine.
jest.setTimeout(60_000);

describe('process entry points', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let environment: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase({ serviceDir: SERVICE_DIR, name: 'user-main' });
    redis = await createTestRedis({ name: 'user-main' });
    environment = { ...testEnvironment(database, redis), LOG_LEVEL: 'info' };
  });

  afterAll(async () => {
    await redis?.cleanup();
    await database?.drop();
  });

  it('main exits non-zero naming a missing variable, without printing secret values', async () => {
    const { JWT_ISSUER: _missing, ...withoutIssuer } = environment;
    const child = runEntry('main.ts', withoutIssuer);
    const output = collect(child);
    expect(await exitOf(child)).toBe(78);
    expect(output.stderr()).toContain('JWT_ISSUER: is required');
    expect(output.stderr()).not.toContain('PRIVATE KEY');
  });

  it('main serves, reports SERVING, and exits 0 on SIGTERM after draining', async () => {
    const child = runEntry('main.ts', environment);
    const output = collect(child);
    try {
      const ready = JSON.parse(await waitForLine(output.stdout, /"user service ready"/)) as {
        port: number;
      };
      const health = createGrpcClient(HealthClient, {
        target: `127.0.0.1:${ready.port}`,
        retry: false,
      });
      try {
        const answer = await health.check({ service: 'user.v1.UserService' });
        expect(answer.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      } finally {
        health.close();
      }
      child.kill('SIGTERM');
      expect(await exitOf(child)).toBe(0);
      const log = output.stdout();
      // Health flips before the server stops accepting calls. Compared by the lines' own times,
      // not by where they sit in the captured output: one CI run (of many) saw the lines of this
      // shutdown out of order in stdout, which says nothing about the order of the events.
      const entries = log
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg?: string; healthStatus?: unknown; time?: string });
      const flipped = entries.find(
        (entry) => entry.msg === 'health: shutting down' && entry.healthStatus === 'NOT_SERVING',
      );
      const stopped = entries.find((entry) => entry.msg === 'grpc server: stopped');
      expect({ flipped: flipped !== undefined, stopped: stopped !== undefined, log }).toMatchObject(
        {
          flipped: true,
          stopped: true,
        },
      );
      expect(Date.parse(flipped!.time!)).toBeLessThanOrEqual(Date.parse(stopped!.time!));
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('worker runs the outbox relay and exits 0 on SIGTERM', async () => {
    const child = runEntry('worker.ts', environment);
    const output = collect(child);
    try {
      await waitForLine(output.stdout, /"outbox relay started"/);
      child.kill('SIGTERM');
      expect(await exitOf(child)).toBe(0);
      expect(output.stdout()).toContain('"shutting down"');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
