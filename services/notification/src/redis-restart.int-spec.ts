import { randomUUID } from 'node:crypto';
import { EMAIL_QUEUE, sendEmailJob, type EmailJobPayload } from '@strata/jobs';
import { captureLogs, createLogger } from '@strata/logger';
import { createProducer, jobOptionsFor, type Producer } from '@strata/queue';
import { PrivateRedis, waitFor } from '@strata/testing';
import { buildNotificationApp, type NotificationApp } from './notification-app';
import { startFakeUserServer, type FakeUserServer } from './testing/fake-user.server';
import { FAST_RETRY, testConfig } from './testing/notification.harness';
import { startTestSmtpServer, type TestSmtpServer } from './testing/smtp-test.server';

// A redis-server of this test's own (never the shared one) is killed and started again on the
// same port under a running worker with the production watchdog settings.
jest.setTimeout(90_000);

const PRODUCTION_RETRY = jobOptionsFor(sendEmailJob);

function email(label: string): EmailJobPayload {
  return {
    toEmail: `${label}@example.com`,
    template: 'email-verification',
    data: { token: label },
    idempotencyKey: `restart-test:${label}:${randomUUID()}`,
  };
}

describe('Redis restarted under a running email worker', () => {
  let redis: PrivateRedis;
  let smtp: TestSmtpServer;
  let users: FakeUserServer;
  let app: NotificationApp;
  let producer: Producer;

  beforeEach(async () => {
    redis = await PrivateRedis.start();
    smtp = await startTestSmtpServer();
    users = await startFakeUserServer();
  });

  afterEach(async () => {
    await app.close();
    await producer.close();
    await users.close();
    await smtp.close();
    await redis.stop();
  });

  it('consumes again within 30 s, with no manual action', async () => {
    const logs = captureLogs();
    // A failure of the waits below is rare and load-dependent: keep what the worker and its
    // watchdog logged, and how far delivery got.
    const withLogs = (error: unknown): never => {
      throw new Error(
        `${String(error)}; ${smtp.messages.length} message(s) delivered; logs:\n${logs.text()}`,
      );
    };
    const logger = createLogger({ name: 'restart-test', level: 'info', destination: logs.stream });
    const config = testConfig({
      REDIS_QUEUE_URL: redis.url,
      USER_SERVICE_URL: users.target,
      SMTP_URL: smtp.url,
    });
    app = buildNotificationApp(config, logger); // default watchdog: the production settings
    producer = createProducer({ connection: { url: redis.url }, logger, readyTimeoutMs: 500 });
    await app.start();

    await producer.addRaw(EMAIL_QUEUE, sendEmailJob.name, email('before'), FAST_RETRY);
    await waitFor(() => smtp.messages.length === 1, 10_000);

    // A crash: connections drop without a goodbye, and the data is gone (no AOF here).
    await redis.stop();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await redis.restart();
    const restartedAt = Date.now();

    // Producers in other services keep offering jobs; the first that Redis takes must be consumed.
    // With the production retries: the worker's and the idempotency store's connections come back
    // on their own jittered schedules, up to a second or more apart under load, and an attempt
    // made in between fails. FAST_RETRY's three attempts within ~0.3 s could all land in that gap
    // (reproduced by delaying the store's reconnect: the job failed permanently, test at 34 s).
    await waitFor(
      async () => {
        try {
          await producer.addRaw(EMAIL_QUEUE, sendEmailJob.name, email('after'), PRODUCTION_RETRY);
          return true;
        } catch {
          return false;
        }
      },
      20_000,
      200,
    ).catch(withLogs);
    await waitFor(() => smtp.messages.length === 2, 30_000, 100).catch(withLogs);
    const elapsedMs = Date.now() - restartedAt;

    expect(elapsedMs).toBeLessThan(30_000);
    expect(smtp.messages.map((message) => message.envelopeTo[0])).toEqual([
      'before@example.com',
      'after@example.com',
    ]);
    // The admin app kept serving throughout; the metrics see the queue again once their next
    // collection runs after the restart (they are sampled, not live), so poll for a bounded time.
    let metrics = '';
    await waitFor(
      async () => {
        metrics = await fetch(`http://127.0.0.1:${app.metricsPort}/metrics`).then((response) =>
          response.text(),
        );
        return metrics.includes('strata_queue_up{queue="email"} 1');
      },
      10_000,
      200,
    ).catch(() => undefined);
    expect(metrics).toContain('strata_queue_up{queue="email"} 1');
  });
});
