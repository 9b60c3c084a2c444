import { type CapturedLogs, type Logger } from '@strata/logger';
import { type Redis } from 'ioredis';
import { Cache, type CacheOptions, closeRedis, createRedisClient, waitUntilReady } from './index';
import {
  type FakeServer,
  type RedisProxy,
  closedPort,
  startRedisProxy,
  startSilentServer,
} from './testing/fake-redis-servers';
import {
  ClientPool,
  capturingLogger,
  delay,
  deleteKeys,
  uniquePrefix,
} from './testing/redis-test-kit';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const REDIS_PORT = Number(new URL(REDIS_URL).port || 6379);
const REDIS_HOST = new URL(REDIS_URL).hostname;
const UNAVAILABLE_MESSAGE = 'cache unavailable: serving without it';

async function timed<Result>(
  work: () => Promise<Result>,
): Promise<{ result: Result; elapsedMs: number }> {
  const started = performance.now();
  const result = await work();
  return { result, elapsedMs: performance.now() - started };
}

function warnings(logs: CapturedLogs, message: string): Array<Record<string, unknown>> {
  return logs.lines().filter((line) => line.level === 'warn' && line.msg === message);
}

describe('Cache fails open (production defaults: 50 ms timeouts, no offline queue)', () => {
  const pool = new ClientPool();
  const servers: FakeServer[] = [];
  let logger: Logger;
  let logs: CapturedLogs;
  let prefix: string;

  beforeEach(() => {
    ({ logger, logs } = capturingLogger());
    prefix = uniquePrefix();
  });

  afterEach(async () => {
    const admin = await pool.openReady({
      url: REDIS_URL,
      logger,
      name: 'test-admin',
      commandTimeoutMs: 2_000,
    });
    await deleteKeys(admin, prefix);
    await pool.closeAll();
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  function cacheOn<Value>(
    redis: Redis,
    overrides: Partial<CacheOptions<Value>> = {},
  ): Cache<Value> {
    return new Cache<Value>({
      redis,
      logger,
      prefix,
      namespace: 'profile',
      schemaVersion: 1,
      ttlSeconds: 60,
      ...overrides,
    });
  }

  async function proxied(): Promise<{ proxy: RedisProxy; redis: Redis }> {
    const proxy = await startRedisProxy(REDIS_PORT, REDIS_HOST);
    servers.push(proxy);
    const redis = await pool.openReady({
      url: `redis://127.0.0.1:${proxy.port}`,
      logger,
      maxReconnectDelayMs: 100,
    });
    return { proxy, redis };
  }

  describe('Redis pointed at a closed port', () => {
    it('getOrLoad returns the loader value within 100 ms and logs a warning', async () => {
      const redis = pool.open({ url: `redis://127.0.0.1:${await closedPort()}`, logger });
      const cache = cacheOn<{ id: string }>(redis);

      const { result, elapsedMs } = await timed(() =>
        cache.getOrLoad('42', () => Promise.resolve({ id: '42' })),
      );

      expect(result).toEqual({ id: '42' });
      expect(elapsedMs).toBeLessThan(100);
      const [warning] = warnings(logs, UNAVAILABLE_MESSAGE);
      expect(warning).toMatchObject({ operation: 'getOrLoad', cacheNamespace: 'profile' });
      expect(JSON.stringify(warning)).toContain('redis not ready');
    });

    it('still answers after the client has been failing for a while, and rate-limits warnings', async () => {
      const redis = pool.open({
        url: `redis://127.0.0.1:${await closedPort()}`,
        logger,
        maxReconnectDelayMs: 50,
      });
      const cache = cacheOn<string>(redis);
      await delay(300); // several failed reconnects

      for (let round = 0; round < 50; round += 1) {
        const { result, elapsedMs } = await timed(() =>
          cache.getOrLoad(`k${round}`, () => Promise.resolve('db')),
        );
        expect(result).toBe('db');
        expect(elapsedMs).toBeLessThan(100);
      }
      expect(warnings(logs, UNAVAILABLE_MESSAGE)).toHaveLength(1);
      // The client's own connection errors are handled and throttled too (no unhandled 'error').
      expect(warnings(logs, 'redis connection error').length).toBe(1);
    });

    it('never throws from the other operations', async () => {
      const redis = pool.open({ url: `redis://127.0.0.1:${await closedPort()}`, logger });
      const list = cacheOn<string>(redis, { namespace: 'list', namespaceVersioning: true });
      const cache = cacheOn<string>(redis);

      const { result: many, elapsedMs } = await timed(() =>
        cache.getMany(['a', 'b'], (missing) =>
          Promise.resolve(new Map(missing.map((key) => [key, `db-${key}`]))),
        ),
      );
      expect(elapsedMs).toBeLessThan(100);
      expect([...many.entries()]).toEqual([
        ['a', 'db-a'],
        ['b', 'db-b'],
      ]);
      expect(await cache.get('a')).toBeUndefined();
      expect(await cache.set('a', 'v')).toBe(false);
      expect(await cache.invalidate(['a', 'b'])).toBe(false);
      expect(await list.bumpNamespace()).toBe(false);
      expect(await list.getOrLoad('page:1', () => Promise.resolve('page'))).toBe('page');
      await cache.drain();
      expect(cache.pendingInvalidationCount()).toBe(2);
      expect(
        warnings(
          logs,
          'cache invalidation not delivered: will retry when redis is back; other processes may read stale entries until then or until TTL',
        ).length,
      ).toBeGreaterThan(0);
    });

    it('a loader error still reaches the caller', async () => {
      const redis = pool.open({ url: `redis://127.0.0.1:${await closedPort()}`, logger });
      const cache = cacheOn<string>(redis);
      await expect(
        cache.getOrLoad('x', () => Promise.reject(new Error('db failed'))),
      ).rejects.toThrow('db failed');
    });
  });

  describe('a Redis that accepts connections and never answers', () => {
    it('getOrLoad returns within 100 ms, right away and after the handshake timed out', async () => {
      const silent = await startSilentServer();
      servers.push(silent);
      const redis = pool.open({ url: `redis://127.0.0.1:${silent.port}`, logger });
      const cache = cacheOn<string>(redis);

      const first = await timed(() => cache.getOrLoad('a', () => Promise.resolve('db')));
      await delay(150);
      const later = await timed(() => cache.getOrLoad('b', () => Promise.resolve('db')));

      expect([first.result, later.result]).toEqual(['db', 'db']);
      expect(first.elapsedMs).toBeLessThan(100);
      expect(later.elapsedMs).toBeLessThan(100);
      expect(warnings(logs, UNAVAILABLE_MESSAGE).length).toBeGreaterThan(0);
    });
  });

  describe('a connected Redis that becomes slow', () => {
    it('times out at ~50 ms, then skips Redis (circuit open), then recovers', async () => {
      const { proxy, redis } = await proxied();
      const cache = cacheOn<string>(redis, {
        circuitBreaker: { failureThreshold: 3, cooldownMs: 300 },
      });
      await cache.getOrLoad('hot', () => Promise.resolve('cached'));
      await cache.drain();

      proxy.setMode('stall');
      const slow = await timed(() => cache.getOrLoad('hot', () => Promise.resolve('db')));
      expect(slow.result).toBe('db');
      expect(slow.elapsedMs).toBeGreaterThanOrEqual(45);
      expect(slow.elapsedMs).toBeLessThan(100);
      expect(warnings(logs, UNAVAILABLE_MESSAGE)[0]).toMatchObject({ operation: 'getOrLoad' });

      await cache.getOrLoad('hot', () => Promise.resolve('db'));
      await cache.getOrLoad('hot', () => Promise.resolve('db')); // third consecutive failure
      const skipped = await timed(() => cache.getOrLoad('hot', () => Promise.resolve('db')));
      expect(skipped.result).toBe('db');
      expect(skipped.elapsedMs).toBeLessThan(20); // circuit open: Redis not even asked

      proxy.setMode('forward'); // Redis catches up; held replies arrive in order
      await delay(350); // cooldown over
      expect(await cache.getOrLoad('hot', () => Promise.reject(new Error('should be a hit')))).toBe(
        'cached',
      );
    });

    it('getMany also answers within 100 ms from the loader', async () => {
      const { proxy, redis } = await proxied();
      const cache = cacheOn<string>(redis);
      proxy.setMode('stall');
      const { result, elapsedMs } = await timed(() =>
        cache.getMany(['a', 'b'], (missing) =>
          Promise.resolve(new Map(missing.map((key) => [key, key]))),
        ),
      );
      expect(result.size).toBe(2);
      expect(elapsedMs).toBeLessThan(100);
      proxy.setMode('forward');
    });
  });

  describe('invalidations that fail while Redis is down', () => {
    it('are delivered when Redis is back, so the old entry is not served afterwards', async () => {
      const { proxy, redis } = await proxied();
      const cache = cacheOn<string>(redis);
      await cache.getOrLoad('user:1', () => Promise.resolve('old name'));
      await cache.drain();

      proxy.setMode('down');
      // The write commits in the database; its invalidation cannot reach Redis.
      expect(await cache.invalidate('user:1')).toBe(false);
      expect(cache.pendingInvalidationCount()).toBe(1);
      // Meanwhile reads are served from the database.
      expect(await cache.getOrLoad('user:1', () => Promise.resolve('new name'))).toBe('new name');

      proxy.setMode('forward');
      expect(await waitUntilReady(redis, 3_000)).toBe(true);
      await cache.drain(); // the replay runs on reconnect
      expect(cache.pendingInvalidationCount()).toBe(0);
      expect(await cache.getOrLoad('user:1', () => Promise.resolve('new name'))).toBe('new name');
      expect(
        logs
          .lines()
          .some(
            (line) =>
              line.msg === 'delivered cache invalidations that failed while redis was unavailable',
          ),
      ).toBe(true);
    });

    it('a pending bump is delivered before the next list read', async () => {
      const { proxy, redis } = await proxied();
      const list = cacheOn<string>(redis, { namespace: 'list', namespaceVersioning: true });
      await list.getOrLoad('page:1', () => Promise.resolve('old page'));
      await list.drain();

      proxy.setMode('down');
      expect(await list.bumpNamespace()).toBe(false);
      proxy.setMode('forward');
      expect(await waitUntilReady(redis, 3_000)).toBe(true);
      // Whether or not the reconnect replay ran yet, the read replays first.
      expect(await list.getOrLoad('page:1', () => Promise.resolve('new page'))).toBe('new page');
      await list.drain();
    });
  });

  describe('createRedisClient / closeRedis', () => {
    it('a lazy client connects on first use (that call bypasses) and works once ready', async () => {
      const redis = pool.open({ url: REDIS_URL, logger, lazyConnect: true });
      const cache = cacheOn<string>(redis);
      expect(redis.status).toBe('wait');
      const { elapsedMs } = await timed(() => cache.getOrLoad('lazy', () => Promise.resolve('db')));
      expect(elapsedMs).toBeLessThan(100);
      expect(await waitUntilReady(redis, 2_000)).toBe(true);
      await cache.getOrLoad('lazy', () => Promise.resolve('db'));
      await cache.drain();
      expect(await cache.get('lazy')).toBe('db');
    });

    it('closeRedis ends a healthy client, a reconnecting one and a never-connected lazy one quickly', async () => {
      const healthy = createRedisClient({ url: REDIS_URL, logger });
      const failing = createRedisClient({ url: `redis://127.0.0.1:${await closedPort()}`, logger });
      const lazy = createRedisClient({ url: REDIS_URL, logger, lazyConnect: true });
      expect(await waitUntilReady(healthy, 2_000)).toBe(true);
      await delay(50);

      const { elapsedMs } = await timed(() =>
        Promise.all([closeRedis(healthy), closeRedis(failing), closeRedis(lazy)]),
      );

      expect(elapsedMs).toBeLessThan(1_100);
      expect(healthy.status).toBe('end');
      expect(lazy.status).toBe('end');
      await closeRedis(healthy); // idempotent
    });

    it('waitUntilReady resolves false instead of throwing when Redis is unreachable', async () => {
      const redis = pool.open({ url: `redis://127.0.0.1:${await closedPort()}`, logger });
      const { result, elapsedMs } = await timed(() => waitUntilReady(redis, 200));
      expect(result).toBe(false);
      expect(elapsedMs).toBeLessThan(400);
    });
  });
  describe('a process whose event loop is late (busy, or starved of CPU), with a fast Redis', () => {
    // Blocks this thread for longer than the 50 ms deadline right after a command went out, as
    // a burst of requests or a loaded machine does: Redis answers within a millisecond, but the
    // timers phase comes before the poll phase that would read the reply.
    async function busyAfterSending<Result>(work: () => Promise<Result>): Promise<Result> {
      const pending = work();
      for (let turn = 0; turn < 20; turn += 1) await Promise.resolve(); // the command is sent
      const until = performance.now() + 120;
      while (performance.now() < until) {
        // busy: no I/O, no timers
      }
      return pending;
    }

    it('serves hits from Redis instead of failing open and opening the circuit', async () => {
      const redis = await pool.openReady({ url: REDIS_URL, logger });
      const cache = cacheOn<string>(redis);
      await cache.set('k', 'cached');
      let loads = 0;
      for (let round = 0; round < 6; round += 1) {
        const value = await busyAfterSending(() =>
          cache.getOrLoad('k', () => {
            loads += 1;
            return Promise.resolve('db');
          }),
        );
        expect(value).toBe('cached');
      }
      expect(loads).toBe(0);
      expect(warnings(logs, UNAVAILABLE_MESSAGE)).toHaveLength(0);
    });

    it('does not time out a plain client command whose reply has arrived', async () => {
      const redis = await pool.openReady({ url: REDIS_URL, logger });
      await redis.set(`${prefix}:plain`, 'v', 'PX', 10_000);
      await expect(busyAfterSending(() => redis.get(`${prefix}:plain`))).resolves.toBe('v');
    });
  });
});
