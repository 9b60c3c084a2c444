import { type JobProcessor, PermanentJobError } from '@strata/queue';
import { type PaymentDatabase } from '../database';
import { type PaymentProvider } from '../provider/payment-provider';
import { type EffectSink, runEffects } from '../settlement/effects';
import { applyRefundFailed, applyRefundSucceeded } from './refund-outcome';

export interface RefundProcessingDependencies {
  readonly database: PaymentDatabase;
  readonly provider: PaymentProvider;
  readonly effects: EffectSink;
}

/** The refund job: provider refund keyed by the refund id (so a re-run refunds once), then the ledger. */
export function processRefundProcessor(
  dependencies: RefundProcessingDependencies,
): JobProcessor<{ refundId: string }, string> {
  const { database, provider } = dependencies;
  return async ({ refundId }, context) => {
    const refund = await database.refund.findUnique({
      where: { id: refundId },
      include: { payment: true },
    });
    if (!refund) throw new PermanentJobError(`refund ${refundId} does not exist`);
    if (refund.status !== 'pending') return 'already-final';
    const chargeId = refund.payment.providerChargeId;
    if (chargeId === null)
      throw new PermanentJobError(`payment ${refund.paymentId} has no provider charge`);
    const outcome = await provider.refund({
      idempotencyKey: refund.id,
      chargeId,
      amountMinor: refund.amountMinor,
      reference: refund.id,
      ...(context.signal ? { signal: context.signal } : {}),
    });
    const effects = await database.$transaction((tx) =>
      outcome.status === 'succeeded'
        ? applyRefundSucceeded(tx, refundId, outcome.refundId)
        : applyRefundFailed(tx, refundId, outcome.reason),
    );
    await runEffects(effects, dependencies.effects, context.logger);
    return outcome.status;
  };
}
