import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { resolveTestServer } from './test-servers';

const SCAN_BATCH = 500;
const CONNECT_TIMEOUT_MS = 5_000;

/** A Redis namespace of its own for one suite. */
export interface TestRedis {
  /** URL of the test Redis server (shared by all suites: stay under `prefix`). */
  readonly url: string;
  /** Key prefix unique to this suite, ending in `:` (e.g. `test:3f9a1c2b:`); use it as ioredis `keyPrefix` or a cache namespace. */
  readonly prefix: string;
  /** The same prefix without the trailing `:`, for BullMQ's `prefix` option (BullMQ adds the `:`). */
  readonly queuePrefix: string;
  /** Deletes every key under `prefix` (SCAN + UNLINK) and resolves to how many were deleted. */
  cleanup(): Promise<number>;
}

export interface CreateTestRedisOptions {
  /** Label inserted into the prefix for readability (`test:<label>:<random>:`). */
  readonly name?: string;
  /** Redis URL; defaults to resolveTestServer('redis'). */
  readonly url?: string;
}

/** Escapes the glob characters SCAN MATCH understands, so a prefix is matched literally. */
export function escapeRedisGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (character) => `\\${character}`);
}

function connect(url: string): Redis {
  // A short-lived client of the kit's own: fail fast (no retries, no offline queue) so that a
  // wrong URL shows up as an error in the suite instead of a hang until Jest's timeout.
  return new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
}

async function withClient<T>(url: string, work: (client: Redis) => Promise<T>): Promise<T> {
  const client = connect(url);
  // ioredis reports connection failures as 'error' events as well as rejections; without a
  // listener it would print them as unhandled.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    // With retryStrategy null a failed connect already ended the client; disconnect() on it would
    // arm ioredis' 2 s "stream still open" timer against a closed socket and delay Jest's exit.
    if (client.status !== 'end') client.disconnect();
    throw new Error(
      `@strata/testing could not connect to Redis at ${url}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  try {
    return await work(client);
  } finally {
    await client.quit().catch(() => client.disconnect());
  }
}

async function deleteKeysUnder(client: Redis, prefix: string): Promise<number> {
  const pattern = `${escapeRedisGlob(prefix)}*`;
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_BATCH);
    cursor = next;
    if (keys.length > 0) deleted += await client.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/**
 * Gives a suite a unique key prefix on the test Redis server (checked with a PING) and a cleanup
 * that deletes only the keys under it, so suites can share one server and run in parallel.
 */
export async function createTestRedis(options: CreateTestRedisOptions = {}): Promise<TestRedis> {
  const url = options.url ?? (await resolveTestServer('redis')).url;
  await withClient(url, (client) => client.ping());
  const label =
    options.name === undefined ? '' : `${options.name.toLowerCase().replace(/[^a-z0-9-]+/g, '-')}:`;
  const queuePrefix = `test:${label}${randomBytes(6).toString('hex')}`;
  const prefix = `${queuePrefix}:`;
  return {
    url,
    prefix,
    queuePrefix,
    cleanup: () => withClient(url, (client) => deleteKeysUnder(client, prefix)),
  };
}
