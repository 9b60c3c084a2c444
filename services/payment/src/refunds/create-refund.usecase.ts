import { randomUUID } from 'node:crypto';
import { ErrorReason, errorReasonToJSON, paymentV1 } from '@strata/contracts';
import { failedPrecondition, invalidArgument, notFound, permissionDenied } from '@strata/grpc';
import { type PaymentDatabase } from '../database';
import { requireActor, requireIdempotencyKey, requireUuid } from '../grpc/request-validation';
import {
  findIdempotencyRecord,
  lockKeyOrFail,
  replay,
  requestHash,
  storeIdempotencyRecord,
} from '../idempotency/idempotency.repository';
import { enqueueInOutbox } from '../outbox';
import { toRefundMessage } from '../payments/payment.mapping';
import { lockPayment } from '../settlement/charge-outcome';
import { processRefundJob } from '../settlement/payment.jobs';

export interface CreateRefundDependencies {
  readonly database: PaymentDatabase;
  readonly idempotencyTtlHours: number;
  readonly onOutboxWrite?: () => void;
}

const notRefundable = (message: string) =>
  failedPrecondition(errorReasonToJSON(ErrorReason.PAYMENT_NOT_REFUNDABLE), message);

/**
 * CreateRefund. The payment row is locked (SELECT … FOR UPDATE) while the refund's amount is
 * reserved, so concurrent refunds are serialised and together never exceed the captured amount
 * (a CHECK constraint on payments backs this up). Failures write nothing, not even the key.
 */
export async function createRefund(
  dependencies: CreateRefundDependencies,
  request: paymentV1.CreateRefundRequest,
): Promise<paymentV1.CreateRefundResponse> {
  const actor = requireActor(request.actor);
  const key = requireIdempotencyKey(request.idempotencyKey);
  const paymentId = requireUuid('payment_id', request.paymentId);
  const amount = request.amount;
  if (!amount || !Number.isSafeInteger(amount.amountMinor) || amount.amountMinor <= 0) {
    throw invalidArgument('amount.amount_minor', 'must be a positive integer');
  }
  const hash = requestHash([paymentId, amount.amountMinor, amount.currency]);
  const { database } = dependencies;

  const stored = await findIdempotencyRecord(database, 'create_refund', actor.userId, key);
  if (stored) return paymentV1.CreateRefundResponse.decode(replay(stored, hash));

  const result = await database.$transaction(async (tx) => {
    await lockKeyOrFail(tx, 'create_refund', actor.userId, key);
    const committed = await findIdempotencyRecord(tx, 'create_refund', actor.userId, key);
    if (committed) return { response: replay(committed, hash), created: false };

    const payment = await lockPayment(tx, paymentId);
    if (!payment || (payment.payerId !== actor.userId && payment.payeeId !== actor.userId)) {
      throw notFound('payment not found');
    }
    if (payment.payeeId !== actor.userId)
      throw permissionDenied('only the payee may refund a payment');
    if (amount.currency !== payment.currency)
      throw invalidArgument('amount.currency', `must be ${payment.currency}`);
    if (payment.status !== 'settled' && payment.status !== 'partially_refunded') {
      throw notRefundable(`payment is ${payment.status}`);
    }
    const requested = BigInt(amount.amountMinor);
    if (payment.refundReservedMinor + requested > payment.amountMinor) {
      throw failedPrecondition(
        errorReasonToJSON(ErrorReason.REFUND_EXCEEDS_CAPTURED),
        `refunds would exceed the captured amount (at most ${payment.amountMinor - payment.refundReservedMinor} left)`,
      );
    }
    await tx.payment.update({
      where: { id: payment.id },
      data: { refundReservedMinor: { increment: requested }, updatedAt: new Date() },
    });
    const refund = await tx.refund.create({
      data: {
        id: randomUUID(),
        paymentId: payment.id,
        amountMinor: requested,
        currency: payment.currency,
      },
    });
    const response = paymentV1.CreateRefundResponse.encode({
      refund: toRefundMessage(refund),
    }).finish();
    await storeIdempotencyRecord(tx, {
      scope: 'create_refund',
      actorId: actor.userId,
      key,
      requestHash: hash,
      response,
      resourceId: refund.id,
      ttlHours: dependencies.idempotencyTtlHours,
    });
    await enqueueInOutbox(tx, processRefundJob, { refundId: refund.id });
    return { response, created: true };
  });
  if (result.created) dependencies.onOutboxWrite?.();
  return paymentV1.CreateRefundResponse.decode(result.response);
}
