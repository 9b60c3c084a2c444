import { closeRedis, createRedisClient, waitUntilReady } from '@strata/cache';
import { type Logger } from '@strata/logger';
import { createOutboxRelay, createWorker, type ManagedWorker } from '@strata/queue';
import { SERVICE_NAME, type ContentServiceConfig } from './config';
import { openContentDatabase } from './database';
import { RedisRealtimePublisher } from './events/realtime-publisher';
import { LocalDirectoryStorage, type MediaStorage } from './media/media-storage';
import { processMediaJob } from './media/media.job';
import { MediaProcessor } from './media/media.processor';
import { outboxDatabase } from './outbox';

export interface ContentWorker {
  start(): Promise<void>;
  /** Stops the relay, lets active jobs finish (worker.close), then closes Redis and the database. */
  close(): Promise<void>;
  /** The BullMQ worker (tests wait on its events). */
  readonly mediaWorker: ManagedWorker;
}

export interface BuildWorkerOptions {
  /** BullMQ key prefix; tests use a unique one. Production keeps BullMQ's default. */
  readonly queuePrefix?: string;
  readonly storage?: MediaStorage;
}

/**
 * The content service's background process: relays committed outbox rows to BullMQ (media
 * processing, emails) and processes media. Scaled separately from the gRPC server.
 */
export function buildWorker(
  config: ContentServiceConfig,
  logger: Logger,
  options: BuildWorkerOptions = {},
): ContentWorker {
  const database = openContentDatabase({
    url: config.DATABASE_URL,
    // One connection per concurrent job, plus the relay's transaction.
    poolMax: config.MEDIA_WORKER_CONCURRENCY + 2,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    applicationName: `${SERVICE_NAME}-worker`,
    logger,
  });
  const eventsRedis = createRedisClient({
    url: config.REDIS_EVENTS_URL,
    logger,
    name: 'content-worker-events',
    lazyConnect: true,
    commandTimeoutMs: 500,
  });
  const queueSettings = {
    connection: { url: config.REDIS_QUEUE_URL },
    ...(options.queuePrefix === undefined ? {} : { prefix: options.queuePrefix }),
  };
  const relay = createOutboxRelay({
    database: outboxDatabase(database.prisma),
    producer: queueSettings,
    logger,
  });
  const processor = new MediaProcessor({
    database: database.prisma,
    storage: options.storage ?? new LocalDirectoryStorage(config.MEDIA_STORAGE_DIR),
    events: new RedisRealtimePublisher(eventsRedis, logger),
    logger,
    maxPixels: config.IMAGE_MAX_PIXELS,
  });
  const mediaWorker = createWorker(processMediaJob, (payload) => processor.process(payload), {
    ...queueSettings,
    logger,
    concurrency: config.MEDIA_WORKER_CONCURRENCY,
    workerName: 'content-media',
  });

  let closing: Promise<void> | undefined;
  return {
    mediaWorker,
    async start() {
      await waitUntilReady(eventsRedis, 1_000);
      relay.start();
      await mediaWorker.waitUntilReady();
    },
    close() {
      closing ??= (async () => {
        await relay.stop();
        await mediaWorker.close();
        await closeRedis(eventsRedis);
        await database.close();
      })();
      return closing;
    },
  };
}
