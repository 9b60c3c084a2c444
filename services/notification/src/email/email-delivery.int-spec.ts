import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { EMAIL_QUEUE, sendEmailJob, type EmailJobPayload } from '@strata/jobs';
import { groupItem, groupJobData } from '@strata/queue';
import { waitFor } from '@strata/testing';
import {
  FAST_RETRY,
  TEST_MAIL_FROM,
  startHarness,
  type Harness,
  type HarnessOptions,
} from '../testing/notification.harness';
import { smtpReply } from '../testing/smtp-test.server';
import { idempotencyNamespace } from '../notification-app';
import { messageIdFor, type EmailJobResult } from './email.processor';
import { IdempotencyStore } from './idempotency.store';
import { createSmtpSender } from './smtp.sender';

// Real Redis (unique prefix), a real SMTP server (smtp-server on a free port) and the user service
// over real gRPC; the worker is the whole notification app.

type CommentEmail = Extract<EmailJobPayload<'comment-on-article'>, { toEmail: string }>;

function commentEmail(): CommentEmail {
  return {
    toEmail: 'author@example.com',
    template: 'comment-on-article',
    data: {
      articleTitle: 'Tom & "Jerry" <3',
      articleSlug: 'tom-and-jerry',
      commentExcerpt: '<script>alert("x")</script> great read',
    },
    idempotencyKey: `comment-created:${randomUUID()}`,
  };
}

/** The same email addressed to a user id instead of an address. */
function toUser(payload: CommentEmail, userId: string): EmailJobPayload {
  const { toEmail: _toEmail, ...rest } = payload;
  return { ...rest, toUserId: userId };
}

describe('email delivery', () => {
  let current: Harness | undefined;
  const clients: Redis[] = [];
  /** A Redis client standing in for a worker process that died (closed after the test). */
  function deadWorkerRedis(harness: Harness): Redis {
    const client = new Redis(harness.redis.url);
    clients.push(client);
    return client;
  }
  const start = async (options?: HarnessOptions) => (current = await startHarness(options));
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.quit()));
    await current?.close();
    current = undefined;
  });

  it('resolves a user through the user service and sends an escaped HTML + text message', async () => {
    const harness = await start();
    const userId = harness.users.addUser({ email: 'ada@example.com', displayName: 'Ada <Admin>' });
    const key = `payment-receipt:${randomUUID()}`;
    const jobId = await harness.add({
      toUserId: userId,
      template: 'payment-receipt',
      data: { paymentId: 'pay_1', amountMinor: '123456', currency: 'EUR' },
      idempotencyKey: key,
    });

    const job = await harness.settled(jobId);
    expect(await job.getState()).toBe('completed');
    expect(job.returnvalue).toEqual({
      status: 'sent',
      messageId: messageIdFor(key, 'strata.test'),
    });
    expect(harness.smtp.messages).toHaveLength(1);
    const [message] = harness.smtp.messages;
    expect(message.envelopeTo).toEqual(['ada@example.com']);
    expect(message.parsed.from?.value).toEqual([
      { name: 'Strata', address: 'no-reply@strata.test' },
    ]);
    expect(message.parsed.subject).toBe('Receipt for your payment of 1,234.56 EUR');
    expect(message.parsed.messageId).toBe(messageIdFor(key, 'strata.test'));
    expect(message.parsed.html).toContain('Hi Ada &lt;Admin&gt;,');
    expect(message.parsed.text).toContain('Hi Ada <Admin>,');
    expect(message.parsed.text).toContain('Amount: 1,234.56 EUR');
  });

  it('escapes every variable in the HTML part of a raw-address email', async () => {
    const harness = await start();
    const jobId = await harness.add(commentEmail());
    expect(await (await harness.settled(jobId)).getState()).toBe('completed');
    const html = String(harness.smtp.messages[0].parsed.html);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; great read');
    expect(html).toContain('Tom &amp; &quot;Jerry&quot; &lt;3');
    expect(html).toContain('href="https://strata.test/articles/tom-and-jerry"');
    expect(harness.smtp.messages[0].parsed.text).toContain(
      '> <script>alert("x")</script> great read',
    );
  });

  it('sends one message when the same email job is delivered twice', async () => {
    const harness = await start();
    const payload = commentEmail();
    const first = await harness.add(payload);
    expect((await harness.settled(first)).returnvalue).toMatchObject({ status: 'sent' });
    // A second delivery of the same email: another job (a producer retried its enqueue, an outbox
    // row was relayed twice after its dedup window) carrying the same idempotency key.
    const second = await harness.add(payload);
    const job = await harness.settled(second);
    expect(await job.getState()).toBe('completed');
    expect(job.returnvalue).toMatchObject({ status: 'duplicate' });
    expect(harness.smtp.messages).toHaveLength(1);
  });

  it('sends one message when the same job runs again after completing (a retry from the dashboard)', async () => {
    const harness = await start();
    const jobId = await harness.add(commentEmail());
    const job = await harness.settled(jobId);
    expect(job.returnvalue).toMatchObject({ status: 'sent' });
    await job.retry('completed');
    await waitFor(async () => {
      const again = await harness.queue.getJob(jobId);
      return (again?.returnvalue as EmailJobResult | undefined)?.status === 'duplicate';
    }, 10_000);
    expect(harness.smtp.messages).toHaveLength(1);
  });

  it('sends one message when deliveries of the same key run concurrently', async () => {
    // The SMTP server holds each message 300 ms, so the other deliveries find the key claimed.
    const harness = await start({ smtp: { acceptDelayMs: 300 } });
    const payload = commentEmail();
    const jobIds = await Promise.all(Array.from({ length: 5 }, () => harness.add(payload)));
    const jobs = await Promise.all(jobIds.map((id) => harness.settled(id)));
    expect(await Promise.all(jobs.map((job) => job.getState()))).toEqual(
      Array(5).fill('completed'),
    );
    const statuses = jobs.map((job) => (job.returnvalue as { status: string }).status).sort();
    expect(statuses).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate', 'sent']);
    expect(harness.smtp.messages).toHaveLength(1);
    // Waiting for the other delivery did not spend attempts.
    expect(jobs.every((job) => job.attemptsMade <= 1)).toBe(true);
  });

  it('retries a transient SMTP failure (451) with backoff, then delivers once', async () => {
    const harness = await start({
      smtp: {
        onRecipient: (_address, attempt) =>
          attempt === 1 ? smtpReply(451, 'try again later') : undefined,
      },
    });
    const jobId = await harness.add(commentEmail());
    const job = await harness.settled(jobId);
    expect(await job.getState()).toBe('completed');
    expect(job.attemptsMade).toBe(2);
    expect(harness.smtp.recipientAttempts.get('author@example.com')).toBe(2);
    expect(harness.smtp.messages).toHaveLength(1);
    // The first attempt's failure was logged as retryable, with the SMTP reply.
    expect(harness.logs.text()).toMatch(/job attempt failed, will retry/);
    expect(harness.logs.text()).toMatch(/451/);
  });

  it('retries when the SMTP server refuses connections, then keeps the job in the failed set', async () => {
    const harness = await start();
    await harness.smtp.close(); // nothing listens on SMTP_URL's port any more
    const started = Date.now();
    const jobId = await harness.add(commentEmail());
    const job = await harness.settled(jobId);
    expect(await job.getState()).toBe('failed');
    expect(job.attemptsMade).toBe(FAST_RETRY.attempts);
    expect(job.failedReason).toMatch(/will retry.*ECONNECTION|ECONNREFUSED/);
    // Exponential backoff with jitter: at least half of 100 ms + 200 ms passed between attempts.
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(await harness.queue.getFailedCount()).toBe(1);
  });

  it('does not retry a recipient the SMTP server refuses (550)', async () => {
    const harness = await start({
      smtp: { onRecipient: () => smtpReply(550, 'no such user here') },
    });
    const jobId = await harness.add(commentEmail());
    const job = await harness.settled(jobId);
    expect(await job.getState()).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(
      /PermanentJobError: SMTP refused the message.*550 no such user/,
    );
    expect(await harness.queue.getFailedCount()).toBe(1);
    expect(harness.smtp.messages).toHaveLength(0);
  });

  it('does not retry an unknown template', async () => {
    const harness = await start();
    // Bypasses the producer-side validation, as a stale producer or a hand-made job would.
    const jobId = await harness.add({
      ...commentEmail(),
      template: 'newsletter',
    } as unknown as EmailJobPayload);
    const job = await harness.settled(jobId);
    expect(await job.getState()).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/InvalidJobPayloadError.*template/);
    expect(harness.smtp.recipientAttempts.size).toBe(0);
  });

  it('does not retry an unknown user or an invalid address', async () => {
    const harness = await start();
    const unknownUser = await harness.add(toUser(commentEmail(), randomUUID()));
    const invalidAddress = await harness.add({ ...commentEmail(), toEmail: 'not-an-address' });
    for (const jobId of [unknownUser, invalidAddress]) {
      const job = await harness.settled(jobId);
      expect(await job.getState()).toBe('failed');
      expect(job.attemptsMade).toBe(1);
    }
    expect((await harness.settled(unknownUser)).failedReason).toMatch(
      /PermanentJobError: user .*NOT_FOUND/,
    );
    expect(harness.smtp.recipientAttempts.size).toBe(0);
  });

  it('retries while the user service is unavailable', async () => {
    const harness = await start();
    const userId = harness.users.addUser({ email: 'grace@example.com', displayName: 'Grace' });
    harness.users.unavailable = true;
    const jobId = await harness.add(toUser(commentEmail(), userId), {
      ...FAST_RETRY,
      attempts: 10,
      backoff: { type: 'exponential', delay: 200, jitter: 0.5 },
    });
    // The gRPC client retries UNAVAILABLE a few times itself; wait for two failed job attempts.
    await waitFor(
      async () => ((await harness.queue.getJob(jobId))?.attemptsMade ?? 0) >= 2,
      20_000,
    );
    harness.users.unavailable = false;
    const job = await harness.settled(jobId);
    expect(await job.getState()).toBe('completed');
    expect(job.attemptsMade).toBeGreaterThanOrEqual(3);
    expect(harness.smtp.messages.map((message) => message.envelopeTo)).toEqual([
      ['grace@example.com'],
    ]);
    expect(harness.logs.text()).toMatch(/user service lookup failed \(UNAVAILABLE\), will retry/);
  });

  it('a group of emails (one job for a batch a producer wrote together): each is sent once, and a busy one is retried with its group', async () => {
    const harness = await start();
    const [first, second, busy] = [commentEmail(), commentEmail(), commentEmail()];
    // Another delivery of the third email holds its key for a while (e.g. a duplicate job).
    const store = new IdempotencyStore(deadWorkerRedis(harness), {
      namespace: idempotencyNamespace(harness.config.QUEUE_PREFIX),
      leaseMs: 1_500,
      sentTtlMs: 60_000,
    });
    expect((await store.claim(busy.idempotencyKey)).status).toBe('claimed');
    const items = await Promise.all(
      [first, second, busy].map((payload) =>
        groupItem(sendEmailJob, payload.idempotencyKey, payload),
      ),
    );
    const jobId = await harness.producer.addRaw(
      EMAIL_QUEUE,
      sendEmailJob.name,
      groupJobData(items),
      { ...FAST_RETRY, attempts: 10, backoff: { type: 'fixed', delay: 400 } },
    );

    const job = await harness.settled(jobId, 20_000);
    expect(await job.getState()).toBe('completed');
    // The first attempt sent two and failed the busy one alone: the retries ran only that one.
    expect(job.data).toEqual(groupJobData([items[2]]));
    expect(job.returnvalue).toEqual([
      { status: 'sent', messageId: messageIdFor(busy.idempotencyKey, 'strata.test') },
    ]);
    expect(harness.smtp.messages.map((message) => message.parsed.messageId).sort()).toEqual(
      [first, second, busy]
        .map((payload) => messageIdFor(payload.idempotencyKey, 'strata.test'))
        .sort(),
    );
  });

  it('documented limit: a sender that died after SMTP accepted and before recording it causes one duplicate, after the lease, with the same Message-ID', async () => {
    const harness = await start({ env: { EMAIL_SEND_LEASE_MS: '5000' } });
    const payload = commentEmail();
    // What the dead worker managed to do: claim the key, and get the message accepted.
    const store = new IdempotencyStore(deadWorkerRedis(harness), {
      namespace: idempotencyNamespace(harness.config.QUEUE_PREFIX),
      leaseMs: 5_000,
      sentTtlMs: 60_000,
    });
    expect((await store.claim(payload.idempotencyKey)).status).toBe('claimed');
    const claimedAt = Date.now();
    const sender = createSmtpSender({
      url: harness.smtp.url,
      from: TEST_MAIL_FROM,
      maxConnections: 1,
      timeoutMs: 5_000,
    });
    await sender.send({
      to: payload.toEmail,
      subject: 'sent by the worker that then died',
      html: '<p>x</p>',
      text: 'x',
      messageId: messageIdFor(payload.idempotencyKey, 'strata.test'),
    });
    sender.close();

    const job = await harness.settled(await harness.add(payload), 20_000);
    expect(job.returnvalue).toMatchObject({ status: 'sent' });
    // The redelivery waited for the lease instead of sending at once...
    expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(5_000);
    // ...then sent the duplicate, recognisable by its Message-ID.
    expect(harness.smtp.messages).toHaveLength(2);
    expect(new Set(harness.smtp.messageIds())).toEqual(
      new Set([messageIdFor(payload.idempotencyKey, 'strata.test')]),
    );
    expect(job.attemptsMade).toBeLessThanOrEqual(1);
  });
});
