import { type JobProcessor, PermanentJobError } from '@strata/queue';
import { type PaymentDatabase } from '../database';
import { type PaymentProvider } from '../provider/payment-provider';
import { applyChargeFailed, applyChargeSucceeded } from './charge-outcome';
import { type EffectSink, runEffects } from './effects';

export interface SettlementDependencies {
  readonly database: PaymentDatabase;
  readonly provider: PaymentProvider;
  readonly effects: EffectSink;
  readonly feeBps: number;
}

export type SettlementResult = 'settled' | 'failed' | 'already-final';

/**
 * The settlement job. Crash-safe by construction: the provider call uses the payment id as its
 * idempotency key, so a job re-run after a crash anywhere (before the charge, after it, before the
 * commit) gets the same charge back instead of a second one, and the ledger transition happens in
 * one database transaction guarded by the payment's row lock and status.
 */
export function settlePaymentProcessor(
  dependencies: SettlementDependencies,
): JobProcessor<{ paymentId: string }, SettlementResult> {
  const { database, provider } = dependencies;
  return async ({ paymentId }, context) => {
    const payment = await database.payment.findUnique({ where: { id: paymentId } });
    if (!payment) throw new PermanentJobError(`payment ${paymentId} does not exist`);
    if (payment.status !== 'pending' && payment.status !== 'processing') return 'already-final';
    if (payment.status === 'pending') {
      await database.payment.updateMany({
        where: { id: paymentId, status: 'pending' },
        data: { status: 'processing', updatedAt: new Date() },
      });
    }
    const outcome = await provider.charge({
      idempotencyKey: payment.id,
      amountMinor: payment.amountMinor,
      currency: payment.currency,
      reference: payment.id,
      ...(context.signal ? { signal: context.signal } : {}),
    });
    const effects = await database.$transaction((tx) =>
      outcome.status === 'succeeded'
        ? applyChargeSucceeded(tx, paymentId, outcome.chargeId, dependencies.feeBps)
        : applyChargeFailed(tx, paymentId, outcome.reason),
    );
    await runEffects(effects, dependencies.effects, context.logger);
    return outcome.status === 'succeeded' ? 'settled' : 'failed';
  };
}
