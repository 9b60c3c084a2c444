// Processors are async by contract; in these tests most have nothing to await.
/* eslint-disable @typescript-eslint/require-await */
import { Registry } from 'prom-client';
import { captureLogs, createLogger } from '@strata/logger';
import { PrivateRedis, waitFor } from '@strata/testing';
import { QueueUnavailableError } from './errors';
import { defineJob } from './job-definition';
import { createWorker, type ManagedWorker } from './job-worker';
import { createProducer, type Producer } from './producer';
import { registerQueueMetrics } from './queue-metrics';
import { uniquePrefix } from './testing/redis';

// These tests kill and restart a redis-server of their own, never the shared one.
jest.setTimeout(60_000);

const ping = defineJob<{ n: number }>({ queue: 'ping', name: 'ping' });

describe('worker under a Redis restart (private redis-server)', () => {
  let redis: PrivateRedis;
  let producer: Producer | undefined;
  let worker: ManagedWorker | undefined;
  const logs = captureLogs();
  const logger = createLogger({ name: 'watchdog-int', destination: logs.stream });

  beforeEach(async () => {
    redis = await PrivateRedis.start();
  });

  afterEach(async () => {
    await worker?.close();
    await producer?.close();
    await redis.stop();
    worker = undefined;
    producer = undefined;
  });

  async function processedAfterRestart(options: { retryStrategy?: () => null }) {
    const prefix = uniquePrefix();
    const seen: number[] = [];
    worker = createWorker(
      ping,
      async (payload) => {
        seen.push(payload.n);
      },
      {
        connection: { ...redis.connection, ...options },
        prefix,
        logger,
        watchdog: { checkIntervalMs: 500, reconnectBoundMs: 3_000 },
      },
    );
    producer = createProducer({
      connection: redis.connection,
      prefix,
      logger,
      readyTimeoutMs: 1_000,
    });
    await worker.waitUntilReady();
    await producer.add(ping, { n: 1 });
    await waitFor(() => seen.includes(1), 10_000);

    await redis.restart();
    const restartedAt = Date.now();
    // The producer reconnects on its own; keep offering the job until Redis takes it.
    await waitFor(
      async () => {
        try {
          await producer!.add(ping, { n: 2 }, { jobId: 'after-restart' });
          return true;
        } catch {
          return false;
        }
      },
      20_000,
      200,
    );
    await waitFor(() => seen.includes(2), 30_000, 100);
    return { elapsedMs: Date.now() - restartedAt, seen };
  }

  it('consumes again within 30 s after Redis restarts (BullMQ reconnects by itself)', async () => {
    const { elapsedMs, seen } = await processedAfterRestart({});
    expect(elapsedMs).toBeLessThan(30_000);
    expect(seen).toEqual([1, 2]);
  });

  it('recreates a worker whose connection never comes back', async () => {
    // ioredis gives up after the first disconnect: without the watchdog this worker is dead.
    const { elapsedMs, seen } = await processedAfterRestart({ retryStrategy: () => null });
    expect(worker!.recreations).toBeGreaterThanOrEqual(1);
    expect(elapsedMs).toBeLessThan(30_000);
    expect(seen).toEqual([1, 2]);
    expect(logs.text()).toMatch(/watchdog: recreating worker/);
  });

  it('a connected producer fails at once when Redis goes away, and recovers when it is back', async () => {
    const prefix = uniquePrefix();
    producer = createProducer({
      connection: redis.connection,
      prefix,
      logger,
      readyTimeoutMs: 500,
    });
    await producer.add(ping, { n: 1 });
    // Not a connection problem: BullMQ's own validation error comes through unchanged.
    await expect(producer.addRaw('ping', 'ping', { n: 1 }, { priority: 1.5 })).rejects.toThrow(
      /Priority should not be float/,
    );
    await redis.stop();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    await expect(producer.add(ping, { n: 2 })).rejects.toBeInstanceOf(QueueUnavailableError);
    expect(Date.now() - started).toBeLessThan(1_000);
    await redis.restart();
    await waitFor(
      async () => {
        try {
          await producer!.add(ping, { n: 3 });
          return true;
        } catch {
          return false;
        }
      },
      10_000,
      200,
    );
  });

  it('reports a queue as down in metrics while Redis is unreachable', async () => {
    const prefix = uniquePrefix();
    producer = createProducer({
      connection: redis.connection,
      prefix,
      logger,
      readyTimeoutMs: 500,
    });
    const registry = new Registry();
    const metrics = registerQueueMetrics({
      registry,
      logger,
      queues: [producer.queue('ping')],
      countTimeoutMs: 500,
    });
    try {
      await producer.add(ping, { n: 1 });
      expect(await registry.metrics()).toContain(
        'strata_queue_jobs{queue="ping",state="waiting"} 1',
      );
      await redis.stop();
      await new Promise((resolve) => setTimeout(resolve, 600));
      const started = Date.now();
      const text = await registry.metrics();
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(text).toContain('strata_queue_up{queue="ping"} 0');
      expect(text).not.toContain('strata_queue_jobs{queue="ping"');
    } finally {
      metrics.stop();
    }
  });
});
