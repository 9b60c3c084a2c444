import { z } from '@strata/config';
import { defineJob } from '@strata/queue';

/**
 * Charges the provider for one payment and posts the ledger (src/settlement). The relay publishes
 * the payments created together as one job of up to `grouping.maxItems` (job-group.ts of
 * @strata/queue): one BullMQ add, fetch and completion for the group. The processor still runs
 * once per payment and is idempotent per payment (settle-payment.usecase.ts), which is what a
 * group relayed twice after a relay crash needs.
 */
export const settlePaymentJob = defineJob<{ paymentId: string }>({
  queue: 'payment-settlement',
  name: 'settle-payment',
  schema: z.strictObject({ paymentId: z.uuid() }),
  // Provider outages are ridden out with backoff; webhooks reconcile whatever is left.
  defaults: { attempts: 10, backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 } },
  grouping: { maxItems: 20 },
});

/** Refunds one refund at the provider and posts the reversing entries (src/refunds). */
export const processRefundJob = defineJob<{ refundId: string }>({
  queue: 'payment-refunds',
  name: 'process-refund',
  schema: z.strictObject({ refundId: z.uuid() }),
  defaults: { attempts: 10, backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 } },
});
