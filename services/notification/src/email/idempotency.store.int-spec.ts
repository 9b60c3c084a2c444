import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createTestRedis, type TestRedis } from '@strata/testing';
import { IdempotencyStore } from './idempotency.store';

describe('IdempotencyStore (real Redis)', () => {
  let testRedis: TestRedis;
  let redis: Redis;
  let store: IdempotencyStore;

  beforeAll(async () => {
    testRedis = await createTestRedis({ name: 'notification-idempotency' });
    redis = new Redis(testRedis.url);
    store = new IdempotencyStore(redis, {
      namespace: `${testRedis.queuePrefix}:email-idempotency`,
      leaseMs: 300,
      sentTtlMs: 60_000,
    });
  });

  afterAll(async () => {
    await redis.quit();
    await testRedis.cleanup();
  });

  it('lets one caller claim a key; others see it busy, then sent', async () => {
    const key = randomUUID();
    const first = await store.claim(key);
    expect(first.status).toBe('claimed');
    const second = await store.claim(key);
    expect(second).toMatchObject({ status: 'busy' });
    expect((second as { retryInMs: number }).retryInMs).toBeLessThanOrEqual(300);
    expect(await store.sentMessageId(key)).toBeUndefined();

    expect(await store.markSent(key, (first as { owner: string }).owner, '<m@x>')).toBe(true);
    expect(await store.claim(key)).toEqual({ status: 'sent', messageId: '<m@x>' });
    expect(await store.sentMessageId(key)).toBe('<m@x>');
    // Remembered for the sent TTL, not the lease.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await store.sentMessageId(key)).toBe('<m@x>');
  });

  it('gives 200 concurrent claims of one key exactly one winner', async () => {
    const key = randomUUID();
    const results = await Promise.all(Array.from({ length: 200 }, () => store.claim(key)));
    expect(results.filter((result) => result.status === 'claimed')).toHaveLength(1);
  });

  it('releases only for the owner, so a retry can claim at once', async () => {
    const key = randomUUID();
    const claim = (await store.claim(key)) as { status: 'claimed'; owner: string };
    await store.release(key, 'someone-else');
    expect((await store.claim(key)).status).toBe('busy');
    await store.release(key, claim.owner);
    expect((await store.claim(key)).status).toBe('claimed');
  });

  it('frees a claim whose owner died once the lease expires; the late owner cannot mark it then', async () => {
    const key = randomUUID();
    const dead = (await store.claim(key)) as { owner: string };
    await new Promise((resolve) => setTimeout(resolve, 400));
    const next = (await store.claim(key)) as { status: string; owner: string };
    expect(next.status).toBe('claimed');
    expect(await store.markSent(key, dead.owner, '<late@x>')).toBe(false);
    expect(await store.markSent(key, next.owner, '<next@x>')).toBe(true);
    expect(await store.sentMessageId(key)).toBe('<next@x>');
  });
});
