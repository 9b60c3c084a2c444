import { z } from '@strata/config';
import { defineJob } from '@strata/queue';

/**
 * The `email` queue's job, as the notification worker (issue 7) consumes it. It belongs in a
 * shared place (next to the other job definitions every producer and worker import); it lives here
 * until it moves there, and nothing else in this service depends on where it is defined.
 */
export const EMAIL_QUEUE_NAME = 'email';

export const EMAIL_TEMPLATES = [
  'email-verification',
  'password-reset',
  'payment-receipt',
  'payment-received',
  'comment-on-article',
] as const;
export type EmailTemplate = (typeof EMAIL_TEMPLATES)[number];

interface EmailJobCommon {
  readonly template: EmailTemplate;
  /** Template variables; strings only, escaped by the renderer. */
  readonly data: Readonly<Record<string, string>>;
  /** Exactly one email is sent per key, however often the job is delivered. */
  readonly idempotencyKey: string;
}

/** Addressed by user id (resolved through GetUserContact at send time) or by raw address. */
export type EmailJobPayload =
  | (EmailJobCommon & { readonly toUserId: string; readonly toEmail?: never })
  | (EmailJobCommon & { readonly toEmail: string; readonly toUserId?: never });

const common = {
  template: z.enum(EMAIL_TEMPLATES),
  data: z.record(z.string(), z.string().max(10_000)),
  idempotencyKey: z.string().min(1).max(200),
};

export const emailJobSchema = z.union([
  z.strictObject({ ...common, toUserId: z.uuid() }),
  z.strictObject({ ...common, toEmail: z.email().max(254) }),
]);

export const sendEmailJob = defineJob<EmailJobPayload>({
  queue: EMAIL_QUEUE_NAME,
  name: 'send-email',
  schema: emailJobSchema,
});
