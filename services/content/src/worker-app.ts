import path from 'node:path';
import { type Logger } from '@strata/logger';
import { createOutboxRelay, createWorker, type ManagedWorker } from '@strata/queue';
import { SERVICE_NAME, mediaSandboxEnvironment, type ContentServiceConfig } from './config';
import { openContentDatabase } from './database';
import { processMediaJob } from './media/media.job';
import { outboxDatabase } from './outbox';

/**
 * The media processor runs sandboxed: decoding and resizing with sharp/libvips is CPU-heavy, and
 * in this process it would compete with BullMQ's lock renewals and stalled checks and with the
 * relay. In child processes rather than worker threads: a libvips crash or out-of-memory abort
 * on a hostile file then ends one child (the attempt fails and is retried), not the worker with
 * its other jobs; sharp in worker threads must be loaded by the main thread first and can bring
 * the process down when a thread is terminated mid-operation (lovell/sharp#2263), which BullMQ
 * does to stop threads; and libvips' thread pool and cache are per process. The cost is one Node
 * process per concurrent job, kept between jobs.
 *
 * The file sits next to this one: the `.ts` source under jest or tsx, the built `.js` in dist/.
 */
const MEDIA_SANDBOX_FILE = path.join(
  __dirname,
  'media',
  `media.sandbox${path.extname(__filename)}`,
);

export interface ContentWorker {
  start(): Promise<void>;
  /**
   * Stops the relay, lets active jobs finish (worker.close, which then stops the sandbox
   * children), then closes the database.
   */
  close(): Promise<void>;
  /** The BullMQ worker (tests wait on its events). */
  readonly mediaWorker: ManagedWorker;
}

export interface BuildWorkerOptions {
  /** BullMQ key prefix; tests use a unique one. Production keeps BullMQ's default. */
  readonly queuePrefix?: string;
}

/**
 * The content service's background process: relays committed outbox rows to BullMQ (media
 * processing, emails) and processes media in sandboxed children. Scaled separately from the
 * gRPC server.
 */
export function buildWorker(
  config: ContentServiceConfig,
  logger: Logger,
  options: BuildWorkerOptions = {},
): ContentWorker {
  const database = openContentDatabase({
    url: config.DATABASE_URL,
    // The relay's transaction, plus one spare. Media jobs use their sandbox's own connection.
    poolMax: 2,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    applicationName: `${SERVICE_NAME}-worker`,
    logger,
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
  const mediaWorker = createWorker(
    processMediaJob,
    {
      file: MEDIA_SANDBOX_FILE,
      useWorkerThreads: false,
      env: mediaSandboxEnvironment(config),
    },
    {
      ...queueSettings,
      logger,
      concurrency: config.MEDIA_WORKER_CONCURRENCY,
      workerName: 'content-media',
    },
  );

  let closing: Promise<void> | undefined;
  return {
    mediaWorker,
    async start() {
      relay.start();
      await mediaWorker.waitUntilReady();
    },
    close() {
      closing ??= (async () => {
        await relay.stop();
        await mediaWorker.close();
        await database.close();
      })();
      return closing;
    },
  };
}
