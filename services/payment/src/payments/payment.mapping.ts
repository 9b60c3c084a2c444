import { paymentV1 } from '@strata/contracts';
import { type Payment as PaymentRow, type Refund as RefundRow } from '../generated/prisma/client';
import { toSafeNumber } from '../money';

const PAYMENT_STATUS: Record<PaymentRow['status'], paymentV1.PaymentStatus> = {
  pending: paymentV1.PaymentStatus.PENDING,
  processing: paymentV1.PaymentStatus.PROCESSING,
  settled: paymentV1.PaymentStatus.SETTLED,
  failed: paymentV1.PaymentStatus.FAILED,
  partially_refunded: paymentV1.PaymentStatus.PARTIALLY_REFUNDED,
  refunded: paymentV1.PaymentStatus.REFUNDED,
};

const REFUND_STATUS: Record<RefundRow['status'], paymentV1.RefundStatus> = {
  pending: paymentV1.RefundStatus.PENDING,
  succeeded: paymentV1.RefundStatus.SUCCEEDED,
  failed: paymentV1.RefundStatus.FAILED,
};

export function toPaymentMessage(row: PaymentRow): paymentV1.Payment {
  const money = (amount: bigint) => ({ amountMinor: toSafeNumber(amount), currency: row.currency });
  return {
    id: row.id,
    payerId: row.payerId,
    payeeId: row.payeeId,
    amount: money(row.amountMinor),
    fee: money(row.feeMinor),
    refundedAmount: money(row.refundedMinor),
    ...(row.articleId === null ? {} : { articleId: row.articleId }),
    ...(row.note === null ? {} : { note: row.note }),
    status: PAYMENT_STATUS[row.status],
    failureReason: row.failureReason,
    createTime: row.createdAt,
    updateTime: row.updatedAt,
    ...(row.settledAt === null ? {} : { settleTime: row.settledAt }),
  };
}

export function toRefundMessage(row: RefundRow): paymentV1.Refund {
  return {
    id: row.id,
    paymentId: row.paymentId,
    amount: { amountMinor: toSafeNumber(row.amountMinor), currency: row.currency },
    status: REFUND_STATUS[row.status],
    failureReason: row.failureReason,
    createTime: row.createdAt,
    updateTime: row.updatedAt,
  };
}
