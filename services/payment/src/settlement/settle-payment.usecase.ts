import { type JobProcessor, PermanentJobError } from '@strata/queue';
import { groupCommit, type GroupCommitOptions } from '@strata/runtime';
import { type LedgerAccountDirectory } from '../ledger/ledger.repository';
import { type PaymentProvider } from '../provider/payment-provider';
import { type SqlRunner } from '../sql-runner';
import {
  applyChargeFailed,
  type ChargeToSettle,
  isOpen,
  markProcessing,
  settleCharges,
} from './charge-outcome';
import { type EffectSink, runEffects } from './effects';

export interface SettlementDependencies {
  /** Statements on the pool: each is its own transaction (no interactive transaction needed). */
  readonly sql: SqlRunner;
  readonly accounts: LedgerAccountDirectory;
  readonly provider: PaymentProvider;
  readonly effects: EffectSink;
  readonly feeBps: number;
  /**
   * How the jobs running at once in this process share statements (group-commit.ts): their
   * "mark processing" statements are written together, and so are their settlements
   * (`maxBatchSize: 1`: every job writes its own).
   */
  readonly batching: GroupCommitOptions;
}

export type SettlementResult = 'settled' | 'failed' | 'already-final';

/**
 * The settlement job. Crash-safe by construction: the provider call uses the payment id as its
 * idempotency key, so a job re-run after a crash anywhere (before the charge, after it, before the
 * commit) gets the same charge back instead of a second one, and the ledger transition is one
 * statement guarded by the payment's row lock and status (charge-outcome.ts).
 * Two statements per payment on the hot path (mark processing, settle), shared with the other
 * jobs in flight in this process when `batching` allows; each job still completes, fails and is
 * retried on its own. The ledger accounts' ids are remembered by the process.
 */
export function settlePaymentProcessor(
  dependencies: SettlementDependencies,
): JobProcessor<{ paymentId: string }, SettlementResult> {
  const { sql, provider, feeBps, batching } = dependencies;
  const markOne = groupCommit(
    (paymentIds: readonly string[]) => markProcessing(sql, paymentIds, new Date()),
    batching,
  );
  const settleOne = groupCommit(
    (charges: readonly ChargeToSettle[]) => settleCharges(sql, charges, feeBps),
    batching,
  );
  return async ({ paymentId }, context) => {
    const payment = await markOne(paymentId);
    if (!payment) throw new PermanentJobError(`payment ${paymentId} does not exist`);
    if (!isOpen(payment.status)) return 'already-final';
    const outcome = await provider.charge({
      idempotencyKey: payment.id,
      amountMinor: payment.amountMinor,
      currency: payment.currency,
      reference: payment.id,
      ...(context.signal ? { signal: context.signal } : {}),
    });
    const effects =
      outcome.status === 'succeeded'
        ? await settleOne({
            payment,
            chargeId: outcome.chargeId,
            accounts: await dependencies.accounts.settlementAccounts(
              payment.payeeId,
              payment.currency,
            ),
          })
        : await applyChargeFailed(sql, paymentId, outcome.reason);
    await runEffects(effects, dependencies.effects, context.logger);
    return outcome.status === 'succeeded' ? 'settled' : 'failed';
  };
}
