import { closeRedis, createRedisClient, waitUntilReady } from '@strata/cache';
import { PaymentServiceService, UserServiceClient } from '@strata/contracts';
import { createGrpcClient, createGrpcServer, createServerLifecycle } from '@strata/grpc';
import { type Logger } from '@strata/logger';
import { groupCommit } from '@strata/runtime';
import { Redis } from 'ioredis';
import { BALANCE_CACHE_PREFIX, createBalanceCache } from './balances/balance-cache';
import { SERVICE_NAME, type PaymentServiceConfig } from './config';
import { openPaymentDatabase } from './database';
import { RealtimePublisher } from './events/realtime.publisher';
import { paymentServiceHandlers } from './grpc/payment.handlers';
import { insertPayments, type PaymentInsert } from './payments/create-payment.repository';
import { UserServicePayeeDirectory } from './payments/payee-directory';
import { type EffectSink } from './settlement/effects';

export interface PaymentApp {
  /** Binds the gRPC server (and the metrics endpoint when configured). */
  start(): Promise<{ port: number }>;
  /** Health NOT_SERVING → drain gRPC → metrics → clients → database; safe to call twice. */
  close(): Promise<void>;
}

export interface BuildAppOptions {
  /** Tests give each suite its own Redis key prefix. */
  readonly cacheKeyPrefix?: string;
  readonly shutdownGraceMs?: number;
}

/** Builds the service without I/O: pools and clients connect lazily, the server binds in start(). */
export function buildApp(
  config: PaymentServiceConfig,
  logger: Logger,
  options: BuildAppOptions = {},
): PaymentApp {
  const database = openPaymentDatabase({
    url: config.DATABASE_URL,
    poolMax: config.DB_POOL_MAX,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    applicationName: SERVICE_NAME,
    logger,
  });
  const cacheRedis = createRedisClient({
    url: config.REDIS_CACHE_URL,
    logger,
    name: 'payment-cache',
    lazyConnect: true,
  });
  const balanceCache = createBalanceCache({
    redis: cacheRedis,
    logger,
    prefix: options.cacheKeyPrefix ?? BALANCE_CACHE_PREFIX,
    ttlSeconds: config.BALANCE_CACHE_TTL_SECONDS,
  });
  // Webhooks can settle payments, so the server publishes events too.
  const eventsRedis = new Redis(config.REDIS_EVENTS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
  });
  eventsRedis.on('error', (error: Error) => logger.warn({ err: error }, 'events redis error'));
  const publisher = new RealtimePublisher(eventsRedis);
  const effects: EffectSink = {
    invalidateBalances: (userIds) => balanceCache.invalidate(userIds),
    publish: (event, recipients) => publisher.publish(event, recipients),
  };
  const users = createGrpcClient(UserServiceClient, {
    target: config.USER_SERVICE_URL,
    defaultDeadlineMs: 1_000,
  });

  const server = createGrpcServer({
    name: SERVICE_NAME,
    logger,
    host: config.PAYMENT_GRPC_HOST,
    port: config.PAYMENT_GRPC_PORT,
    // PostgreSQL decides readiness; the balance cache fails open.
    readiness: () => database.ping(),
  });
  server.addService(
    PaymentServiceService,
    paymentServiceHandlers({
      database: database.prisma,
      balanceCache,
      createPayment: {
        database: database.prisma,
        // The creates that arrive while earlier ones are being written go together as one
        // statement and one commit, two statements in flight at most; nothing waits for a timer.
        insertPayment: groupCommit(
          (inserts: readonly PaymentInsert[]) => insertPayments(database.pool, inserts),
          {
            maxBatchSize: config.CREATE_PAYMENT_BATCH_MAX_SIZE,
            maxConcurrentBatches: 2,
            lingerMs: config.CREATE_PAYMENT_BATCH_LINGER_MS,
          },
        ),
        payees: new UserServicePayeeDirectory(users),
        settings: {
          minAmount: config.PAYMENT_MIN_AMOUNT,
          maxAmount: config.PAYMENT_MAX_AMOUNT,
          currencies: config.PAYMENT_CURRENCIES,
          idempotencyTtlHours: config.IDEMPOTENCY_KEY_TTL_HOURS,
        },
      },
      createRefund: {
        database: database.prisma,
        idempotencyTtlHours: config.IDEMPOTENCY_KEY_TTL_HOURS,
      },
      webhooks: {
        database: database.prisma,
        effects,
        secret: config.PSP_WEBHOOK_SECRET.reveal(),
        toleranceSeconds: config.PSP_WEBHOOK_TOLERANCE_SECONDS,
        feeBps: config.PLATFORM_FEE_BPS,
        logger,
      },
    }),
  );

  const lifecycle = createServerLifecycle(server, {
    metricsPort: config.METRICS_PORT,
    shutdownGraceMs: options.shutdownGraceMs,
  });
  let closing: Promise<void> | undefined;
  return {
    async start() {
      await waitUntilReady(cacheRedis, 1_000);
      await eventsRedis
        .connect()
        .catch((error: unknown) => logger.warn({ err: error }, 'events redis not reachable yet'));
      return { port: await lifecycle.start() };
    },
    close() {
      closing ??= (async () => {
        await lifecycle.stop();
        users.close();
        await balanceCache.drain();
        await closeRedis(cacheRedis);
        await eventsRedis.quit().catch(() => eventsRedis.disconnect());
        await database.close();
      })();
      return closing;
    },
  };
}
