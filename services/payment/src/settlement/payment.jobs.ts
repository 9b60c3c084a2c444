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
