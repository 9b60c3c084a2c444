// Benchmark (not a test): CreatePayment throughput and latency through the real gRPC API, with the
// settlement worker and outbox relay running, against real PostgreSQL, Redis and the simulator.
//
//   npm run bench -w @strata/payment-service            (both phases, defaults below)
//   BENCH_SECONDS=20 BENCH_RATE=500 npm run bench -w @strata/payment-service
//
// Phase 1 (throughput): BENCH_CONCURRENCY callers in closed loop for BENCH_SECONDS → creates/s.
// Phase 2 (latency): an open-loop schedule of BENCH_RATE creates/s for BENCH_SECONDS → p50/p99.
// Everything runs in this one process except PostgreSQL, Redis and the simulator (2-core box:
// the load generator competes with the service for CPU, so the numbers are conservative).
import { randomUUID } from 'node:crypto';
import { loadConfig } from '@strata/config';
import { PaymentServiceClient, Role } from '@strata/contracts';
import { createGrpcClient } from '@strata/grpc';
import { createLogger } from '@strata/logger';
import { createTestDatabase, createTestRedis } from '@strata/testing';
import { buildApp } from '../src/app';
import { paymentServiceConfigSchema } from '../src/config';
import { startFakeUserService } from '../src/testing/fake-user-service';
import { PSP_API_KEY, PSP_WEBHOOK_SECRET, startPsp } from '../src/testing/psp-process';
import { buildWorker } from '../src/worker-app';
import path from 'node:path';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const RATE = Number(process.env.BENCH_RATE ?? 500);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  const database = await createTestDatabase({ serviceDir: path.join(__dirname, '..'), name: 'payment_bench' });
  const redis = await createTestRedis({ name: 'payment_bench' });
  const psp = await startPsp();
  const users = await startFakeUserService();
  const config = loadConfig(paymentServiceConfigSchema, {
    DATABASE_URL: database.url,
    DB_POOL_MAX: process.env.BENCH_POOL ?? '20',
    REDIS_CACHE_URL: redis.url,
    REDIS_QUEUE_URL: redis.url,
    REDIS_EVENTS_URL: redis.url,
    USER_SERVICE_URL: users.target,
    PSP_URL: psp.url,
    PSP_API_KEY,
    PSP_WEBHOOK_SECRET,
    PAYMENT_GRPC_HOST: '127.0.0.1',
    PAYMENT_GRPC_PORT: '0',
    WORKER_CONCURRENCY: '20',
    LOG_LEVEL: 'warn',
  });
  const logger = createLogger({ name: 'payment-bench', level: 'warn' });
  const app = buildApp(config, logger, { cacheKeyPrefix: `${redis.prefix}payment` });
  const worker = buildWorker(config, logger, { queuePrefix: redis.queuePrefix, cacheKeyPrefix: `${redis.prefix}payment` });
  const { port } = await app.start();
  worker.start();
  const client = createGrpcClient(PaymentServiceClient, { target: `127.0.0.1:${port}`, defaultDeadlineMs: 10_000 });
  const people = Array.from({ length: 200 }, () => randomUUID());
  for (const id of people) users.users.add(id);
  let sequence = 0;
  const createOne = async (): Promise<number> => {
    const index = sequence++;
    const payer = people[index % people.length];
    const payee = people[(index + 1) % people.length];
    const started = performance.now();
    await client.createPayment({
      idempotencyKey: randomUUID(),
      actor: { userId: payer, role: Role.MEMBER },
      payeeId: payee,
      amount: { amountMinor: 500 + (index % 1000), currency: 'EUR' },
    });
    return performance.now() - started;
  };

  try {
    // Warm-up: JIT, pools, payee cache.
    // Warm-up (JIT, pools, channels, payee cache); failures here are only counted.
    let warmupErrors = 0;
    for (let round = 0; round < 20; round += 1) {
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => createOne()));
      warmupErrors += results.filter((result) => result.status === 'rejected').length;
    }
    process.stderr.write(`warm-up done (${warmupErrors} errors)\n`);

    let completed = 0;
    let errors = 0;
    const throughputEnd = Date.now() + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (Date.now() < throughputEnd) {
          try {
            await createOne();
            completed += 1;
          } catch {
            errors += 1;
          }
        }
      }),
    );
    const throughput = completed / SECONDS;

    const latencies: number[] = [];
    let latencyErrors = 0;
    const pending: Array<Promise<void>> = [];
    const start = performance.now();
    const total = RATE * SECONDS;
    for (let index = 0; index < total; index += 1) {
      const due = start + (index * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      pending.push(
        createOne().then(
          (ms) => void latencies.push(ms),
          () => void (latencyErrors += 1),
        ),
      );
    }
    await Promise.all(pending);
    latencies.sort((a, b) => a - b);

    const result = {
      throughput: { seconds: SECONDS, concurrency: CONCURRENCY, completed, errors, createsPerSecond: Math.round(throughput) },
      latency: {
        ratePerSecond: RATE,
        seconds: SECONDS,
        requests: latencies.length,
        errors: latencyErrors,
        p50Ms: Number(percentile(latencies, 50).toFixed(1)),
        p99Ms: Number(percentile(latencies, 99).toFixed(1)),
        maxMs: Number((latencies.at(-1) ?? NaN).toFixed(1)),
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    client.close();
    await worker.close();
    await app.close();
    await users.close();
    await psp.close();
    await redis.cleanup();
    await database.drop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
