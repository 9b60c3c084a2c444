import { type Queue } from 'bullmq';
import { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { type Registry } from 'prom-client';
import { UserServiceClient } from '@strata/contracts';
import {
  createGrpcClient,
  createMetricsRegistry,
  startMetricsServer,
  type GrpcClient,
  type MetricsServer,
} from '@strata/grpc';
import { EMAIL_QUEUE, sendEmailJob } from '@strata/jobs';
import { type Logger } from '@strata/logger';
import {
  createProducer,
  createWorker,
  producerConnectionOptions,
  registerQueueMetrics,
  type ManagedWorker,
  type Producer,
  type QueueMetrics,
  type WatchdogOptions,
} from '@strata/queue';
import { buildAdminApp } from './admin/admin.app';
import { mailFromDomain, type NotificationConfig } from './config';
import { EmailProcessor } from './email/email.processor';
import { IdempotencyStore } from './email/idempotency.store';
import { RecipientResolver, type UserContactClient } from './email/recipient.resolver';
import { createSmtpSender, type EmailSender } from './email/smtp.sender';

export interface NotificationAppOptions {
  /** Replaces the gRPC user-service client (tests). */
  readonly users?: UserContactClient;
  /** Replaces the SMTP sender (tests, benchmarks). */
  readonly sender?: EmailSender;
  readonly watchdog?: WatchdogOptions | false;
  /** Shown in Redis CLIENT LIST and on processed jobs. */
  readonly workerName?: string;
  /** Lock duration / stalled check of the email worker (tests shorten them). */
  readonly lockDurationMs?: number;
  readonly stalledIntervalMs?: number;
}

export interface NotificationApp {
  /** Connects to Redis, starts the email worker, the admin app and the metrics endpoint. */
  start(): Promise<{ adminPort: number; metricsPort: number }>;
  /**
   * Stops taking jobs and waits for active ones (so a rolling restart leaves nothing stalled),
   * then closes the listeners and connections in reverse order of opening.
   */
  close(): Promise<void>;
  /** The email worker (available once started). */
  readonly emailWorker: ManagedWorker;
  /** Bound ports (useful with port 0). */
  readonly adminPort: number;
  readonly metricsPort: number;
  readonly registry: Registry;
}

function queueConnection(config: NotificationConfig) {
  return { connection: { url: config.REDIS_QUEUE_URL }, prefix: config.QUEUE_PREFIX };
}

/**
 * Key namespace of the idempotency records: under the BullMQ prefix (one place to look, cleaned up
 * with it), beside the queue's own keys (`<prefix>:email:*`) rather than inside them, so that
 * obliterating the queue does not forget which emails were sent.
 */
export function idempotencyNamespace(queuePrefix: string): string {
  return `${queuePrefix}:${EMAIL_QUEUE}-idempotency`;
}

/**
 * Builds the notification worker without doing any I/O: connections are opened by `start()`.
 */
export function buildNotificationApp(
  config: NotificationConfig,
  logger: Logger,
  options: NotificationAppOptions = {},
): NotificationApp {
  const registry = createMetricsRegistry();
  // Creating a gRPC client opens nothing: the channel connects on the first call.
  let grpcUsers: GrpcClient<UserServiceClient> | undefined;
  const users: UserContactClient =
    options.users ??
    (grpcUsers = createGrpcClient(UserServiceClient, {
      target: config.USER_SERVICE_URL,
      defaultDeadlineMs: config.USER_SERVICE_DEADLINE_MS,
    }));
  const sender =
    options.sender ??
    createSmtpSender({
      url: config.SMTP_URL.reveal(),
      from: config.MAIL_FROM,
      maxConnections: Math.min(config.SMTP_MAX_CONNECTIONS, config.EMAIL_WORKER_CONCURRENCY),
      timeoutMs: config.SMTP_TIMEOUT_MS,
    });
  // Fail fast like a producer: a claim that cannot reach Redis fails the attempt (retried later)
  // instead of waiting in an offline queue while the job's lock runs out.
  const { url, ...storeOptions } = producerConnectionOptions({ url: config.REDIS_QUEUE_URL });
  const storeRedis = new Redis(url ?? config.REDIS_QUEUE_URL, {
    ...storeOptions,
    lazyConnect: true,
    connectionName: 'notification-idempotency',
  });
  storeRedis.on('error', (error: Error) =>
    logger.debug({ err: error }, 'idempotency store connection error'),
  );
  const processor = new EmailProcessor({
    recipients: new RecipientResolver(users, config.USER_SERVICE_DEADLINE_MS),
    sender,
    store: new IdempotencyStore(storeRedis, {
      namespace: idempotencyNamespace(config.QUEUE_PREFIX),
      leaseMs: config.EMAIL_SEND_LEASE_MS,
      sentTtlMs: config.EMAIL_IDEMPOTENCY_TTL_DAYS * 24 * 3_600_000,
    }),
    messageIdDomain: mailFromDomain(config.MAIL_FROM),
    webUrl: config.PUBLIC_WEB_URL,
  });

  let producer: Producer | undefined;
  let worker: ManagedWorker | undefined;
  let metrics: QueueMetrics | undefined;
  let admin: FastifyInstance | undefined;
  let metricsServer: MetricsServer | undefined;
  let adminPort = 0;
  let closing: Promise<void> | undefined;

  async function closeAll(): Promise<void> {
    // The worker first: it drains active jobs, which still need SMTP, Redis and the user service.
    // Each step runs even if an earlier one failed, so nothing stays open; the first error wins.
    const steps: Array<() => unknown> = [
      () => worker?.close(),
      () => metrics?.stop(),
      () => admin?.close(),
      () => metricsServer?.close(),
      () => producer?.close(),
      () => storeRedis.quit().catch(() => storeRedis.disconnect()),
      () => grpcUsers?.close(),
      () => sender.close(),
    ];
    let firstError: Error | undefined;
    for (const step of steps) {
      try {
        await step();
      } catch (error) {
        logger.error({ err: error }, 'closing the notification app');
        firstError ??= error instanceof Error ? error : new Error(String(error));
      }
    }
    if (firstError !== undefined) throw firstError;
  }

  return {
    registry,
    get emailWorker() {
      if (!worker) throw new Error('notification app not started');
      return worker;
    },
    get adminPort() {
      return adminPort;
    },
    get metricsPort() {
      return metricsServer?.port ?? 0;
    },
    async start() {
      await storeRedis.connect();
      const queueProducer = createProducer({ ...queueConnection(config), logger });
      producer = queueProducer;
      const queueNames = [...new Set([EMAIL_QUEUE, ...config.QUEUE_NAMES])];
      const queues: Queue[] = queueNames.map((name) => queueProducer.queue(name));
      worker = createWorker(
        sendEmailJob,
        (payload, context) => processor.process(payload, context),
        {
          ...queueConnection(config),
          logger,
          concurrency: config.EMAIL_WORKER_CONCURRENCY,
          workerName: options.workerName ?? 'notification-email',
          ...(options.watchdog === undefined ? {} : { watchdog: options.watchdog }),
          ...(options.lockDurationMs === undefined
            ? {}
            : { lockDurationMs: options.lockDurationMs }),
          ...(options.stalledIntervalMs === undefined
            ? {}
            : { stalledIntervalMs: options.stalledIntervalMs }),
        },
      );
      metrics = registerQueueMetrics({ registry, logger, queues, workers: [worker] });
      const running = worker;
      admin = buildAdminApp({
        queues,
        credentials: {
          token: config.ADMIN_TOKEN,
          user: config.ADMIN_USER,
          password: config.ADMIN_PASSWORD,
        },
        logger,
        healthy: () => running.current.isRunning(),
      });
      await admin.listen({ host: config.ADMIN_HOST, port: config.ADMIN_PORT });
      const address = admin.server.address();
      adminPort = typeof address === 'object' && address !== null ? address.port : 0;
      metricsServer = await startMetricsServer({ port: config.METRICS_PORT, registry });
      await worker.waitUntilReady();
      return { adminPort, metricsPort: metricsServer.port };
    },
    close() {
      closing ??= closeAll();
      return closing;
    },
  };
}
