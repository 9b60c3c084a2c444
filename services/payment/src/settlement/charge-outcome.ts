import { type PaymentTransaction } from '../database';
import { type Payment } from '../generated/prisma/client';
import { postLedgerTransaction } from '../ledger/ledger.repository';
import { platformFee, toSafeNumber } from '../money';
import { enqueueInOutbox } from '../outbox';
import { type Effect } from './effects';
import { sendEmailJob } from './payment.jobs';

/** Locks the payment row for the rest of the transaction and reads it. */
export async function lockPayment(
  tx: PaymentTransaction,
  paymentId: string,
): Promise<Payment | null> {
  const locked = await tx.$queryRaw<
    Array<{ id: string }>
  >`SELECT id::text AS id FROM payments WHERE id = ${paymentId}::uuid FOR UPDATE`;
  if (locked.length === 0) return null;
  return tx.payment.findUnique({ where: { id: paymentId } });
}

const isOpen = (payment: Payment) =>
  payment.status === 'pending' || payment.status === 'processing';

/**
 * Records a successful charge: settlement postings (clearing −amount, payee +(amount − fee), fee
 * revenue +fee), status SETTLED, receipt emails in the outbox. Called by the settlement worker and
 * by the charge.succeeded webhook, whichever comes first; the other finds the payment settled and
 * does nothing (and the ledger's unique reference would refuse a second posting anyway).
 */
export async function applyChargeSucceeded(
  tx: PaymentTransaction,
  paymentId: string,
  chargeId: string,
  feeBps: number,
): Promise<Effect[]> {
  const payment = await lockPayment(tx, paymentId);
  if (!payment || !isOpen(payment)) return [];
  const fee = platformFee(payment.amountMinor, feeBps);
  await postLedgerTransaction(tx, {
    kind: 'settlement',
    reference: `settlement:${payment.id}`,
    paymentId: payment.id,
    currency: payment.currency,
    postings: [
      { account: { kind: 'provider_clearing' }, amount: -payment.amountMinor },
      { account: { kind: 'user', userId: payment.payeeId }, amount: payment.amountMinor - fee },
      { account: { kind: 'fee_revenue' }, amount: fee },
    ],
  });
  const settled = await tx.payment.update({
    where: { id: payment.id },
    data: {
      status: 'settled',
      feeMinor: fee,
      providerChargeId: chargeId,
      settledAt: new Date(),
      updatedAt: new Date(),
    },
  });
  const data = {
    paymentId: settled.id,
    amountMinor: settled.amountMinor.toString(),
    currency: settled.currency,
    ...(settled.articleId === null ? {} : { articleId: settled.articleId }),
  };
  await enqueueInOutbox(tx, sendEmailJob, {
    toUserId: settled.payerId,
    template: 'payment-receipt',
    data,
    idempotencyKey: `payment-receipt:${settled.id}`,
  });
  await enqueueInOutbox(tx, sendEmailJob, {
    toUserId: settled.payeeId,
    template: 'payment-received',
    data: { ...data, netAmountMinor: (settled.amountMinor - fee).toString() },
    idempotencyKey: `payment-received:${settled.id}`,
  });
  return [
    { kind: 'balance-changed', userId: settled.payeeId },
    {
      kind: 'event',
      recipients: [settled.payerId, settled.payeeId],
      event: {
        type: 'payment.settled',
        at: settled.settledAt ?? new Date(),
        data: {
          paymentId: settled.id,
          payerId: settled.payerId,
          payeeId: settled.payeeId,
          amount: { amountMinor: toSafeNumber(settled.amountMinor), currency: settled.currency },
          ...(settled.articleId === null ? {} : { articleId: settled.articleId }),
          settleTime: settled.settledAt ?? new Date(),
        },
      },
    },
  ];
}

/** Records a definitive charge failure: status FAILED with the reason; nothing is posted. */
export async function applyChargeFailed(
  tx: PaymentTransaction,
  paymentId: string,
  reason: string,
): Promise<Effect[]> {
  const payment = await lockPayment(tx, paymentId);
  if (!payment || !isOpen(payment)) return [];
  const failed = await tx.payment.update({
    where: { id: payment.id },
    data: { status: 'failed', failureReason: reason.slice(0, 64), updatedAt: new Date() },
  });
  return [
    {
      kind: 'event',
      recipients: [failed.payerId, failed.payeeId],
      event: {
        type: 'payment.failed',
        at: failed.updatedAt,
        data: {
          paymentId: failed.id,
          payerId: failed.payerId,
          payeeId: failed.payeeId,
          amount: { amountMinor: toSafeNumber(failed.amountMinor), currency: failed.currency },
          failureReason: failed.failureReason,
        },
      },
    },
  ];
}
