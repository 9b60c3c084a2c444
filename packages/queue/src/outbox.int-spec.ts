// Processors are async by contract; in these tests most have nothing to await.
/* eslint-disable @typescript-eslint/require-await */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { type Queue } from 'bullmq';
import { Pool } from 'pg';
import { captureLogs, createLogger, currentContext, runWithContext } from '@strata/logger';
import { waitFor } from '@strata/testing';
import { InvalidJobPayloadError } from './errors';
import { defineJob, type JobDefinition } from './job-definition';
import { groupItem, groupJobData } from './job-group';
import { createWorker, type ManagedWorker } from './job-worker';
import { OUTBOX_PRISMA_MODEL, enqueueInTransaction, type OutboxTransactionClient } from './outbox';
import { poolOutboxDatabase } from './outbox.pool';
import { createOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from './outbox.relay';
import { createProducer, type Producer } from './producer';
import { createTestDatabase, PACKAGE_ROOT, type TestDatabase } from './testing/database';
import { deletePrefix, testRedisConnection, uniquePrefix } from './testing/redis';

jest.setTimeout(90_000);

const connection = testRedisConnection();
interface SettlePayload {
  orderId: string;
}
const settleOrder = defineJob<SettlePayload>({
  queue: 'settle',
  name: 'settle-order',
  schema: (input) => {
    const orderId = (input as { orderId?: unknown }).orderId;
    if (typeof orderId !== 'string') throw new Error('orderId must be a string');
    return { orderId };
  },
  defaults: { attempts: 3, backoff: { type: 'exponential', delay: 20, jitter: 0.5 } },
});

const ALL_STATES = ['wait', 'active', 'delayed', 'completed', 'failed', 'prioritized'] as const;
async function totalJobs(queue: Queue): Promise<number> {
  const counts = await queue.getJobCounts(...ALL_STATES);
  return Object.values(counts).reduce((sum, count) => sum + count, 0);
}

describe('transactional outbox (real PostgreSQL + Redis)', () => {
  let database: TestDatabase;
  let prefix: string;
  let producer: Producer;
  let queue: Queue;
  const relays: OutboxRelay[] = [];
  const workers: ManagedWorker[] = [];
  const logs = captureLogs();
  const logger = createLogger({ name: 'outbox-int', destination: logs.stream });

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database?.drop();
  });

  beforeEach(async () => {
    prefix = uniquePrefix();
    producer = createProducer({ connection, prefix, logger });
    queue = producer.queue('settle');
    await database.prisma.$executeRaw`TRUNCATE outbox_events, orders`;
  });

  afterEach(async () => {
    await Promise.all(relays.splice(0).map((relay) => relay.stop()));
    await Promise.all(workers.splice(0).map((worker) => worker.close()));
    await producer.close();
    await deletePrefix(prefix);
  });

  function relay(overrides: Partial<OutboxRelayOptions> = {}): OutboxRelay {
    const created = createOutboxRelay({
      database: database.prisma,
      producer,
      logger,
      ...overrides,
    });
    relays.push(created);
    return created;
  }

  /** A worker that records how many times each outbox id was processed. */
  function countingWorker(definition: JobDefinition<SettlePayload> = settleOrder) {
    const runs = new Map<string, number>();
    const requestIds: Array<string | undefined> = [];
    workers.push(
      createWorker(
        definition,
        async (_payload, context) => {
          runs.set(context.idempotencyKey, (runs.get(context.idempotencyKey) ?? 0) + 1);
          requestIds.push(currentContext()?.requestId);
        },
        { connection, prefix, logger, concurrency: 20 },
      ),
    );
    return { runs, requestIds };
  }

  async function placeOrder(tx: OutboxTransactionClient & { order: typeof database.prisma.order }) {
    const orderId = randomUUID();
    await tx.order.create({ data: { id: orderId, amountMinor: 500 } });
    const outboxId = await enqueueInTransaction(tx, settleOrder, { orderId });
    return { orderId, outboxId };
  }

  async function outboxRows() {
    return database.prisma.outboxEvent.findMany({ orderBy: { createdAt: 'asc' } });
  }

  it('the README carries the outbox model the test schema (and the relay SQL) use', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(join(PACKAGE_ROOT, 'README.md'), 'utf8');
    const schema = await readFile(join(PACKAGE_ROOT, 'test', 'prisma', 'schema.prisma'), 'utf8');
    expect(readme).toContain(OUTBOX_PRISMA_MODEL);
    expect(schema).toContain(OUTBOX_PRISMA_MODEL);
  });

  it('rollback → no row and no job', async () => {
    await expect(
      database.prisma.$transaction(async (tx) => {
        await placeOrder(tx);
        throw new Error('business rule failed after enqueueing');
      }),
    ).rejects.toThrow('business rule failed');
    expect(await outboxRows()).toHaveLength(0);
    expect(await database.prisma.order.count()).toBe(0);
    await expect(relay().relayOnce()).resolves.toBe(0);
    expect(await totalJobs(queue)).toBe(0);
  });

  it('commit → exactly one job, id = outbox id, processed once in the request context', async () => {
    const { runs, requestIds } = countingWorker();
    const { orderId, outboxId } = await runWithContext({ requestId: 'req-outbox-1' }, () =>
      database.prisma.$transaction((tx) => placeOrder(tx)),
    );
    const once = relay();
    await expect(once.relayOnce()).resolves.toBe(1);
    await expect(once.relayOnce()).resolves.toBe(0);

    const job = await queue.getJob(outboxId);
    expect(job?.name).toBe('settle-order');
    expect(job?.data).toEqual({ orderId, _context: { requestId: 'req-outbox-1' } });
    expect(job?.opts.attempts).toBe(3);
    const [row] = await outboxRows();
    expect(row?.publishedAt).toBeInstanceOf(Date);
    expect(row?.attempts).toBe(1);

    await waitFor(() => runs.get(outboxId) === 1, 10_000);
    expect(await totalJobs(queue)).toBe(1);
    expect(requestIds).toEqual(['req-outbox-1']);
  });

  it('two relays racing over 200 rows publish each row exactly once', async () => {
    const { runs } = countingWorker();
    const outboxIds: string[] = [];
    for (let batch = 0; batch < 10; batch += 1) {
      const ids = await Promise.all(
        Array.from({ length: 20 }, () =>
          database.prisma.$transaction(async (tx) => (await placeOrder(tx)).outboxId),
        ),
      );
      outboxIds.push(...ids);
    }
    const publishedBy = [0, 0];
    const racer = (index: 0 | 1) =>
      relay({
        batchSize: 15,
        minPollIntervalMs: 1,
        maxPollIntervalMs: 20,
        afterPublish: (ids) => {
          publishedBy[index] += ids.length;
        },
      });
    const first = racer(0);
    const second = racer(1);
    first.start();
    second.start();
    await waitFor(
      async () => (await database.prisma.outboxEvent.count({ where: { publishedAt: null } })) === 0,
      30_000,
    );
    await waitFor(() => runs.size === 200, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 300));

    expect(await totalJobs(queue)).toBe(200);
    // Both relays really took part, and between them published 200 rows, not more.
    expect(publishedBy[0]).toBeGreaterThan(0);
    expect(publishedBy[1]).toBeGreaterThan(0);
    expect(publishedBy[0] + publishedBy[1]).toBe(200);
    expect([...runs.keys()].sort()).toEqual([...outboxIds].sort());
    expect([...runs.values()].every((count) => count === 1)).toBe(true);
    // attempts = 1 everywhere: no row was even published twice (SKIP LOCKED), not merely deduplicated.
    const rows = await outboxRows();
    expect(rows.every((row) => row.attempts === 1)).toBe(true);
  });

  it('a relay that dies after publishing and before marking: the next relay adds no second job', async () => {
    const { runs } = countingWorker();
    const outboxIds = await Promise.all(
      Array.from({ length: 5 }, () =>
        database.prisma.$transaction(async (tx) => (await placeOrder(tx)).outboxId),
      ),
    );
    const crashing = relay({
      afterPublish: () => {
        throw new Error('simulated crash between publish and mark');
      },
    });
    await expect(crashing.relayOnce()).rejects.toThrow('simulated crash');
    // Published to Redis, but the marking rolled back with the crash.
    await waitFor(() => runs.size === 5, 10_000);
    expect((await outboxRows()).every((row) => row.publishedAt === null)).toBe(true);

    await expect(relay().relayOnce()).resolves.toBe(5);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await totalJobs(queue)).toBe(5);
    expect(outboxIds.every((id) => runs.get(id) === 1)).toBe(true);
    expect((await outboxRows()).every((row) => row.publishedAt !== null)).toBe(true);
  });

  it('…even when the first job already completed and BullMQ removed it (deduplication window)', async () => {
    const removedOnComplete = defineJob<SettlePayload>({
      queue: 'settle',
      name: 'settle-order',
      defaults: { removeOnComplete: { count: 0 } },
    });
    const { runs } = countingWorker(removedOnComplete);
    const outboxId = await database.prisma.$transaction((tx) =>
      enqueueInTransaction(tx, removedOnComplete, { orderId: 'o-1' }),
    );
    const crashing = relay({
      afterPublish: () => {
        throw new Error('crash');
      },
    });
    await expect(crashing.relayOnce()).rejects.toThrow('crash');
    await waitFor(() => runs.get(outboxId) === 1, 10_000);
    await waitFor(async () => (await totalJobs(queue)) === 0, 5_000);

    await expect(relay().relayOnce()).resolves.toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(runs.get(outboxId)).toBe(1);
    expect(await totalJobs(queue)).toBe(0);
  });

  it('…and shows the limit: a republish after the deduplication window runs the job again', async () => {
    const removedOnComplete = defineJob<SettlePayload>({
      queue: 'settle',
      name: 'settle-order',
      defaults: { removeOnComplete: { count: 0 } },
    });
    const { runs } = countingWorker(removedOnComplete);
    const outboxId = await database.prisma.$transaction((tx) =>
      enqueueInTransaction(tx, removedOnComplete, { orderId: 'o-2' }),
    );
    const crashing = relay({
      dedupWindowMs: 50,
      afterPublish: () => {
        throw new Error('crash');
      },
    });
    await expect(crashing.relayOnce()).rejects.toThrow('crash');
    await waitFor(() => runs.get(outboxId) === 1, 10_000);
    await waitFor(async () => (await totalJobs(queue)) === 0, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 100));

    await expect(relay({ dedupWindowMs: 50 }).relayOnce()).resolves.toBe(1);
    await waitFor(() => runs.get(outboxId) === 2, 10_000);
  });

  describe('on a pg pool (poolOutboxDatabase) instead of Prisma', () => {
    let pool: Pool;
    beforeEach(() => {
      // One connection: a test sees whether the relay hands it back clean.
      pool = new Pool({ connectionString: database.url, max: 1 });
      // As @strata/db's pool does: a connection the relay dropped may still report its end (the
      // server's idle-in-transaction timeout) after it left the relay's hands, on the pool.
      pool.on('error', () => undefined);
    });
    afterEach(async () => {
      await pool.end();
    });

    it('claims, publishes and marks as the Prisma relay does', async () => {
      const { runs, requestIds } = countingWorker();
      const { orderId, outboxId } = await runWithContext({ requestId: 'req-pool-1' }, () =>
        database.prisma.$transaction((tx) => placeOrder(tx)),
      );
      const onPool = relay({ database: poolOutboxDatabase(pool) });
      await expect(onPool.relayOnce()).resolves.toBe(1);
      await expect(onPool.relayOnce()).resolves.toBe(0);
      expect((await queue.getJob(outboxId))?.data).toEqual({
        orderId,
        _context: { requestId: 'req-pool-1' },
      });
      const [row] = await outboxRows();
      expect(row?.publishedAt).toBeInstanceOf(Date);
      expect(row?.attempts).toBe(1);
      await waitFor(() => runs.get(outboxId) === 1, 10_000);
      expect(requestIds).toEqual(['req-pool-1']);
      await expect(onPool.purgePublished()).resolves.toBe(0);
    });

    it('rolls back a round that fails after publishing, and keeps the connection usable', async () => {
      await database.prisma.$transaction((tx) => placeOrder(tx));
      const crashing = relay({
        database: poolOutboxDatabase(pool),
        afterPublish: () => {
          throw new Error('simulated crash between publish and mark');
        },
      });
      await expect(crashing.relayOnce()).rejects.toThrow('simulated crash');
      expect((await outboxRows()).every((row) => row.publishedAt === null)).toBe(true);
      // The claim's row locks are gone (a connection left in its transaction would hold them).
      await expect(
        database.prisma.$queryRaw`SELECT id FROM outbox_events FOR UPDATE NOWAIT`,
      ).resolves.toHaveLength(1);
      await expect(relay({ database: poolOutboxDatabase(pool) }).relayOnce()).resolves.toBe(1);
    });

    it('gives up a round past its timeout: the connection is dropped, so the claim is rolled back', async () => {
      await database.prisma.$transaction((tx) => placeOrder(tx));
      const frozen = relay({
        database: poolOutboxDatabase(pool),
        transactionTimeoutMs: 300,
        afterPublish: () => new Promise<void>(() => undefined),
      });
      await expect(frozen.relayOnce()).rejects.toThrow(/timed out after 300 ms/);
      expect((await outboxRows()).every((row) => row.publishedAt === null)).toBe(true);
      await expect(relay({ database: poolOutboxDatabase(pool) }).relayOnce()).resolves.toBe(1);
    });

    it('survives the server ending its connection mid-round (the idle-in-transaction timeout firing before its own timer)', async () => {
      await database.prisma.$transaction((tx) => placeOrder(tx));
      const frozen = relay({
        database: poolOutboxDatabase(pool),
        transactionTimeoutMs: 1_000,
        // What the server's idle_in_transaction_session_timeout does to a frozen round, made
        // deterministic: its connection ends between two statements, while nothing is running.
        afterPublish: async () => {
          await database.prisma.$queryRaw`
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND state = 'idle in transaction'`;
          await new Promise<void>(() => undefined);
        },
      });
      await expect(frozen.relayOnce()).rejects.toThrow(/timed out after 1000 ms/);
      expect((await outboxRows()).every((row) => row.publishedAt === null)).toBe(true);
      // The dead connection was dropped, not handed back: the pool's next round gets a new one.
      await expect(relay({ database: poolOutboxDatabase(pool) }).relayOnce()).resolves.toBe(1);
    });
  });

  describe('grouped kinds (job-group.ts)', () => {
    const settleOrdersInGroups = defineJob<SettlePayload>({
      queue: settleOrder.queue,
      name: settleOrder.name,
      schema: settleOrder.schema,
      defaults: settleOrder.defaults,
      grouping: { maxItems: 20 },
    });
    const placeOrders = (count: number) =>
      Promise.all(
        Array.from({ length: count }, (_, index) =>
          runWithContext({ requestId: `req-group-${index}` }, () =>
            database.prisma.$transaction(async (tx) => (await placeOrder(tx)).outboxId),
          ),
        ),
      );

    it('publishes up to maxItems rows as one job; each row runs once, with its own key and context', async () => {
      const { runs, requestIds } = countingWorker(settleOrdersInGroups);
      const outboxIds = await placeOrders(45);
      const delayedId = await database.prisma.$transaction((tx) =>
        enqueueInTransaction(tx, settleOrder, { orderId: 'later' }, { delay: 60_000 }),
      );
      await expect(relay({ groupedJobs: [settleOrdersInGroups] }).relayOnce()).resolves.toBe(46);

      // 20 + 20 + 5 rows in three groups, and the delayed row alone (a group has one due time).
      const jobs = await queue.getJobs([...ALL_STATES]);
      expect(jobs).toHaveLength(4);
      const groupSizes = jobs
        .filter((job) => job.id?.startsWith('group-'))
        .map((job) => (job.data as { _group: unknown[] })._group.length)
        .sort((a, b) => a - b);
      expect(groupSizes).toEqual([5, 20, 20]);
      expect((await queue.getJob(delayedId))?.data).toEqual({ orderId: 'later' });

      await waitFor(() => runs.size === 45, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect([...runs.keys()].sort()).toEqual([...outboxIds].sort());
      expect([...runs.values()].every((count) => count === 1)).toBe(true);
      expect(new Set(requestIds).size).toBe(45);
      expect((await outboxRows()).every((row) => row.attempts === 1)).toBe(true);
    });

    it('a relay that dies after publishing a group: the same group published again is a no-op', async () => {
      const { runs } = countingWorker(settleOrdersInGroups);
      const outboxIds = await placeOrders(5);
      const crashing = relay({
        groupedJobs: [settleOrdersInGroups],
        afterPublish: () => {
          throw new Error('simulated crash between publish and mark');
        },
      });
      await expect(crashing.relayOnce()).rejects.toThrow('simulated crash');
      await waitFor(() => runs.size === 5, 10_000);

      await expect(relay({ groupedJobs: [settleOrdersInGroups] }).relayOnce()).resolves.toBe(5);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await totalJobs(queue)).toBe(1);
      expect(outboxIds.every((id) => runs.get(id) === 1)).toBe(true);
    });

    it('…and shows the limit: rows claimed again in another group are published again, never lost', async () => {
      const { runs } = countingWorker(settleOrdersInGroups);
      const first = await placeOrders(3);
      const crashing = relay({
        groupedJobs: [settleOrdersInGroups],
        afterPublish: () => {
          throw new Error('crash');
        },
      });
      await expect(crashing.relayOnce()).rejects.toThrow('crash');
      const later = await placeOrders(2);

      await expect(relay({ groupedJobs: [settleOrdersInGroups] }).relayOnce()).resolves.toBe(5);
      await waitFor(() => first.every((id) => runs.get(id) === 2), 10_000);
      expect(later.every((id) => runs.get(id) === 1)).toBe(true);
      expect(await totalJobs(queue)).toBe(2);
    });

    it('refuses to group a kind whose workers would not unpack groups', async () => {
      expect(() => relay({ groupedJobs: [settleOrder] })).toThrow(/does not set grouping/);
      await expect(groupItem(settleOrder, 'x', { orderId: 'o' })).rejects.toThrow(
        /does not set grouping/,
      );
      await expect(
        groupItem(settleOrdersInGroups, 'x', { orderId: 7 } as unknown as SettlePayload),
      ).rejects.toBeInstanceOf(InvalidJobPayloadError);
    });

    it('publishes a row its producer wrote as a group as it is, and runs each item once', async () => {
      const { runs, requestIds } = countingWorker(settleOrdersInGroups);
      const items = await runWithContext({ requestId: 'req-batch' }, () =>
        Promise.all(
          ['a', 'b', 'c'].map((orderId) =>
            groupItem(settleOrdersInGroups, `settle:${orderId}`, { orderId }),
          ),
        ),
      );
      const rowId = randomUUID();
      await database.prisma.$executeRaw`
        INSERT INTO outbox_events (id, queue, name, payload, options)
        VALUES (${rowId}::uuid, ${settleOrder.queue}, ${settleOrder.name},
                ${JSON.stringify(groupJobData(items))}::jsonb, '{}'::jsonb)`;
      await placeOrders(2);

      await expect(relay({ groupedJobs: [settleOrdersInGroups] }).relayOnce()).resolves.toBe(3);
      expect(await totalJobs(queue)).toBe(2);
      expect((await queue.getJob(rowId))?.data).toMatchObject(groupJobData(items));
      await waitFor(() => runs.size === 5, 10_000);
      expect(['settle:a', 'settle:b', 'settle:c'].map((id) => runs.get(id))).toEqual([1, 1, 1]);
      expect(requestIds.filter((id) => id === 'req-batch')).toHaveLength(3);
    });
  });

  it('a relay process SIGKILLed between publishing and marking: exactly one job, processed once', async () => {
    const { runs } = countingWorker();
    const outboxIds = await Promise.all(
      Array.from({ length: 3 }, () =>
        database.prisma.$transaction(async (tx) => (await placeOrder(tx)).outboxId),
      ),
    );
    const child = spawn(
      process.execPath,
      [
        '-C',
        '@strata/source',
        '-r',
        join(__dirname, 'testing', 'ts-register.cjs'),
        join(__dirname, 'testing', 'relay-child.ts'),
      ],
      {
        env: {
          ...process.env,
          CHILD_DATABASE_URL: database.url,
          CHILD_PREFIX: prefix,
          ...(connection.url ? { CHILD_REDIS_URL: connection.url } : {}),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );
    try {
      await waitFor(() => stdout.includes('PUBLISHED') || child.exitCode !== null, 60_000, 50);
      expect(stderr).toBe('');
      const published = /PUBLISHED (\S+)/.exec(stdout)?.[1]?.split(',') ?? [];
      expect(published.sort()).toEqual([...outboxIds].sort());
      // The child holds its transaction open: the rows are published to Redis but not marked.
      expect(await totalJobs(queue)).toBe(3);
      expect((await outboxRows()).every((row) => row.publishedAt === null)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
    expect(await exited).toBe('SIGKILL');

    // PostgreSQL aborts the dead session's transaction; its rows become claimable again.
    const survivor = relay();
    let republished = 0;
    await waitFor(async () => (republished += await survivor.relayOnce()) === 3, 15_000, 100);
    await waitFor(() => outboxIds.every((id) => runs.get(id) === 1), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await totalJobs(queue)).toBe(3);
    expect(outboxIds.map((id) => runs.get(id))).toEqual([1, 1, 1]);
    expect((await outboxRows()).every((row) => row.publishedAt !== null)).toBe(true);
  });

  it('refuses the root client and rolls back with an invalid payload', async () => {
    await expect(
      enqueueInTransaction(database.prisma as unknown as OutboxTransactionClient, settleOrder, {
        orderId: 'x',
      }),
    ).rejects.toThrow(/transaction client/);
    await expect(
      database.prisma.$transaction(async (tx) => {
        await tx.order.create({ data: { id: randomUUID(), amountMinor: 1 } });
        await enqueueInTransaction(tx, settleOrder, { orderId: 42 } as unknown as SettlePayload);
      }),
    ).rejects.toBeInstanceOf(InvalidJobPayloadError);
    expect(await database.prisma.order.count()).toBe(0);
    expect(await outboxRows()).toHaveLength(0);
  });

  it('counts a delay from the commit, not from the publish', async () => {
    const outboxId = await database.prisma.$transaction((tx) =>
      enqueueInTransaction(tx, settleOrder, { orderId: 'later' }, { delay: 60_000 }),
    );
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await expect(relay().relayOnce()).resolves.toBe(1);
    const job = await queue.getJob(outboxId);
    expect(await job?.getState()).toBe('delayed');
    expect(job?.delay).toBeGreaterThan(55_000);
    expect(job?.delay).toBeLessThanOrEqual(59_000);
  });

  it('notify() publishes at once instead of at the next poll', async () => {
    const polling = relay({ minPollIntervalMs: 5_000, maxPollIntervalMs: 5_000 });
    polling.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const outboxId = await database.prisma.$transaction((tx) =>
      enqueueInTransaction(tx, settleOrder, { orderId: 'now' }),
    );
    const notifiedAt = Date.now();
    polling.notify();
    await waitFor(async () => (await queue.getJob(outboxId)) !== undefined, 3_000, 10);
    expect(Date.now() - notifiedAt).toBeLessThan(1_000);
  });

  it('records publish failures on the row and retries them later', async () => {
    const brokenProducer = createProducer({
      connection: { host: '127.0.0.1', port: 1 },
      prefix,
      logger,
      readyTimeoutMs: 200,
    });
    try {
      const outboxId = await database.prisma.$transaction((tx) =>
        enqueueInTransaction(tx, settleOrder, { orderId: 'retry' }),
      );
      await expect(relay({ producer: brokenProducer }).relayOnce()).rejects.toThrow(/unavailable/);
      const [failed] = await outboxRows();
      expect(failed).toMatchObject({ id: outboxId, attempts: 1, publishedAt: null });
      expect(failed?.lastError).toMatch(/unavailable/);

      await expect(relay().relayOnce()).resolves.toBe(1);
      const [published] = await outboxRows();
      expect(published).toMatchObject({ attempts: 2, lastError: null });
      expect(published?.publishedAt).toBeInstanceOf(Date);
    } finally {
      await brokenProducer.close();
    }
  });

  it('claims the oldest rows through the index, without sorting the backlog', async () => {
    // A backlog as a busy service builds up (the payment benchmark had 6,500 rows waiting), with
    // fresh statistics: the claim must read the batch from the (published_at, created_at) index
    // in order and stop, not read and sort every unpublished row on each round.
    await database.prisma.$executeRaw`
      INSERT INTO outbox_events (id, queue, name, payload, options, delay_ms, created_at)
      SELECT gen_random_uuid(), 'settle', 'settle-order',
             jsonb_build_object('orderId', gen_random_uuid()::text), '{}'::jsonb, 0,
             now() - make_interval(secs => 10000 - g)
      FROM generate_series(1, 3000) AS g`;
    await database.prisma.$executeRaw`ANALYZE outbox_events`;
    const oldest = await database.prisma.outboxEvent.findMany({
      orderBy: { createdAt: 'asc' },
      take: 10,
      select: { id: true },
    });

    const claimPlans: string[] = [];
    const explaining: OutboxRelayOptions['database'] = {
      $transaction: (work, options) =>
        database.prisma.$transaction(
          (tx) =>
            work({
              $executeRaw: (query, ...values) => tx.$executeRaw(query, ...values),
              $queryRaw: async <Row>(query: TemplateStringsArray, ...values: unknown[]) => {
                if (query.join('').includes('SKIP LOCKED')) {
                  const text = query.reduce((sql, part, index) => `${sql}$${index}${part}`);
                  const plan = await tx.$queryRawUnsafe<unknown>(
                    `EXPLAIN (FORMAT JSON) ${text}`,
                    ...values,
                  );
                  claimPlans.push(JSON.stringify(plan));
                }
                return tx.$queryRaw<Row>(query, ...values);
              },
            }),
          options,
        ),
    };
    await expect(relay({ database: explaining, batchSize: 10 }).relayOnce()).resolves.toBe(10);

    expect(claimPlans).toHaveLength(1);
    expect(claimPlans[0]).toContain('outbox_events_published_at_created_at_idx');
    expect(claimPlans[0]).not.toMatch(/"Node Type":\s*"Sort"/);
    const published = await database.prisma.outboxEvent.findMany({
      where: { publishedAt: { not: null } },
      select: { id: true },
    });
    expect(published.map((row) => row.id).sort()).toEqual(oldest.map((row) => row.id).sort());
  });

  it('purges published rows past their retention', async () => {
    const ids = await Promise.all(
      [1, 2].map(() =>
        database.prisma.$transaction((tx) =>
          enqueueInTransaction(tx, settleOrder, { orderId: 'p' }),
        ),
      ),
    );
    await relay().relayOnce();
    await database.prisma.$executeRaw`
      UPDATE outbox_events SET published_at = now() - interval '8 days' WHERE id = ${ids[0]}::uuid`;
    await expect(relay().purgePublished()).resolves.toBe(1);
    expect((await outboxRows()).map((row) => row.id)).toEqual([ids[1]]);
  });
});
