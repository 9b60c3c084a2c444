import { z } from '@strata/config';
import { defineJob } from '@strata/queue';

/** Charges the provider for one payment and posts the ledger (src/settlement). */
export const settlePaymentJob = defineJob<{ paymentId: string }>({
  queue: 'payment-settlement',
  name: 'settle-payment',
  schema: z.strictObject({ paymentId: z.uuid() }),
  // Provider outages are ridden out with backoff; webhooks reconcile whatever is left.
  defaults: { attempts: 10, backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 } },
});

/** Refunds one refund at the provider and posts the reversing entries (src/refunds). */
export const processRefundJob = defineJob<{ refundId: string }>({
  queue: 'payment-refunds',
  name: 'process-refund',
  schema: z.strictObject({ refundId: z.uuid() }),
  defaults: { attempts: 10, backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 } },
});

/**
 * The notification worker's `email` job (issue 7), declared here as services/user does: same
 * queue, name and payload, until job definitions move to a shared place.
 */
export interface EmailJobPayload {
  readonly toUserId: string;
  readonly template: 'payment-receipt' | 'payment-received';
  readonly data: Readonly<Record<string, string>>;
  readonly idempotencyKey: string;
}

export const sendEmailJob = defineJob<EmailJobPayload>({
  queue: 'email',
  name: 'send-email',
  schema: z.strictObject({
    toUserId: z.uuid(),
    template: z.enum(['payment-receipt', 'payment-received']),
    data: z.record(z.string(), z.string().max(10_000)),
    idempotencyKey: z.string().min(1).max(200),
  }),
});
