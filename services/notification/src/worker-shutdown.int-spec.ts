import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { type EmailJobPayload } from '@strata/jobs';
import { waitFor } from '@strata/testing';
import {
  startHarness,
  TEST_ADMIN_TOKEN,
  TEST_MAIL_FROM,
  type Harness,
} from './testing/notification.harness';

// The real entry point (src/worker.ts) in a child process, stopped with SIGTERM while it has
// jobs in flight; a second worker (in-process) then finishes the queue.
jest.setTimeout(90_000);

const JOBS = 100;
const SERVICE_DIR = path.join(__dirname, '..');

function startWorkerProcess(harness: Harness): { child: ChildProcess; output: () => string } {
  const child = spawn(
    process.execPath,
    ['--conditions=@strata/source', '--import', 'tsx', 'src/worker.ts'],
    {
      cwd: SERVICE_DIR,
      env: {
        PATH: process.env['PATH'],
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        REDIS_QUEUE_URL: harness.redis.url,
        QUEUE_PREFIX: harness.redis.queuePrefix,
        USER_SERVICE_URL: harness.users.target,
        SMTP_URL: harness.smtp.url,
        MAIL_FROM: TEST_MAIL_FROM,
        PUBLIC_WEB_URL: 'https://strata.test',
        EMAIL_WORKER_CONCURRENCY: '20',
        ADMIN_HOST: '127.0.0.1',
        ADMIN_PORT: '0',
        ADMIN_TOKEN: TEST_ADMIN_TOKEN,
        METRICS_PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

function email(index: number): EmailJobPayload {
  return {
    toEmail: `reader-${index}@example.com`,
    template: 'password-reset',
    data: { token: `token-${index}` },
    idempotencyKey: `shutdown-test:${randomUUID()}`,
  };
}

describe('SIGTERM during running email jobs', () => {
  let harness: Harness | undefined;
  let child: ChildProcess | undefined;

  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    await harness?.close();
  });

  it('loses no job and leaves none stalled: the stopped worker drains, a second one finishes', async () => {
    // Each message is held 200 ms by the SMTP server, so SIGTERM lands with sends in flight.
    harness = await startHarness({
      smtp: { acceptDelayMs: 200 },
      startApp: false,
      app: { stalledIntervalMs: 1_000, lockDurationMs: 5_000 },
    });
    const h = harness;
    const worker = startWorkerProcess(h);
    child = worker.child;
    await waitFor(
      () => worker.output().includes('email worker, admin app and metrics started'),
      30_000,
      50,
    );

    await Promise.all(Array.from({ length: JOBS }, (_, index) => h.add(email(index))));
    await waitFor(() => h.smtp.messages.length >= 10, 30_000, 10);

    const inFlight = await h.queue.getActiveCount();
    const exited = new Promise<number | null>((resolve) => worker.child.once('exit', resolve));
    worker.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(inFlight).toBeGreaterThan(0);
    expect(worker.output()).toMatch(/"signal":"SIGTERM".*"msg":"shutting down"/);
    expect(worker.output()).toMatch(/"exitCode":0.*"msg":"stopped"/);

    // Nothing was left active: a job left active without a lock is what the stalled check reports.
    const counts = await h.queue.getJobCounts(
      'active',
      'completed',
      'waiting',
      'failed',
      'delayed',
    );
    expect(counts['active']).toBe(0);
    expect(counts['failed']).toBe(0);
    expect(counts['completed']).toBeGreaterThanOrEqual(10);
    expect(counts['completed']).toBeLessThan(JOBS);
    expect((counts['completed'] ?? 0) + (counts['waiting'] ?? 0) + (counts['delayed'] ?? 0)).toBe(
      JOBS,
    );
    // Every job the first worker completed was sent exactly once.
    expect(h.smtp.messages).toHaveLength(counts['completed'] ?? 0);

    // The second worker finishes the rest, and sees nothing stalled.
    await h.app.start();
    const stalled: string[] = [];
    h.app.emailWorker.current.on('stalled', (jobId: string) => stalled.push(jobId));
    await waitFor(async () => (await h.queue.getCompletedCount()) === JOBS, 60_000, 100);
    // Give the stalled check (every 1 s) a few rounds to run over the finished queue.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(stalled).toEqual([]);
    expect(await h.queue.getFailedCount()).toBe(0);
    expect(h.smtp.messages).toHaveLength(JOBS);
    expect(new Set(h.smtp.messages.map((message) => message.envelopeTo[0])).size).toBe(JOBS);
    expect(h.logs.text()).not.toMatch(/stalled/);
  });
});
