import { closeRedis, createRedisClient } from '@strata/cache';
import { type RealtimeEvent } from '@strata/contracts';
import { type Logger } from '@strata/logger';
import {
  createOutboxRelay,
  createWorker,
  poolOutboxDatabase,
  type ManagedWorker,
} from '@strata/queue';
import { groupCommit } from '@strata/runtime';
import { Redis } from 'ioredis';
import { BALANCE_CACHE_PREFIX, createBalanceCache } from './balances/balance-cache';
import { SERVICE_NAME, type PaymentServiceConfig } from './config';
import { openPaymentDatabase } from './database';
import { RealtimePublisher } from './events/realtime.publisher';
import { LedgerAccountDirectory } from './ledger/ledger.repository';
import { purgeExpiredIdempotencyRecords } from './idempotency/idempotency.repository';
import { type PaymentProvider } from './provider/payment-provider';
import { PspHttpProvider } from './provider/psp-http.provider';
import { processRefundProcessor } from './refunds/process-refund.usecase';
import { type EffectSink } from './settlement/effects';
import { processRefundJob, settlePaymentJob } from './settlement/payment.jobs';
import { settlePaymentProcessor } from './settlement/settle-payment.usecase';
import { poolRunner } from './sql-runner';

export interface PaymentWorker {
  start(): void;
  /** Workers drain their active jobs, then the relay stops, then connections close. */
  close(): Promise<void>;
  readonly settlement: ManagedWorker;
  readonly refunds: ManagedWorker;
}

export interface BuildWorkerOptions {
  /** BullMQ key prefix; tests use a unique one. */
  readonly queuePrefix?: string;
  readonly cacheKeyPrefix?: string;
  /** Replaces the HTTP provider (tests wrap it to crash at a chosen point). */
  readonly provider?: PaymentProvider;
  /** Lock and stalled-check intervals (tests shorten them to see a killed worker's job again quickly). */
  readonly lockDurationMs?: number;
  readonly stalledIntervalMs?: number;
  /** Whether this process also relays the outbox (default true). */
  readonly relay?: boolean;
}

const PURGE_INTERVAL_MS = 10 * 60_000;

/** The payment service's background process: settlement and refund workers plus the outbox relay. */
export function buildWorker(
  config: PaymentServiceConfig,
  logger: Logger,
  options: BuildWorkerOptions = {},
): PaymentWorker {
  const database = openPaymentDatabase({
    url: config.DATABASE_URL,
    poolMax: Math.min(config.DB_POOL_MAX, config.WORKER_CONCURRENCY * 2 + 2),
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    applicationName: `${SERVICE_NAME}-worker`,
    logger,
  });
  const cacheRedis = createRedisClient({
    url: config.REDIS_CACHE_URL,
    logger,
    name: 'payment-worker-cache',
    lazyConnect: true,
  });
  const balanceCache = createBalanceCache({
    redis: cacheRedis,
    logger,
    prefix: options.cacheKeyPrefix ?? BALANCE_CACHE_PREFIX,
    ttlSeconds: config.BALANCE_CACHE_TTL_SECONDS,
  });
  const eventsRedis = new Redis(config.REDIS_EVENTS_URL, { maxRetriesPerRequest: 1 });
  eventsRedis.on('error', (error: Error) => logger.warn({ err: error }, 'events redis error'));
  const publisher = new RealtimePublisher(eventsRedis);
  // The settlements finishing together announce together: one DEL and one PUBLISH pipeline for
  // many jobs instead of one round trip of each per job (both are idempotent, so a failed batch
  // written again one by one does no harm).
  const afterCommitBatching = { maxBatchSize: 100, maxConcurrentBatches: 2 };
  const invalidateBalances = groupCommit(async (userIdLists: ReadonlyArray<readonly string[]>) => {
    const reached = await balanceCache.invalidate(userIdLists.flat());
    return userIdLists.map(() => reached);
  }, afterCommitBatching);
  const publish = groupCommit(
    async (messages: ReadonlyArray<{ event: RealtimeEvent; recipients: readonly string[] }>) => {
      await publisher.publishAll(messages);
      return messages.map(() => undefined);
    },
    afterCommitBatching,
  );
  const effects: EffectSink = {
    invalidateBalances,
    publish: (event, recipients) => publish({ event, recipients }),
  };
  const provider =
    options.provider ??
    new PspHttpProvider({
      baseUrl: config.PSP_URL,
      apiKey: config.PSP_API_KEY.reveal(),
      timeoutMs: config.PSP_TIMEOUT_MS,
    });
  const connection = {
    connection: { url: config.REDIS_QUEUE_URL },
    ...(options.queuePrefix === undefined ? {} : { prefix: options.queuePrefix }),
  };
  const workerOptions = {
    ...connection,
    logger,
    concurrency: config.WORKER_CONCURRENCY,
    ...(options.lockDurationMs === undefined ? {} : { lockDurationMs: options.lockDurationMs }),
    ...(options.stalledIntervalMs === undefined
      ? {}
      : { stalledIntervalMs: options.stalledIntervalMs }),
  };
  const sql = poolRunner(database.pool);
  const settlement = createWorker(
    settlePaymentJob,
    settlePaymentProcessor({
      sql,
      accounts: new LedgerAccountDirectory(sql),
      provider,
      effects,
      feeBps: config.PLATFORM_FEE_BPS,
      // Two batches in flight: one can be written while the previous waits for its commit.
      batching: { maxBatchSize: config.SETTLEMENT_BATCH_MAX_SIZE, maxConcurrentBatches: 2 },
    }),
    {
      ...workerOptions,
      // A job carries up to a group of payments (relayed together); the bound is on payments.
      concurrency: Math.max(
        1,
        Math.ceil(config.SETTLEMENT_CONCURRENCY / (settlePaymentJob.grouping?.maxItems ?? 1)),
      ),
    },
  );
  const refunds = createWorker(
    processRefundJob,
    processRefundProcessor({ database: database.prisma, provider, effects }),
    workerOptions,
  );
  const relay =
    options.relay === false
      ? undefined
      : createOutboxRelay({
          // On the pool, not Prisma: an interactive transaction through Prisma cost the worker
          // more than the relay's statements themselves (@strata/queue, outbox.pool.ts).
          database: poolOutboxDatabase(database.pool),
          producer: connection,
          logger,
          minPollIntervalMs: config.OUTBOX_RELAY_INTERVAL_MS,
          maxPollIntervalMs: Math.max(200, config.OUTBOX_RELAY_INTERVAL_MS),
          groupedJobs: [settlePaymentJob],
        });

  let purgeTimer: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;
  return {
    settlement,
    refunds,
    start() {
      relay?.start();
      purgeTimer = setInterval(() => {
        purgeExpiredIdempotencyRecords(database.prisma).catch((error: unknown) =>
          logger.warn({ err: error }, 'idempotency purge failed'),
        );
      }, PURGE_INTERVAL_MS);
      purgeTimer.unref();
    },
    close() {
      closing ??= (async () => {
        clearInterval(purgeTimer);
        await Promise.all([settlement.close(), refunds.close()]);
        await relay?.stop();
        await balanceCache.drain();
        await closeRedis(cacheRedis);
        await eventsRedis.quit().catch(() => eventsRedis.disconnect());
        await database.close();
        // Only the provider built here: an injected one belongs to the caller.
        if (!options.provider) provider.close?.();
      })();
      return closing;
    },
  };
}
