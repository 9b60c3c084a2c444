import { type Logger } from '@strata/logger';
import { type Redis } from 'ioredis';
import { Cache, type CacheMetric, type CacheOptions } from './index';
import {
  ClientPool,
  capturingLogger,
  delay,
  deleteKeys,
  uniquePrefix,
} from './testing/redis-test-kit';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
// Correctness tests use a generous timeout: under a loaded CI machine a 50 ms timeout would turn
// a slow EVAL into a (correct) fail-open bypass and make loader counts flaky. Timeouts have their
// own suite (cache-fail-open.int-spec.ts) with the production defaults.
const GENEROUS_TIMEOUT_MS = 2_000;

interface Profile {
  id: string;
  name: string;
}

describe('Cache against a real Redis', () => {
  const pool = new ClientPool();
  let logger: Logger;
  let admin: Redis;
  let prefix: string;

  beforeEach(async () => {
    ({ logger } = capturingLogger());
    prefix = uniquePrefix();
    admin = await pool.openReady({
      url: REDIS_URL,
      logger,
      name: 'test-admin',
      commandTimeoutMs: GENEROUS_TIMEOUT_MS,
    });
  });

  afterEach(async () => {
    await deleteKeys(admin, prefix);
    await pool.closeAll();
  });

  async function processClient(name = 'test-cache'): Promise<Redis> {
    return pool.openReady({ url: REDIS_URL, logger, name, commandTimeoutMs: GENEROUS_TIMEOUT_MS });
  }

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
      timeoutMs: GENEROUS_TIMEOUT_MS,
      ...overrides,
    });
  }

  describe('getOrLoad single-flight', () => {
    it('calls the loader once for 200 concurrent reads of a missing key in one process', async () => {
      const redis = await processClient();
      const cache = cacheOn<Profile>(redis);
      const sent = jest.spyOn(redis, 'sendCommand');
      let calls = 0;
      const loader = async (): Promise<Profile> => {
        calls += 1;
        await delay(30);
        return { id: '42', name: 'Ada' };
      };

      const results = await Promise.all(
        Array.from({ length: 200 }, () => cache.getOrLoad('42', loader)),
      );

      expect(calls).toBe(1);
      // The 199 others shared the first caller's promise: one read reached Redis, not 200 polls.
      expect(sent.mock.calls.length).toBeLessThanOrEqual(2); // the read, maybe the fill already
      sent.mockRestore();
      expect(new Set(results.map((result) => JSON.stringify(result)))).toEqual(
        new Set([JSON.stringify({ id: '42', name: 'Ada' })]),
      );
      await cache.drain();
      // ...and the value landed in Redis for the next process.
      expect(await cache.get('42')).toEqual({ id: '42', name: 'Ada' });
    });

    it('calls the loader once for 200 concurrent reads split over two processes (two clients)', async () => {
      const processA = cacheOn<Profile>(await processClient('process-a'));
      const processB = cacheOn<Profile>(await processClient('process-b'));
      let calls = 0;
      const loader = async (): Promise<Profile> => {
        calls += 1;
        await delay(50);
        return { id: '7', name: 'Grace' };
      };

      const results = await Promise.all(
        Array.from({ length: 200 }, (_unused, index) =>
          (index % 2 === 0 ? processA : processB).getOrLoad('7', loader),
        ),
      );

      expect(calls).toBe(1);
      expect(results.every((result) => result.name === 'Grace')).toBe(true);
      await Promise.all([processA.drain(), processB.drain()]);
    });

    it('does not let a slow lease holder delay other processes beyond lease.waitMs', async () => {
      const holder = cacheOn<string>(await processClient('holder'));
      const waiter = cacheOn<string>(await processClient('waiter'), {
        lease: { waitMs: 100, pollIntervalMs: 10 },
      });

      const slow = holder.getOrLoad('hot', async () => {
        await delay(600);
        return 'from-holder';
      });
      await delay(20); // let the holder take the lease
      const started = performance.now();
      const value = await waiter.getOrLoad('hot', () => Promise.resolve('from-waiter'));
      const elapsed = performance.now() - started;

      expect(value).toBe('from-waiter');
      expect(elapsed).toBeGreaterThanOrEqual(95);
      expect(elapsed).toBeLessThan(400);
      // The waiter did not hold the lease, so it did not fill: the holder's value is what lands.
      await waiter.drain();
      expect(await waiter.get('hot')).toBeUndefined();
      expect(await slow).toBe('from-holder');
      await holder.drain();
      expect(await waiter.get('hot')).toBe('from-holder');
    });

    it('takes over the lease of a crashed holder once it expires, and fills', async () => {
      const cache = cacheOn<string>(await processClient(), {
        lease: { waitMs: 2_000, pollIntervalMs: 10 },
      });
      // A holder that took the lease and died.
      await admin.set(`${prefix}:profile#lease:v1:orphan`, 'dead-token', 'PX', 150);
      let calls = 0;

      const started = performance.now();
      const value = await cache.getOrLoad('orphan', () => {
        calls += 1;
        return Promise.resolve('reloaded');
      });

      expect(value).toBe('reloaded');
      expect(calls).toBe(1);
      expect(performance.now() - started).toBeGreaterThanOrEqual(100);
      await cache.drain();
      expect(await admin.get(`${prefix}:profile:v1:orphan`)).toBe('="reloaded"');
    });

    it('shares a loader failure with the concurrent callers and caches nothing', async () => {
      const cache = cacheOn<string>(await processClient());
      let calls = 0;
      const failing = async (): Promise<string> => {
        calls += 1;
        await delay(10);
        throw new Error('database down');
      };
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, () => cache.getOrLoad('k', failing)),
      );
      expect(calls).toBe(1);
      expect(results.every((result) => result.status === 'rejected')).toBe(true);
      await cache.drain();
      // The lease was released: the next reader loads at once instead of waiting it out.
      expect(await admin.exists(`${prefix}:profile#lease:v1:k`)).toBe(0);
      expect(await cache.getOrLoad('k', () => Promise.resolve('ok'))).toBe('ok');
    });
  });

  describe('invalidation', () => {
    it('after invalidate returns, the next read sees the new value', async () => {
      const cache = cacheOn<Profile>(await processClient());
      let database: Profile = { id: '1', name: 'old' };
      const loader = () => Promise.resolve({ ...database });

      expect(await cache.getOrLoad('1', loader)).toEqual({ id: '1', name: 'old' });
      await cache.drain();
      expect(
        await cache.getOrLoad('1', () => Promise.reject(new Error('should be a hit'))),
      ).toEqual({
        id: '1',
        name: 'old',
      });

      database = { id: '1', name: 'new' };
      expect(await cache.invalidate('1')).toBe(true);
      expect(await cache.getOrLoad('1', loader)).toEqual({ id: '1', name: 'new' });
    });

    it('an invalidation in one process is seen by the next read in another', async () => {
      const writer = cacheOn<string>(await processClient('writer'));
      const reader = cacheOn<string>(await processClient('reader'));
      await reader.getOrLoad('x', () => Promise.resolve('v1'));
      await reader.drain();
      expect(await writer.invalidate(['x'])).toBe(true);
      expect(await reader.getOrLoad('x', () => Promise.resolve('v2'))).toBe('v2');
    });

    it('a load that read the database before a write cannot put its stale value back afterwards', async () => {
      const reader = cacheOn<string>(await processClient('reader'));
      const writer = cacheOn<string>(await processClient('writer'));
      let releaseLoad: () => void = () => undefined;
      const loadRead = new Promise<void>((resolve) => {
        releaseLoad = resolve;
      });

      const staleRead = reader.getOrLoad('p', async () => {
        const snapshot = 'before-write'; // read from the database before the write commits
        await loadRead;
        return snapshot;
      });
      await delay(20); // the reader holds the lease and is "querying"
      expect(await writer.invalidate('p')).toBe(true); // the write commits, then invalidates
      releaseLoad();
      expect(await staleRead).toBe('before-write'); // that caller began before the write
      await reader.drain();

      expect(await admin.exists(`${prefix}:profile:v1:p`)).toBe(0);
      expect(await writer.getOrLoad('p', () => Promise.resolve('after-write'))).toBe('after-write');
    });

    it('callers arriving after invalidate do not join a load that started before it', async () => {
      const cache = cacheOn<string>(await processClient());
      const first = cache.getOrLoad('q', async () => {
        await delay(100);
        return 'old';
      });
      await delay(10);
      await cache.invalidate('q');
      const second = await cache.getOrLoad('q', () => Promise.resolve('new'));
      expect(second).toBe('new');
      expect(await first).toBe('old');
      await cache.drain();
      expect(await cache.get('q')).toBe('new');
    });

    it('set writes through and beats a load already in flight', async () => {
      const cache = cacheOn<string>(await processClient());
      const inFlight = cache.getOrLoad('w', async () => {
        await delay(80);
        return 'old';
      });
      await delay(10);
      expect(await cache.set('w', 'written')).toBe(true);
      await inFlight;
      await cache.drain();
      expect(await cache.get('w')).toBe('written');
    });
  });

  describe('keys and TTL', () => {
    it('writes <prefix>:<namespace>:v<schemaVersion>:<key>; another schema version does not see it', async () => {
      const redis = await processClient();
      const v1 = cacheOn<Profile>(redis, { schemaVersion: 1 });
      const v2 = cacheOn<Profile>(redis, { schemaVersion: 2 });
      await v1.set('42', { id: '42', name: 'Ada' });

      expect(await admin.get(`${prefix}:profile:v1:42`)).toBe('={"id":"42","name":"Ada"}');
      expect(await v2.get('42')).toBeUndefined();
      expect(await v2.getOrLoad('42', () => Promise.resolve({ id: '42', name: 'Ada v2' }))).toEqual(
        {
          id: '42',
          name: 'Ada v2',
        },
      );
      expect(await v1.get('42')).toEqual({ id: '42', name: 'Ada' });
      await v2.drain();
    });

    it('jitters TTLs within ±10 %', async () => {
      const cache = cacheOn<number>(await processClient(), { ttlSeconds: 100 });
      const keys = Array.from({ length: 60 }, (_unused, index) => `t${index}`);
      await Promise.all(keys.slice(0, 30).map((key, index) => cache.set(key, index)));
      await Promise.all(
        keys.slice(30).map((key, index) => cache.getOrLoad(key, () => Promise.resolve(index))),
      );
      await cache.drain();

      const ttls = await Promise.all(keys.map((key) => admin.pttl(`${prefix}:profile:v1:${key}`)));
      for (const ttl of ttls) {
        expect(ttl).toBeGreaterThan(89_000); // a little slack for the time the test took
        expect(ttl).toBeLessThanOrEqual(110_000);
      }
      expect(new Set(ttls.map((ttl) => Math.round(ttl / 1000))).size).toBeGreaterThan(5);
    });

    it('caches "not found" only with negativeTtlSeconds, for that long', async () => {
      const redis = await processClient();
      const negative = cacheOn<Profile | null>(redis, {
        namespace: 'negative',
        negativeTtlSeconds: 5,
      });
      const plain = cacheOn<Profile | null>(redis, { namespace: 'plain' });
      let calls = 0;
      const notFound = (): Promise<Profile | null> => {
        calls += 1;
        return Promise.resolve(null);
      };

      expect(await negative.getOrLoad('ghost', notFound)).toBeNull();
      await negative.drain();
      expect(await negative.getOrLoad('ghost', notFound)).toBeNull();
      expect(calls).toBe(1);
      const ttl = await admin.pttl(`${prefix}:negative:v1:ghost`);
      expect(ttl).toBeGreaterThan(4_000);
      expect(ttl).toBeLessThanOrEqual(5_500);

      calls = 0;
      await plain.getOrLoad('ghost', notFound);
      await plain.drain();
      await plain.getOrLoad('ghost', notFound);
      expect(calls).toBe(2);
      expect(await admin.exists(`${prefix}:plain:v1:ghost`)).toBe(0);
    });

    it('drops a corrupt entry and serves the loader', async () => {
      const cache = cacheOn<Profile>(await processClient());
      await admin.set(`${prefix}:profile:v1:bad`, 'not written by the cache', 'EX', 60);
      expect(
        await cache.getOrLoad('bad', () => Promise.resolve({ id: 'bad', name: 'fresh' })),
      ).toEqual({
        id: 'bad',
        name: 'fresh',
      });
      await cache.drain();
      expect(await admin.exists(`${prefix}:profile:v1:bad`)).toBe(0);
    });
  });

  describe('namespace versions (list caches)', () => {
    it('a bump makes every cached page unreachable at once, in every process', async () => {
      const processA = cacheOn<string[]>(await processClient('a'), {
        namespace: 'article-list',
        namespaceVersioning: true,
      });
      const processB = cacheOn<string[]>(await processClient('b'), {
        namespace: 'article-list',
        namespaceVersioning: true,
      });
      let articles = ['first'];
      let queries = 0;
      const listPage = (page: number) => () => {
        queries += 1;
        return Promise.resolve(articles.map((title) => `${title}@${page}`));
      };

      await processA.getOrLoad('page:1', listPage(1));
      await processA.getOrLoad('page:2', listPage(2));
      await processA.drain();
      expect(await processB.getOrLoad('page:1', listPage(1))).toEqual(['first@1']);
      expect(queries).toBe(2);
      const generation = await admin.get(`${prefix}:article-list#generation`);
      expect(await admin.exists(`${prefix}:article-list:v1:g${generation}:page:1`)).toBe(1);

      articles = ['second', 'first'];
      expect(await processB.bumpNamespace()).toBe(true); // the write happened in process B

      expect(await processA.getOrLoad('page:1', listPage(1))).toEqual(['second@1', 'first@1']);
      expect(await processA.getOrLoad('page:2', listPage(2))).toEqual(['second@2', 'first@2']);
      expect(queries).toBe(4);
      expect(Number(await admin.get(`${prefix}:article-list#generation`))).toBe(
        Number(generation) + 1,
      );
      await processA.drain();
    });

    it('a page loaded before a bump is filled under the old generation, where nobody reads', async () => {
      const cache = cacheOn<string>(await processClient(), {
        namespace: 'list',
        namespaceVersioning: true,
      });
      const before = cache.getOrLoad('page:1', async () => {
        await delay(60);
        return 'stale page';
      });
      await delay(10);
      await cache.bumpNamespace();
      // A caller after the bump does not join the load that started before it...
      expect(await cache.getOrLoad('page:1', () => Promise.resolve('fresh page'))).toBe(
        'fresh page',
      );
      expect(await before).toBe('stale page');
      await cache.drain();
      // ...and the old load's fill went to the old generation.
      expect(await cache.getOrLoad('page:1', () => Promise.resolve('reloaded page'))).toBe(
        'fresh page',
      );
    });

    it('starts a lost generation key from the clock, above every earlier generation', async () => {
      const cache = cacheOn<string>(await processClient(), {
        namespace: 'list',
        namespaceVersioning: true,
      });
      const before = Date.now();
      await cache.set('page:1', 'v');
      const generation = Number(await admin.get(`${prefix}:list#generation`));
      expect(generation).toBeGreaterThanOrEqual(before);
      expect(generation).toBeLessThanOrEqual(Date.now());
    });

    it('reads the generation and the entry in one round trip (a page-cache hit is one EVAL)', async () => {
      const redis = await processClient();
      const cache = cacheOn<string>(redis, { namespace: 'list', namespaceVersioning: true });
      await cache.getOrLoad('page:1', () => Promise.resolve('page one'));
      await cache.drain();
      const commands: string[] = [];
      const sendCommand = redis.sendCommand.bind(redis);
      jest.spyOn(redis, 'sendCommand').mockImplementation((command, stream) => {
        commands.push(command.name);
        return sendCommand(command, stream);
      });

      expect(await cache.getOrLoad('page:1', () => Promise.resolve('loaded again'))).toBe(
        'page one',
      );
      expect(commands).toEqual(['eval']);

      // A miss after a bump: the same single read (which takes the lease), then the fill.
      await cache.bumpNamespace();
      commands.length = 0;
      expect(await cache.getOrLoad('page:1', () => Promise.resolve('page one, new'))).toBe(
        'page one, new',
      );
      await cache.drain();
      expect(commands).toEqual(['eval', 'eval']);
      const generation = await admin.get(`${prefix}:list#generation`);
      expect(await admin.get(`${prefix}:list#lease:v1:g${generation}:page:1`)).toBeNull();
      expect(await cache.get('page:1')).toBe('page one, new');
    });

    it('refuses bumpNamespace on a cache without namespace versioning', async () => {
      const cache = cacheOn<string>(await processClient());
      await expect(cache.bumpNamespace()).rejects.toThrow(TypeError);
    });
  });

  describe('getMany', () => {
    it('uses one Redis round trip for the cached part and one loader call for the rest', async () => {
      const redis = await processClient();
      const cache = cacheOn<Profile>(redis);
      const ids = Array.from({ length: 100 }, (_unused, index) => `u${index}`);
      const cached = ids.filter((_id, index) => index % 5 < 2); // 40 warm
      await Promise.all(cached.map((id) => cache.set(id, { id, name: `cached ${id}` })));

      const commands: string[] = [];
      const sendCommand = redis.sendCommand.bind(redis);
      jest.spyOn(redis, 'sendCommand').mockImplementation((command, stream) => {
        commands.push(command.name);
        return sendCommand(command, stream);
      });
      const loaderCalls: string[][] = [];
      let commandsBeforeLoader = -1;
      const loadMissing = (missing: string[]) => {
        commandsBeforeLoader = commands.length;
        loaderCalls.push(missing);
        return Promise.resolve(new Map(missing.map((id) => [id, { id, name: `loaded ${id}` }])));
      };

      const result = await cache.getMany(ids, loadMissing);

      expect(commandsBeforeLoader).toBe(1); // the whole read: one EVAL
      expect(loaderCalls).toEqual([ids.filter((id) => !cached.includes(id))]);
      expect([...result.keys()]).toEqual(ids);
      expect(result.get('u0')).toEqual({ id: 'u0', name: 'cached u0' });
      expect(result.get('u2')).toEqual({ id: 'u2', name: 'loaded u2' });
      await cache.drain();
      expect(commands).toEqual(['eval', 'eval']); // read, then one background fill of the 60

      commands.length = 0;
      const warm = await cache.getMany(ids, () =>
        Promise.reject(new Error('everything should be cached')),
      );
      expect(warm.size).toBe(100);
      expect(commands).toEqual(['eval']);
    });

    it('leaves unknown ids out, caches them as not-found when asked, and dedupes keys', async () => {
      const cache = cacheOn<Profile>(await processClient(), { negativeTtlSeconds: 30 });
      const requested: string[][] = [];
      const loadMissing = (missing: string[]) => {
        requested.push(missing);
        return Promise.resolve(new Map([['known', { id: 'known', name: 'K' }]]));
      };

      const first = await cache.getMany(['known', 'unknown', 'known'], loadMissing);
      await cache.drain();
      const second = await cache.getMany(['known', 'unknown'], loadMissing);

      expect([...first.keys()]).toEqual(['known']);
      expect([...second.keys()]).toEqual(['known']);
      expect(requested).toEqual([['known', 'unknown']]);
    });

    it('returns an empty map without touching Redis or the loader for no keys', async () => {
      const cache = cacheOn<Profile>(await processClient());
      const result = await cache.getMany([], () => Promise.reject(new Error('not called')));
      expect(result.size).toBe(0);
    });
  });

  it('reports hits, misses and bypasses through onMetric', async () => {
    const metrics: CacheMetric[] = [];
    const cache = cacheOn<string>(await processClient(), {
      onMetric: (metric) => metrics.push(metric),
    });
    await cache.getOrLoad('m', () => Promise.resolve('v'));
    await cache.drain();
    await cache.getOrLoad('m', () => Promise.resolve('v'));
    await cache.getMany(['m', 'n'], (missing) =>
      Promise.resolve(new Map(missing.map((key) => [key, key]))),
    );
    await cache.drain();
    const totals = metrics.reduce<Record<string, number>>((sum, metric) => {
      sum[metric.event] = (sum[metric.event] ?? 0) + metric.count;
      return sum;
    }, {});
    expect(totals).toEqual({ miss: 2, hit: 2 });
    expect(metrics.every((metric) => metric.namespace === 'profile')).toBe(true);
  });
});
