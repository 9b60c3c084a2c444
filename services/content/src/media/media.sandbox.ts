// The `process-media` processor as BullMQ runs it: in a child process of the content worker
// (worker-app.ts says why), one job at a time per child. The child parses its own config from
// the environment its worker hands it (`mediaSandboxEnvironment`), opens its database pool and
// Redis client once and keeps them for every job it is given. BullMQ ends the child on
// worker.close() (after its job) or when the worker dies (the kit exits it when the IPC channel
// closes); its idle connections close with the process.
import { threadId } from 'node:worker_threads';
import { createRedisClient, waitUntilReady } from '@strata/cache';
import { loadConfig } from '@strata/config';
import { createLogger } from '@strata/logger';
import { sandboxedProcessor } from '@strata/queue';
import { SERVICE_NAME, mediaSandboxConfigSchema } from '../config';
import { openContentDatabase } from '../database';
import { RedisRealtimePublisher } from '../events/realtime-publisher';
import { LocalDirectoryStorage } from './media-storage';
import { type ProcessMediaResult, processMediaJob } from './media.job';
import { MediaProcessor } from './media.processor';

const NAME = `${SERVICE_NAME}-worker`;

// Thrown, not exited: BullMQ then reports the failed load (naming the variables) as the job's
// failure reason and in the worker's log.
const config = loadConfig(mediaSandboxConfigSchema);
const logger = createLogger({ name: NAME, level: config.LOG_LEVEL });
const database = openContentDatabase({
  url: config.DATABASE_URL,
  // One job at a time per child, and a job's statements run one after another.
  poolMax: 1,
  statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
  applicationName: `${SERVICE_NAME}-media`,
  logger,
});
const eventsRedis = createRedisClient({
  url: config.REDIS_EVENTS_URL,
  logger,
  name: 'content-media-events',
  commandTimeoutMs: 500,
});
// The client has no offline queue: a publish before it is ready fails. The first job waits for
// it (at most 1 s; after that publishes fail open, logged, as they do during an outage).
const eventsReady = waitUntilReady(eventsRedis, 1_000);
const processor = new MediaProcessor({
  database: database.prisma,
  storage: new LocalDirectoryStorage(config.MEDIA_STORAGE_DIR),
  events: new RedisRealtimePublisher(eventsRedis, logger),
  logger,
  maxPixels: config.IMAGE_MAX_PIXELS,
});

export default sandboxedProcessor(
  processMediaJob,
  logger,
  async (payload): Promise<ProcessMediaResult> => {
    await eventsReady;
    const { status } = await processor.process(payload);
    return { status, pid: process.pid, threadId };
  },
);
