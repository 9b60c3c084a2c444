// Processors are async by contract; in these tests most have nothing to await.
/* eslint-disable @typescript-eslint/require-await */
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { captureLogs, createLogger, currentContext, runWithContext } from '@strata/logger';
import { PermanentJobError, QueueUnavailableError, InvalidJobPayloadError } from './errors';
import { defineJob } from './job-definition';
import { createWorker, type ManagedWorker } from './job-worker';
import { createProducer, type Producer } from './producer';
import { registerQueueMetrics } from './queue-metrics';
import { freePort, waitFor } from '@strata/testing';
import { deletePrefix, testRedisConnection, uniquePrefix } from './testing/redis';

const connection = testRedisConnection();
// Short backoff so retries happen within the test; the shape (exponential + jitter) is the default.
const fastRetry = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 20, jitter: 0.5 },
} as const;

interface EmailPayload {
  toEmail: string;
  template: string;
}
const sendEmail = defineJob<EmailPayload>({
  queue: 'email',
  name: 'send-email',
  schema: (input) => {
    const { toEmail, template } = input as Partial<EmailPayload>;
    if (typeof toEmail !== 'string' || !toEmail.includes('@'))
      throw new Error('toEmail must be an address');
    if (typeof template !== 'string') throw new Error('template is required');
    return { toEmail, template };
  },
  defaults: fastRetry,
});

describe('producer and worker (real Redis)', () => {
  let prefix: string;
  let producer: Producer;
  let workers: ManagedWorker[];
  const logs = captureLogs();
  const logger = createLogger({ name: 'queue-int', destination: logs.stream, level: 'debug' });

  beforeEach(() => {
    prefix = uniquePrefix();
    producer = createProducer({ connection, prefix, logger });
    workers = [];
  });

  afterEach(async () => {
    await Promise.all(workers.map((worker) => worker.close()));
    await producer.close();
    await deletePrefix(prefix);
  });

  function startWorker(...args: Parameters<typeof createWorker<EmailPayload>>) {
    const worker = createWorker(...args);
    workers.push(worker);
    return worker;
  }

  it('delivers a typed payload and runs the processor in the request context of the producer', async () => {
    const seen: Array<{ payload: EmailPayload; requestId: string | undefined; attempt: number }> =
      [];
    const worker = startWorker(
      sendEmail,
      async (payload, context) => {
        seen.push({ payload, requestId: currentContext()?.requestId, attempt: context.attempt });
        context.logger.info('sending');
      },
      { connection, prefix, logger, concurrency: 2 },
    );
    await worker.waitUntilReady();
    const jobId = await runWithContext({ requestId: 'req-int-1' }, () =>
      producer.add(sendEmail, { toEmail: 'ada@example.com', template: 'welcome' }),
    );
    await waitFor(() => seen.length === 1, 10_000);
    expect(seen[0]).toEqual({
      payload: { toEmail: 'ada@example.com', template: 'welcome' },
      requestId: 'req-int-1',
      attempt: 1,
    });
    const sending = logs.lines().find((line) => line['msg'] === 'sending');
    expect(sending).toMatchObject({ requestId: 'req-int-1', jobId, queue: 'email' });
  });

  it('validates on the producer side before anything reaches Redis', async () => {
    await expect(
      producer.add(sendEmail, { toEmail: 'not-an-address', template: 'x' }),
    ).rejects.toBeInstanceOf(InvalidJobPayloadError);
    expect(await producer.queue('email').count()).toBe(0);
  });

  it('adds many jobs of one queue in one bulk, in order, and a second bulk of the same ids is a no-op', async () => {
    const jobs = ['a', 'b', 'c'].map((id) => ({
      name: 'send-email',
      data: { toEmail: `${id}@example.com`, template: 'welcome' },
      options: { jobId: `bulk-${id}`, attempts: 2 },
    }));
    await expect(producer.addRawBulk('email', jobs)).resolves.toEqual([
      'bulk-a',
      'bulk-b',
      'bulk-c',
    ]);
    await expect(producer.addRawBulk('email', jobs)).resolves.toEqual([
      'bulk-a',
      'bulk-b',
      'bulk-c',
    ]);
    const queue = producer.queue('email');
    expect(await queue.count()).toBe(3);
    const job = await queue.getJob('bulk-b');
    expect(job?.data).toEqual({ toEmail: 'b@example.com', template: 'welcome' });
    expect(job?.opts.attempts).toBe(2);
    await expect(producer.addRawBulk('email', [])).resolves.toEqual([]);
  });

  it('fails a bad payload at the worker boundary once, without retrying, and keeps it', async () => {
    const processor = jest.fn(async () => undefined);
    startWorker(sendEmail, processor, { connection, prefix, logger });
    // A payload written by something that skipped validation (an old producer, a tool).
    const jobId = await producer.addRaw('email', 'send-email', { toEmail: 42 }, { attempts: 5 });
    const queue = producer.queue('email');
    await waitFor(async () => (await queue.getJobState(jobId)) === 'failed', 10_000);
    const job = await queue.getJob(jobId);
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toMatch(/toEmail must be an address/);
    expect(processor).not.toHaveBeenCalled();
  });

  it('retries a transient failure with backoff, and does not retry a permanent one', async () => {
    const calls = new Map<string, number>();
    startWorker(
      sendEmail,
      async (payload) => {
        const count = (calls.get(payload.template) ?? 0) + 1;
        calls.set(payload.template, count);
        if (payload.template === 'permanent') throw new PermanentJobError('mailbox does not exist');
        if (payload.template === 'transient' && count < 3) throw new Error('SMTP 421 try later');
      },
      { connection, prefix, logger },
    );
    const transientId = await producer.add(sendEmail, {
      toEmail: 'a@example.com',
      template: 'transient',
    });
    const permanentId = await producer.add(sendEmail, {
      toEmail: 'b@example.com',
      template: 'permanent',
    });
    const queue = producer.queue('email');
    await waitFor(async () => (await queue.getJobState(transientId)) === 'completed', 10_000);
    await waitFor(async () => (await queue.getJobState(permanentId)) === 'failed', 10_000);
    expect(calls.get('transient')).toBe(3);
    expect(calls.get('permanent')).toBe(1);
    const failed = await queue.getJob(permanentId);
    expect(failed?.failedReason).toMatch(/PermanentJobError: mailbox does not exist/);
    // Failed jobs stay in the failed set for an operator.
    expect((await queue.getFailed()).map((job) => job.id)).toEqual([permanentId]);
    expect(logs.text()).toMatch(/job failed permanently/);
  });

  it('moves a job that keeps failing to the failed set after its attempts', async () => {
    let calls = 0;
    startWorker(
      sendEmail,
      async () => {
        calls += 1;
        throw new Error('SMTP connection refused');
      },
      { connection, prefix, logger },
    );
    const jobId = await producer.add(sendEmail, { toEmail: 'a@example.com', template: 'x' });
    const queue = producer.queue('email');
    await waitFor(async () => (await queue.getJobState(jobId)) === 'failed', 10_000);
    expect(calls).toBe(3);
    expect((await queue.getJob(jobId))?.attemptsMade).toBe(3);
  });

  it('fails fast when Redis cannot be reached', async () => {
    const closedPort = await freePort();
    const unreachable = createProducer({
      connection: { host: '127.0.0.1', port: closedPort },
      prefix,
      logger,
      readyTimeoutMs: 300,
    });
    try {
      const started = Date.now();
      await expect(
        unreachable.add(sendEmail, { toEmail: 'a@example.com', template: 'x' }),
      ).rejects.toBeInstanceOf(QueueUnavailableError);
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      await unreachable.close();
    }
  });

  it('close() during 100 running jobs lets them finish: none lost, none stalled', async () => {
    const completed = new Set<string>();
    const stalled: string[] = [];
    const worker = startWorker(
      sendEmail,
      async (_payload, context) => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        completed.add(context.jobId);
      },
      { connection, prefix, logger, concurrency: 100 },
    );
    worker.current.on('stalled', (jobId: string) => stalled.push(jobId));
    const queue = producer.queue('email');
    const ids = await Promise.all(
      Array.from({ length: 100 }, (_, index) =>
        producer.add(sendEmail, { toEmail: `u${index}@example.com`, template: 't' }),
      ),
    );
    await waitFor(async () => (await queue.getActiveCount()) >= 50, 10_000, 10);
    await worker.close();
    const counts = await queue.getJobCounts('active', 'wait', 'delayed', 'failed', 'completed');
    // Jobs not yet fetched when close() began stay waiting for the next worker: that is not a
    // loss. Every job that had started finished.
    expect(counts['active']).toBe(0);
    expect(counts['failed']).toBe(0);
    expect((counts['completed'] ?? 0) + (counts['wait'] ?? 0)).toBe(100);
    expect(completed.size).toBe(counts['completed']);
    expect(completed.size).toBeGreaterThanOrEqual(50);
    expect(stalled).toEqual([]);
    expect(ids).toHaveLength(100);
  });

  it('runs a sandboxed processor file in a child process', async () => {
    const definition = defineJob<{ n: number }>({
      queue: 'cpu',
      name: 'square',
      defaults: fastRetry,
    });
    const worker = createWorker(
      definition,
      { file: join(__dirname, 'testing', 'square.processor.js') },
      { connection, prefix, logger },
    );
    workers.push(worker);
    const jobId = await producer.add(definition, { n: 7 });
    const queue = producer.queue('cpu');
    await waitFor(async () => (await queue.getJobState(jobId)) === 'completed', 15_000);
    const job = await queue.getJob(jobId);
    expect(job?.returnvalue).toEqual({ square: 49, pid: expect.any(Number) as number });
    expect((job?.returnvalue as { pid: number }).pid).not.toBe(process.pid);
  });

  it('exports queue counts and processing times for Prometheus', async () => {
    const registry = new Registry();
    let release: () => void = () => undefined;
    const blocker = new Promise<void>((resolve) => {
      release = resolve;
    });
    const worker = startWorker(
      sendEmail,
      async (payload) => {
        if (payload.template === 'block') await blocker;
        if (payload.template === 'fail') throw new PermanentJobError('no');
      },
      { connection, prefix, logger },
    );
    const metrics = registerQueueMetrics({
      registry,
      logger,
      queues: [producer.queue('email')],
      workers: [worker],
    });
    try {
      const done = await producer.add(sendEmail, { toEmail: 'a@example.com', template: 'ok' });
      const failed = await producer.add(sendEmail, { toEmail: 'a@example.com', template: 'fail' });
      const queue = producer.queue('email');
      await waitFor(async () => (await queue.getJobState(done)) === 'completed', 10_000);
      await waitFor(async () => (await queue.getJobState(failed)) === 'failed', 10_000);
      await producer.add(sendEmail, { toEmail: 'a@example.com', template: 'block' });
      await producer.add(
        sendEmail,
        { toEmail: 'a@example.com', template: 'later' },
        { delay: 60_000 },
      );
      await producer.add(sendEmail, { toEmail: 'a@example.com', template: 'waiting' });
      await waitFor(async () => (await queue.getActiveCount()) === 1, 10_000);

      const text = await registry.metrics();
      expect(text).toContain('strata_queue_jobs{queue="email",state="active"} 1');
      expect(text).toContain('strata_queue_jobs{queue="email",state="waiting"} 1');
      expect(text).toContain('strata_queue_jobs{queue="email",state="delayed"} 1');
      expect(text).toContain('strata_queue_jobs{queue="email",state="failed"} 1');
      expect(text).toContain('strata_queue_up{queue="email"} 1');
      expect(text).toMatch(
        /strata_queue_job_duration_seconds_count\{queue="email",name="send-email",status="completed"\} 1/,
      );
      expect(text).toMatch(
        /strata_queue_job_duration_seconds_count\{queue="email",name="send-email",status="failed"\} 1/,
      );
    } finally {
      release();
      metrics.stop();
    }
  });
});
