import { randomUUID } from 'node:crypto';
import { type CapturedLogs, type Logger, captureLogs, createLogger } from '@strata/logger';
import { type Redis } from 'ioredis';
import {
  closeRedis,
  createRedisClient,
  waitUntilReady,
  type RedisClientOptions,
} from '../redis-client';

/** A key prefix no other test (or parallel suite) uses. */
export function uniquePrefix(): string {
  return `test:cache:${randomUUID()}`;
}

export function capturingLogger(): { logger: Logger; logs: CapturedLogs } {
  const logs = captureLogs();
  return {
    logger: createLogger({ name: 'cache-test', destination: logs.stream, level: 'debug' }),
    logs,
  };
}

/** Opens clients for one test and closes them all afterwards. */
export class ClientPool {
  private readonly clients: Redis[] = [];

  open(options: RedisClientOptions): Redis {
    const client = createRedisClient(options);
    this.clients.push(client);
    return client;
  }

  async openReady(options: RedisClientOptions): Promise<Redis> {
    const client = this.open(options);
    if (!(await waitUntilReady(client, 15_000)))
      throw new Error(`redis at ${options.url} not ready`);
    return client;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((client) => closeRedis(client)));
  }
}

/** Deletes every key under `prefix` (SCAN, fine for a test's handful of keys). */
export async function deleteKeys(admin: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await admin.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
