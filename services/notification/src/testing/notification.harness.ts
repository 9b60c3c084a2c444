// Test helper (not built): the whole notification worker in-process, against the shared test
// Redis (unique prefix), a real SMTP server and an in-process user service.
import { Job, type JobsOptions, type Queue } from 'bullmq';
import { loadConfig } from '@strata/config';
import { EMAIL_QUEUE, sendEmailJob, type EmailJobPayload } from '@strata/jobs';
import { captureLogs, createLogger, type CapturedLogs, type Logger } from '@strata/logger';
import { createProducer, jobOptionsFor, type Producer } from '@strata/queue';
import { createTestRedis, waitFor, type TestRedis } from '@strata/testing';
import { notificationConfigSchema, type NotificationConfig } from '../config';
import {
  buildNotificationApp,
  type NotificationApp,
  type NotificationAppOptions,
} from '../notification-app';
import { startFakeUserServer, type FakeUserServer } from './fake-user.server';
import {
  startTestSmtpServer,
  type TestSmtpServer,
  type TestSmtpServerOptions,
} from './smtp-test.server';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
export const TEST_MAIL_FROM = 'Strata <no-reply@strata.test>';

/** Fast retries for tests: 3 attempts, exponential from 100 ms with jitter. */
export const FAST_RETRY: JobsOptions = {
  ...jobOptionsFor(sendEmailJob),
  attempts: 3,
  backoff: { type: 'exponential', delay: 100, jitter: 0.5 },
};

export function testConfig(variables: Record<string, string>): NotificationConfig {
  return loadConfig(notificationConfigSchema, {
    LOG_LEVEL: 'warn',
    MAIL_FROM: TEST_MAIL_FROM,
    PUBLIC_WEB_URL: 'https://strata.test',
    ADMIN_HOST: '127.0.0.1',
    ADMIN_PORT: '0',
    METRICS_PORT: '0',
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    EMAIL_WORKER_CONCURRENCY: '5',
    SMTP_TIMEOUT_MS: '5000',
    ...variables,
  });
}

export interface HarnessOptions {
  readonly smtp?: TestSmtpServerOptions;
  /** Overrides of configuration variables (strings, as in the environment). */
  readonly env?: Record<string, string>;
  readonly app?: NotificationAppOptions;
  /** Do not start the app (tests that start their own workers). */
  readonly startApp?: boolean;
}

export interface Harness {
  readonly redis: TestRedis;
  readonly smtp: TestSmtpServer;
  readonly users: FakeUserServer;
  readonly config: NotificationConfig;
  readonly app: NotificationApp;
  readonly producer: Producer;
  readonly queue: Queue;
  readonly logs: CapturedLogs;
  readonly logger: Logger;
  /** Enqueues an email job as a producer would; resolves to its id. */
  add(payload: EmailJobPayload, options?: JobsOptions): Promise<string>;
  /** Waits until the job is completed or failed (for good) and returns it. */
  settled(jobId: string, timeoutMs?: number): Promise<Job>;
  close(): Promise<void>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const redis = await createTestRedis({ name: 'notification' });
  const smtp = await startTestSmtpServer(options.smtp);
  const users = await startFakeUserServer();
  const config = testConfig({
    REDIS_QUEUE_URL: redis.url,
    QUEUE_PREFIX: redis.queuePrefix,
    USER_SERVICE_URL: users.target,
    SMTP_URL: smtp.url,
    ...options.env,
  });
  const logs = captureLogs();
  const logger = createLogger({
    name: 'notification-test',
    level: 'info',
    destination: logs.stream,
  });
  const app = buildNotificationApp(config, logger, options.app);
  const producer = createProducer({
    connection: { url: redis.url },
    prefix: redis.queuePrefix,
    logger,
  });
  const queue = producer.queue(EMAIL_QUEUE);
  if (options.startApp ?? true) await app.start();

  return {
    redis,
    smtp,
    users,
    config,
    app,
    producer,
    queue,
    logs,
    logger,
    async add(payload, jobOptions = FAST_RETRY) {
      return producer.addRaw(EMAIL_QUEUE, sendEmailJob.name, payload, jobOptions);
    },
    async settled(jobId, timeoutMs = 20_000) {
      let found: Job | undefined;
      await waitFor(
        async () => {
          const state = await queue.getJobState(jobId);
          if (state !== 'completed' && state !== 'failed') return false;
          found = await Job.fromId(queue, jobId);
          return found !== undefined;
        },
        timeoutMs,
        50,
      );
      return found!;
    },
    async close() {
      await app.close();
      await producer.close();
      await users.close();
      await smtp.close();
      await redis.cleanup();
    },
  };
}
