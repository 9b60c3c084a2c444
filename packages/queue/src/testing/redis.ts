// Test helpers (not exported, not built): the shared Redis, unique prefixes, and a private
// redis-server that a test may kill and restart without disturbing other suites.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { type QueueConnectionOptions } from '../connection-options';

/** The shared test Redis (TEST_REDIS_URL in CI, else the local one). */
export function testRedisConnection(): QueueConnectionOptions {
  const url = process.env['TEST_REDIS_URL'];
  return url ? { url } : { host: '127.0.0.1', port: 6379 };
}

export function uniquePrefix(): string {
  return `strata-queue-test-${randomUUID().slice(0, 8)}`;
}

/** Deletes every key under `prefix` so the shared Redis does not accumulate test data. */
export async function deletePrefix(
  prefix: string,
  connection = testRedisConnection(),
): Promise<void> {
  const { url, ...rest } = connection;
  const redis = url
    ? new Redis(url, { ...rest, retryStrategy: undefined })
    : new Redis({ ...rest, retryStrategy: undefined });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server of the test's own, on a free port, without persistence. */
export class PrivateRedis {
  private process: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.restart();
    return redis;
  }

  get connection(): QueueConnectionOptions {
    return { host: '127.0.0.1', port: this.port };
  }

  async restart(): Promise<void> {
    await this.stop();
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    this.process = child;
    await waitFor(
      async () => {
        const probe = new Redis({
          port: this.port,
          lazyConnect: true,
          retryStrategy: () => null,
          disconnectTimeout: 50,
        });
        probe.on('error', () => undefined);
        try {
          await probe.connect();
          return (await probe.ping()) === 'PONG';
        } catch {
          return false;
        } finally {
          probe.disconnect();
        }
      },
      10_000,
      50,
    );
  }

  /** Kills the server (SIGKILL: like a crash, no clean connection close). */
  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}
