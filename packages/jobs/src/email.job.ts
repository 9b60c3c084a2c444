import { z } from '@strata/config';
import { defineJob, type StandardSchemaV1 } from '@strata/queue';

/** The queue the notification worker consumes. */
export const EMAIL_QUEUE = 'email';
/** The one job name on {@link EMAIL_QUEUE}. */
export const EMAIL_JOB_NAME = 'send-email';

/** Every template the notification worker can render. */
export const EMAIL_TEMPLATES = [
  'email-verification',
  'password-reset',
  'payment-receipt',
  'payment-received',
  'comment-on-article',
] as const;
export type EmailTemplate = (typeof EMAIL_TEMPLATES)[number];

/**
 * Variables each template needs. Values are strings (amounts in minor units as decimal digits, so
 * no precision is lost on the way through JSON); the renderer escapes every one of them. Extra
 * keys are accepted and ignored, so a producer can start sending a new variable before the worker
 * that uses it is deployed.
 */
export interface EmailTemplateData {
  'email-verification': { readonly token: string };
  'password-reset': { readonly token: string };
  'payment-receipt': {
    readonly paymentId: string;
    readonly amountMinor: string;
    readonly currency: string;
    readonly articleId?: string;
  };
  'payment-received': {
    readonly paymentId: string;
    readonly amountMinor: string;
    /** What the payee gets after the platform fee. */
    readonly netAmountMinor: string;
    readonly currency: string;
    readonly articleId?: string;
  };
  'comment-on-article': {
    readonly articleTitle: string;
    readonly articleSlug: string;
    readonly commentExcerpt: string;
  };
}

/** Addressed by user id (resolved through the user service's GetUserContact at send time) or by raw address. */
export type EmailRecipient =
  | { readonly toUserId: string; readonly toEmail?: never }
  | { readonly toEmail: string; readonly toUserId?: never };

/** The `email` job's payload; `EmailJobPayload<'password-reset'>` narrows it to one template. */
export type EmailJobPayload<Template extends EmailTemplate = EmailTemplate> = {
  [Name in Template]: EmailRecipient & {
    readonly template: Name;
    readonly data: EmailTemplateData[Name] & Readonly<Record<string, string>>;
    /**
     * Exactly one email is sent per key, however often the job is delivered or retried. Derive it
     * from the business event (`payment-receipt:<paymentId>`), not from the attempt.
     */
    readonly idempotencyKey: string;
  };
}[Template];

const MAX_VALUE_LENGTH = 10_000;
const text = z.string().min(1).max(MAX_VALUE_LENGTH);
const minorUnits = z.string().regex(/^\d{1,30}$/, 'expected an amount in minor units (digits)');
const currency = z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 currency code');

const TEMPLATE_DATA_SCHEMAS = {
  'email-verification': z.object({ token: text }),
  'password-reset': z.object({ token: text }),
  'payment-receipt': z.object({
    paymentId: text,
    amountMinor: minorUnits,
    currency,
    articleId: text.optional(),
  }),
  'payment-received': z.object({
    paymentId: text,
    amountMinor: minorUnits,
    netAmountMinor: minorUnits,
    currency,
    articleId: text.optional(),
  }),
  'comment-on-article': z.object({
    articleTitle: text,
    articleSlug: text,
    commentExcerpt: text,
  }),
} satisfies Record<EmailTemplate, z.ZodType>;

// One envelope plus refinements rather than a union of ten objects: zod reports a union failure
// as a bare "Invalid input", while this names the field that is wrong.
const envelope = z
  .strictObject({
    toUserId: z.uuid().optional(),
    toEmail: z.email().max(254).optional(),
    template: z.enum(EMAIL_TEMPLATES),
    data: z.record(z.string(), z.string().max(MAX_VALUE_LENGTH)),
    idempotencyKey: z.string().min(1).max(200),
  })
  .superRefine((value, context) => {
    if ((value.toUserId === undefined) === (value.toEmail === undefined)) {
      context.addIssue({
        code: 'custom',
        path: ['toUserId'],
        message: 'exactly one of toUserId and toEmail is required',
      });
    }
    const data = TEMPLATE_DATA_SCHEMAS[value.template].safeParse(value.data);
    if (!data.success) {
      for (const issue of data.error.issues) {
        context.addIssue({ code: 'custom', path: ['data', ...issue.path], message: issue.message });
      }
    }
  });

/**
 * The payload schema as a Standard Schema whose output is {@link EmailJobPayload}. zod cannot
 * infer that type from the envelope (the per-template data and the either-or recipient are
 * refinements), so the one cast lives here, right after the refinements that justify it.
 */
export const emailJobSchema: StandardSchemaV1<unknown, EmailJobPayload> = {
  '~standard': {
    version: 1,
    vendor: 'strata',
    validate(input) {
      const result = envelope.safeParse(input);
      if (result.success) return { value: result.data as EmailJobPayload };
      return {
        issues: result.error.issues.map((issue) => ({ message: issue.message, path: issue.path })),
      };
    },
  },
};

/**
 * The `email` job. Retries ride out an SMTP or user-service outage of a few minutes (8 attempts,
 * delays drawn from [1, 2] s doubling up to [64, 128] s); after that the job stays in the failed
 * set for the operations CLI.
 */
export const sendEmailJob = defineJob<EmailJobPayload>({
  queue: EMAIL_QUEUE,
  name: EMAIL_JOB_NAME,
  schema: emailJobSchema,
  defaults: { attempts: 8, backoff: { type: 'exponential', delay: 2_000, jitter: 0.5 } },
  // A producer that writes many emails in one transaction (the payment service: two receipts per
  // payment settled, a batch of payments per statement) may write them as one outbox row and one
  // job (@strata/queue's job-group.ts): one BullMQ add, fetch and completion for the batch. Each
  // email keeps its own idempotency key; a few are sent at once per job.
  grouping: { maxItems: 100, concurrency: 4 },
});
