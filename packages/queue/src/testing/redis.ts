// Test helpers (not exported, not built): the shared Redis and unique prefixes. A redis-server a
// test may kill and restart is `PrivateRedis` from @strata/testing.
import { randomUUID } from 'node:crypto';
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
