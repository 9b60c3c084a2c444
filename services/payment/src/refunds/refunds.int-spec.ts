import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { paymentV1 } from '@strata/contracts';
import { grpcErrorReason, isServiceError } from '@strata/grpc';
import {
  actor,
  ledgerInvariants,
  startPaymentStack,
  type PaymentStack,
} from '../testing/payment.harness';

async function failure(
  promise: Promise<unknown>,
): Promise<{ code: number; reason: string | undefined }> {
  try {
    await promise;
  } catch (error) {
    if (!isServiceError(error)) throw error;
    return { code: error.code, reason: grpcErrorReason(error) };
  }
  throw new Error('expected the call to fail');
}

describe('CreateRefund (acceptance 6)', () => {
  let stack: PaymentStack;
  beforeAll(async () => {
    stack = await startPaymentStack('payment_refunds', { withWorker: true });
  }, 60_000);
  afterAll(async () => stack.close());

  async function settledPayment(amountMinor: number) {
    const payer = stack.newUser();
    const payee = stack.newUser();
    const { payment } = await stack.client.createPayment({
      idempotencyKey: randomUUID(),
      actor: actor(payer),
      payeeId: payee,
      amount: { amountMinor, currency: 'EUR' },
    });
    await stack.eventually(async () => {
      const current = await stack.client.getPayment({
        actor: actor(payer),
        paymentId: payment!.id,
      });
      return current.payment?.status === paymentV1.PaymentStatus.SETTLED ? true : undefined;
    });
    return { payer, payee, paymentId: payment!.id };
  }

  it('only the payee may refund; others do not learn the payment exists', async () => {
    const { payer, paymentId } = await settledPayment(1_000);
    const amount = { amountMinor: 100, currency: 'EUR' };
    expect(
      await failure(
        stack.client.createRefund({ idempotencyKey: 'r', actor: actor(payer), paymentId, amount }),
      ),
    ).toEqual({
      code: status.PERMISSION_DENIED,
      reason: undefined,
    });
    expect(
      await failure(
        stack.client.createRefund({
          idempotencyKey: 'r',
          actor: actor(stack.newUser()),
          paymentId,
          amount,
        }),
      ),
    ).toEqual({
      code: status.NOT_FOUND,
      reason: undefined,
    });
  });

  it('rejects a refund over the captured amount and writes nothing', async () => {
    const { payee, paymentId } = await settledPayment(1_000);
    expect(
      await failure(
        stack.client.createRefund({
          idempotencyKey: 'big',
          actor: actor(payee),
          paymentId,
          amount: { amountMinor: 1_001, currency: 'EUR' },
        }),
      ),
    ).toEqual({ code: status.FAILED_PRECONDITION, reason: 'ERROR_REASON_REFUND_EXCEEDS_CAPTURED' });
    expect(
      (await stack.sql.query('SELECT 1 FROM refunds WHERE payment_id = $1', [paymentId])).rowCount,
    ).toBe(0);
  });

  it('serialises concurrent refunds so that together they cannot overdraw', async () => {
    const { payer, payee, paymentId } = await settledPayment(1_000);
    // The refunds stay pending until the worker resumes below, so the request after the last one
    // meets requested refunds, not a payment already REFUNDED (which is refused for that reason
    // instead: asserted at the end).
    const refundWorker = stack.worker!.refunds.current;
    await refundWorker.pause();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, index) =>
        stack.client.createRefund({
          idempotencyKey: `concurrent-${index}`,
          actor: actor(payee),
          paymentId,
          amount: { amountMinor: 300, currency: 'EUR' },
        }),
      ),
    );
    const accepted = results.filter((result) => result.status === 'fulfilled');
    const rejected = results.flatMap((result) =>
      result.status === 'rejected' ? [result.reason as unknown] : [],
    );
    expect(accepted).toHaveLength(3);
    for (const error of rejected)
      expect(grpcErrorReason(error)).toBe('ERROR_REASON_REFUND_EXCEEDS_CAPTURED');

    // The rest (100) is still refundable; then nothing is.
    await stack.client.createRefund({
      idempotencyKey: 'rest',
      actor: actor(payee),
      paymentId,
      amount: { amountMinor: 100, currency: 'EUR' },
    });
    expect(
      await failure(
        stack.client.createRefund({
          idempotencyKey: 'more',
          actor: actor(payee),
          paymentId,
          amount: { amountMinor: 1, currency: 'EUR' },
        }),
      ),
    ).toEqual({ code: status.FAILED_PRECONDITION, reason: 'ERROR_REASON_REFUND_EXCEEDS_CAPTURED' });
    await refundWorker.resume();

    const refunded = await stack.eventually(async () => {
      const current = await stack.client.getPayment({ actor: actor(payer), paymentId });
      return current.payment?.status === paymentV1.PaymentStatus.REFUNDED ? current : undefined;
    });
    expect(refunded.payment?.refundedAmount).toEqual({ amountMinor: 1_000, currency: 'EUR' });
    expect(refunded.refunds.map((refund) => refund.status)).toEqual(
      Array(4).fill(paymentV1.RefundStatus.SUCCEEDED),
    );
    expect(
      await failure(
        stack.client.createRefund({
          idempotencyKey: 'after',
          actor: actor(payee),
          paymentId,
          amount: { amountMinor: 1, currency: 'EUR' },
        }),
      ),
    ).toEqual({ code: status.FAILED_PRECONDITION, reason: 'ERROR_REASON_PAYMENT_NOT_REFUNDABLE' });

    // The payee got amount − fee and gave it all back; the fee went back in full too.
    const { balances } = await stack.client.getBalance({ actor: actor(payee), userId: payee });
    expect(balances).toEqual([{ amountMinor: 0, currency: 'EUR' }]);
    expect((await ledgerInvariants(stack.sql)).unbalancedTransactions).toBe(0);
    const charge = await stack.psp.charges(paymentId);
    expect(charge).toHaveLength(1);
  });

  it('a refund is idempotent by its key and refuses unsettled payments', async () => {
    const { payee, paymentId } = await settledPayment(2_000);
    const request = {
      idempotencyKey: 'once',
      actor: actor(payee),
      paymentId,
      amount: { amountMinor: 500, currency: 'EUR' },
    };
    const first = await stack.client.createRefund(request);
    const second = await stack.client.createRefund(request);
    expect(second).toEqual(first);
    expect(
      await failure(
        stack.client.createRefund({ ...request, amount: { amountMinor: 501, currency: 'EUR' } }),
      ),
    ).toEqual({
      code: status.FAILED_PRECONDITION,
      reason: 'ERROR_REASON_IDEMPOTENCY_KEY_REUSED',
    });
    expect(
      (await stack.sql.query('SELECT 1 FROM refunds WHERE payment_id = $1', [paymentId])).rowCount,
    ).toBe(1);

    const pendingId = randomUUID();
    await stack.sql.query(
      `INSERT INTO payments (id, payer_id, payee_id, amount_minor, currency) VALUES ($1, $2, $3, 1000, 'EUR')`,
      [pendingId, randomUUID(), payee],
    );
    expect(
      await failure(
        stack.client.createRefund({ ...request, idempotencyKey: 'pending', paymentId: pendingId }),
      ),
    ).toEqual({ code: status.FAILED_PRECONDITION, reason: 'ERROR_REASON_PAYMENT_NOT_REFUNDABLE' });
  });
});
