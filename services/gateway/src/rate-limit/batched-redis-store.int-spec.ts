import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { deleteKeys, TEST_REDIS_URL, uniquePrefix } from '../testing/gateway-harness';
import { batchedRedisStore, incrementCounters } from './batched-redis-store';

describe('batchedRedisStore (real Redis)', () => {
  let redis: Redis;
  const prefix = `${uniquePrefix()}:rate-limit:`;

  beforeAll(async () => {
    redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
  });
  afterAll(async () => {
    await deleteKeys(prefix);
    redis.disconnect();
  });

  async function limitedApp(max: number, keyPrefix: string): Promise<FastifyInstance> {
    const app = Fastify();
    await app.register(rateLimit, {
      global: true,
      max,
      timeWindow: 60_000,
      store: batchedRedisStore({ redis, keyPrefix }),
      keyGenerator: (request) => String(request.headers['x-client'] ?? 'anonymous'),
    });
    app.get('/general', () => ({ ok: true }));
    app.get('/own-limit', { config: { rateLimit: { max: 2, timeWindow: 60_000 } } }, () => ({
      ok: true,
    }));
    return app;
  }

  it('stays exact under concurrency: of 40 simultaneous requests with a limit of 10, exactly 10 pass, each with its own remaining count', async () => {
    const keyPrefix = `${prefix}exact:`;
    const app = await limitedApp(10, keyPrefix);
    const scripts = jest.spyOn(redis, 'eval');
    try {
      const responses = await Promise.all(
        Array.from({ length: 40 }, () =>
          app.inject({ method: 'GET', url: '/general', headers: { 'x-client': 'one' } }),
        ),
      );
      const passed = responses.filter((response) => response.statusCode === 200);
      expect(passed).toHaveLength(10);
      expect(responses.filter((response) => response.statusCode === 429)).toHaveLength(30);
      const remaining = passed.map((response) => Number(response.headers['x-ratelimit-remaining']));
      expect(remaining.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      // Batched: the requests shared script calls (increments made in one tick, or while a
      // batch was in flight, go together).
      expect(scripts.mock.calls.length).toBeLessThan(40);
      expect(await redis.get(`${keyPrefix}one`)).toBe('40');
    } finally {
      scripts.mockRestore();
      await app.close();
    }
  });

  it('counts a route with limits of its own apart, under the plugin RedisStore key for that route', async () => {
    const keyPrefix = `${prefix}child:`;
    const app = await limitedApp(100, keyPrefix);
    try {
      const statuses = [];
      for (let attempt = 0; attempt < 3; attempt += 1) {
        statuses.push(
          (await app.inject({ method: 'GET', url: '/own-limit', headers: { 'x-client': 'two' } }))
            .statusCode,
        );
      }
      expect(statuses).toEqual([200, 200, 429]);
      // RedisStore's child key: `${nameSpace}${method}${url}-${key}`; the general counter is untouched.
      expect(await redis.get(`${keyPrefix}GET/own-limit-two`)).toBe('3');
      expect(await redis.get(`${keyPrefix}two`)).toBeNull();
    } finally {
      await app.close();
    }
  });

  it('hands out consecutive counts per key within one batch and starts a window on a new counter', async () => {
    const increment = incrementCounters(redis);
    const states = await increment([
      { key: `${prefix}batch:a`, windowMs: 5_000 },
      { key: `${prefix}batch:b`, windowMs: 5_000 },
      { key: `${prefix}batch:a`, windowMs: 5_000 },
      { key: `${prefix}batch:a`, windowMs: 5_000 },
    ]);
    expect(states.map((state) => state.current)).toEqual([1, 1, 2, 3]);
    expect(states.map((state) => state.ttl)).toEqual([5_000, 5_000, 5_000, 5_000]);
    const [again] = await increment([{ key: `${prefix}batch:a`, windowMs: 5_000 }]);
    expect(again?.current).toBe(4);
    expect(again?.ttl).toBeGreaterThan(0);
    expect(again?.ttl).toBeLessThanOrEqual(5_000);
  });

  it('gives an expired window a fresh start, and a counter without expiry one', async () => {
    const increment = incrementCounters(redis);
    const key = `${prefix}expiry:a`;
    await increment([{ key, windowMs: 100 }]);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect((await increment([{ key, windowMs: 100 }]))[0]?.current).toBe(1);
    const stuck = `${prefix}expiry:stuck`;
    await redis.set(stuck, '7');
    const [state] = await increment([{ key: stuck, windowMs: 1_000 }]);
    expect(state).toEqual({ current: 8, ttl: 1_000 });
    expect(await redis.pttl(stuck)).toBeGreaterThan(0);
  });

  it('reports a Redis failure to every caller of the batch (the plugin then skips the limit)', async () => {
    const offline = new Redis(TEST_REDIS_URL, { lazyConnect: true, enableOfflineQueue: false });
    const Store = batchedRedisStore({ redis: offline, keyPrefix: `${prefix}offline:` });
    const store = new Store({});
    const results = await Promise.all(
      [1, 2, 3].map(
        () =>
          new Promise<Error | null>((resolve) => {
            store.incr('client', (error) => resolve(error), 60_000, 10);
          }),
      ),
    );
    for (const error of results) expect(error).toBeInstanceOf(Error);
    offline.disconnect();
  });
});
