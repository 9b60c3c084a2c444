import { randomUUID } from 'node:crypto';
import { InvalidJobPayloadError, jobOptionsFor } from '@strata/queue';
import { EMAIL_TEMPLATES, sendEmailJob, type EmailJobPayload } from './index';

const userId = randomUUID();

async function issuesOf(input: unknown): Promise<string> {
  const failure = await sendEmailJob.parse(input).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(InvalidJobPayloadError);
  return (failure as InvalidJobPayloadError).issues.join('\n');
}

describe('sendEmailJob', () => {
  it('is the email queue job the producers already enqueue (same queue and name)', () => {
    expect(sendEmailJob.queue).toBe('email');
    expect(sendEmailJob.name).toBe('send-email');
    expect(EMAIL_TEMPLATES).toEqual([
      'email-verification',
      'password-reset',
      'payment-receipt',
      'payment-received',
      'comment-on-article',
    ]);
  });

  // Literal shapes of what services/user, services/payment and services/content enqueue today.
  const producedToday: EmailJobPayload[] = [
    {
      toUserId: userId,
      template: 'email-verification',
      data: { token: 'opaque-token' },
      idempotencyKey: `email-verification:${randomUUID()}`,
    },
    {
      toUserId: userId,
      template: 'password-reset',
      data: { token: 'opaque-token' },
      idempotencyKey: `password-reset:${randomUUID()}`,
    },
    {
      toUserId: userId,
      template: 'payment-receipt',
      data: {
        paymentId: randomUUID(),
        amountMinor: '1250',
        currency: 'EUR',
        articleId: randomUUID(),
      },
      idempotencyKey: `payment-receipt:${randomUUID()}`,
    },
    {
      toUserId: userId,
      template: 'payment-received',
      data: {
        paymentId: randomUUID(),
        amountMinor: '1250',
        currency: 'EUR',
        netAmountMinor: '1150',
      },
      idempotencyKey: `payment-received:${randomUUID()}`,
    },
    {
      toUserId: userId,
      template: 'comment-on-article',
      data: { articleTitle: 'Title', articleSlug: 'title', commentExcerpt: 'Nice <b>post</b>' },
      idempotencyKey: `comment-created:${randomUUID()}`,
    },
  ];

  it.each(producedToday)('accepts what producers send today: $template', async (payload) => {
    await expect(sendEmailJob.parse(payload)).resolves.toEqual(payload);
  });

  it('accepts a raw address instead of a user id', async () => {
    const payload: EmailJobPayload<'email-verification'> = {
      toEmail: 'someone@example.com',
      template: 'email-verification',
      data: { token: 't' },
      idempotencyKey: 'k',
    };
    await expect(sendEmailJob.parse(payload)).resolves.toEqual(payload);
  });

  it('requires exactly one recipient', async () => {
    const base = { template: 'password-reset', data: { token: 't' }, idempotencyKey: 'k' };
    expect(await issuesOf(base)).toMatch(/toUserId: exactly one of toUserId and toEmail/);
    expect(await issuesOf({ ...base, toUserId: userId, toEmail: 'someone@example.com' })).toMatch(
      /exactly one/,
    );
  });

  it('refuses an unknown template, a bad address and unknown top-level fields', async () => {
    expect(
      await issuesOf({ toUserId: userId, template: 'newsletter', data: {}, idempotencyKey: 'k' }),
    ).toMatch(/^template: /m);
    expect(
      await issuesOf({
        toEmail: 'not an address',
        template: 'password-reset',
        data: { token: 't' },
        idempotencyKey: 'k',
      }),
    ).toMatch(/^toEmail: /m);
    expect(
      await issuesOf({
        toUserId: userId,
        template: 'password-reset',
        data: { token: 't' },
        idempotencyKey: 'k',
        cc: 'x@example.com',
      }),
    ).toMatch(/cc/);
  });

  it('names the missing or malformed template variable', async () => {
    const issues = await issuesOf({
      toUserId: userId,
      template: 'payment-receipt',
      data: { paymentId: 'p', amountMinor: '12.50', currency: 'eur' },
      idempotencyKey: 'k',
    });
    expect(issues).toMatch(/^data\.amountMinor: expected an amount in minor units/m);
    expect(issues).toMatch(/^data\.currency: expected an ISO 4217 currency code/m);
    expect(
      await issuesOf({
        toUserId: userId,
        template: 'comment-on-article',
        data: { articleTitle: 'T', articleSlug: 's' },
        idempotencyKey: 'k',
      }),
    ).toMatch(/^data\.commentExcerpt: /m);
  });

  it('refuses an empty or oversized idempotency key', async () => {
    const base = { toUserId: userId, template: 'password-reset', data: { token: 't' } };
    expect(await issuesOf({ ...base, idempotencyKey: '' })).toMatch(/^idempotencyKey: /m);
    expect(await issuesOf({ ...base, idempotencyKey: 'k'.repeat(201) })).toMatch(
      /^idempotencyKey: /m,
    );
  });

  it('retries for minutes with exponential backoff and jitter, and keeps failed jobs', () => {
    expect(jobOptionsFor(sendEmailJob)).toMatchObject({
      attempts: 8,
      backoff: { type: 'exponential', delay: 2_000, jitter: 0.5 },
      removeOnFail: false,
    });
  });
});
