import { type PaymentTransaction } from '../database';
import { postLedgerTransaction } from '../ledger/ledger.repository';
import { refundedFeeShare } from '../money';
import { lockPayment } from '../settlement/charge-outcome';
import { type Effect } from '../settlement/effects';

async function lockOpenRefund(tx: PaymentTransaction, refundId: string) {
  const refund = await tx.refund.findUnique({ where: { id: refundId } });
  if (!refund) return null;
  // Payment first, then refund: the same order as CreateRefund, so the two never deadlock.
  const payment = await lockPayment(tx, refund.paymentId);
  const current = await tx.refund.findUnique({ where: { id: refundId } });
  if (!payment || !current || current.status !== 'pending') return null;
  return { payment, refund: current };
}

/**
 * Records a refund the provider made: reversing postings proportional to the settlement (clearing
 * +R, payee −(R − fee share), fee revenue −fee share), refund SUCCEEDED, payment (partially)
 * REFUNDED. Called by the refund worker and by the refund.succeeded webhook; the second is a no-op.
 */
export async function applyRefundSucceeded(
  tx: PaymentTransaction,
  refundId: string,
  providerRefundId: string,
  /**
   * What the provider says it refunded (webhooks): when it differs from the refund asked for,
   * nothing is posted and `onMismatch` is told; the refund stays open for the worker's own answer
   * (or an operator).
   */
  reported?: {
    readonly amountMinor: bigint;
    readonly currency: string;
    readonly onMismatch: (expected: { amountMinor: bigint; currency: string }) => void;
  },
): Promise<Effect[]> {
  const locked = await lockOpenRefund(tx, refundId);
  if (!locked) return [];
  const { payment, refund } = locked;
  if (
    reported &&
    (reported.amountMinor !== refund.amountMinor || reported.currency !== payment.currency)
  ) {
    reported.onMismatch({ amountMinor: refund.amountMinor, currency: payment.currency });
    return [];
  }
  const feeShare = refundedFeeShare(
    payment.amountMinor,
    payment.feeMinor,
    payment.refundedMinor,
    refund.amountMinor,
  );
  await postLedgerTransaction(tx, {
    kind: 'refund',
    reference: `refund:${refund.id}`,
    paymentId: payment.id,
    refundId: refund.id,
    currency: payment.currency,
    postings: [
      { account: { kind: 'provider_clearing' }, amount: refund.amountMinor },
      {
        account: { kind: 'user', userId: payment.payeeId },
        amount: -(refund.amountMinor - feeShare),
      },
      { account: { kind: 'fee_revenue' }, amount: -feeShare },
    ],
  });
  const now = new Date();
  await tx.refund.update({
    where: { id: refund.id },
    data: { status: 'succeeded', providerRefundId, updatedAt: now },
  });
  const refunded = payment.refundedMinor + refund.amountMinor;
  await tx.payment.update({
    where: { id: payment.id },
    data: {
      refundedMinor: refunded,
      status: refunded === payment.amountMinor ? 'refunded' : 'partially_refunded',
      updatedAt: now,
    },
  });
  return [{ kind: 'balance-changed', userId: payment.payeeId }];
}

/** Records a refund the provider refused: FAILED, and its reserved amount is released. */
export async function applyRefundFailed(
  tx: PaymentTransaction,
  refundId: string,
  reason: string,
): Promise<Effect[]> {
  const locked = await lockOpenRefund(tx, refundId);
  if (!locked) return [];
  const now = new Date();
  await tx.refund.update({
    where: { id: refundId },
    data: { status: 'failed', failureReason: reason.slice(0, 64), updatedAt: now },
  });
  await tx.payment.update({
    where: { id: locked.payment.id },
    data: { refundReservedMinor: { decrement: locked.refund.amountMinor }, updatedAt: now },
  });
  return [];
}
