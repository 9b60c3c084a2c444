import { Redis } from 'ioredis';
import { createTestRedis, escapeRedisGlob } from './test-redis';
import { resolveTestServer, stopTestServers } from './test-servers';

describe('escapeRedisGlob', () => {
  it('escapes the characters SCAN MATCH treats as a pattern', () => {
    expect(escapeRedisGlob('a*b?c[d]e\\f')).toBe('a\\*b\\?c\\[d\\]e\\\\f');
  });
});

describe('createTestRedis (real Redis)', () => {
  let client: Redis;
  const outsiderKey = `outsider:${process.pid}:${Date.now()}`;

  beforeAll(async () => {
    client = new Redis((await resolveTestServer('redis')).url);
  });

  afterAll(async () => {
    await client.del(outsiderKey);
    await client.quit();
    await stopTestServers();
  });

  it('gives every suite its own prefix', async () => {
    const [first, second, named] = await Promise.all([
      createTestRedis(),
      createTestRedis(),
      createTestRedis({ name: 'Cache Spec' }),
    ]);
    expect(first.prefix).toMatch(/^test:[0-9a-f]{12}:$/);
    expect(first.queuePrefix).toBe(first.prefix.slice(0, -1));
    expect(second.prefix).not.toBe(first.prefix);
    expect(named.prefix).toMatch(/^test:cache-spec:[0-9a-f]{12}:$/);
    expect(first.url).toBe((await resolveTestServer('redis')).url);
  });

  it('cleanup deletes every key under its prefix and nothing else', async () => {
    const mine = await createTestRedis();
    const theirs = await createTestRedis();
    // More keys than one SCAN batch, so the cursor loop is exercised.
    const pipeline = client.pipeline();
    for (let index = 0; index < 1200; index += 1) pipeline.set(`${mine.prefix}key:${index}`, 'x');
    pipeline.hset(`${mine.prefix}hash`, 'field', 'value');
    pipeline.set(`${theirs.prefix}key:1`, 'y');
    pipeline.set(outsiderKey, 'z');
    // A key that shares the text of the prefix without its trailing colon is not under it.
    pipeline.set(`${mine.queuePrefix}-sibling`, 'w');
    await pipeline.exec();

    await expect(mine.cleanup()).resolves.toBe(1201);

    expect(await client.keys(`${escapeRedisGlob(mine.prefix)}*`)).toEqual([]);
    expect(await client.get(`${theirs.prefix}key:1`)).toBe('y');
    expect(await client.get(outsiderKey)).toBe('z');
    expect(await client.get(`${mine.queuePrefix}-sibling`)).toBe('w');

    await client.del(`${mine.queuePrefix}-sibling`);
    await expect(theirs.cleanup()).resolves.toBe(1);
    await expect(mine.cleanup()).resolves.toBe(0);
  });

  it('names the Redis server it could not reach', async () => {
    await expect(createTestRedis({ url: 'redis://127.0.0.1:1' })).rejects.toThrow(
      /could not connect to Redis at redis:\/\/127\.0\.0\.1:1/,
    );
  });
});
