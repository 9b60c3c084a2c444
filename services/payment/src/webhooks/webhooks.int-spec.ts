import { createHmac, randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { paymentV1 } from '@strata/contracts';
import { grpcErrorReason, isServiceError } from '@strata/grpc';
import { actor, startPaymentStack, type PaymentStack } from '../testing/payment.harness';
import { PSP_WEBHOOK_SECRET } from '../testing/psp-process';

function signed(
  event: object,
  secret = PSP_WEBHOOK_SECRET,
  timestamp = Math.floor(Date.now() / 1000),
) {
  const payload = Buffer.from(JSON.stringify(event));
  const signature = createHmac('sha256', secret)
    .update(`${timestamp}.`)
    .update(payload)
    .digest('hex');
  return { payload, signature, timestamp: String(timestamp) };
}

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

describe('HandleProviderWebhook', () => {
  let stack: PaymentStack;
  beforeAll(async () => {
    // No worker: the webhook alone must reconcile the payment.
    stack = await startPaymentStack('payment_webhooks');
  }, 60_000);
  afterAll(async () => stack.close());

  it('settles a payment from charge.succeeded once, however often it is delivered', async () => {
    const payer = stack.newUser();
    const payee = stack.newUser();
    const { payment } = await stack.client.createPayment({
      idempotencyKey: 'wh',
      actor: actor(payer),
      payeeId: payee,
      amount: { amountMinor: 2_000, currency: 'USD' },
    });
    const event = {
      id: `evt_${randomUUID()}`,
      type: 'charge.succeeded',
      created: 0,
      data: {
        object: {
          id: 'ch_1',
          object: 'charge',
          amount: 2_000,
          currency: 'USD',
          status: 'succeeded',
          reference: payment!.id,
        },
      },
    };
    const first = await stack.client.handleProviderWebhook(signed(event));
    expect(first).toEqual({ eventId: event.id, duplicate: false });
    const again = await Promise.all(
      [1, 2, 3].map(() => stack.client.handleProviderWebhook(signed(event))),
    );
    expect(again.every((response) => response.duplicate)).toBe(true);

    const current = await stack.client.getPayment({ actor: actor(payer), paymentId: payment!.id });
    expect(current.payment?.status).toBe(paymentV1.PaymentStatus.SETTLED);
    expect(
      (
        await stack.sql.query('SELECT 1 FROM ledger_transactions WHERE payment_id = $1', [
          payment!.id,
        ])
      ).rowCount,
    ).toBe(1);
    const { balances } = await stack.client.getBalance({ actor: actor(payee), userId: payee });
    expect(balances).toEqual([{ amountMinor: 1_900, currency: 'USD' }]);
  });

  const chargeEvent = (paymentId: string, amount: number, currency: string) => ({
    id: `evt_${randomUUID()}`,
    type: 'charge.succeeded',
    created: 0,
    data: {
      object: {
        id: `ch_${randomUUID()}`,
        object: 'charge',
        amount,
        currency,
        reference: paymentId,
      },
    },
  });
  const ledgerTransactions = async (paymentId: string, kind?: string) =>
    (
      await stack.sql.query(
        `SELECT 1 FROM ledger_transactions WHERE payment_id = $1${kind ? ' AND kind = $2' : ''}`,
        kind ? [paymentId, kind] : [paymentId],
      )
    ).rowCount;

  it('does not settle on a charge.succeeded whose amount or currency differs from the payment', async () => {
    const payer = stack.newUser();
    const payee = stack.newUser();
    const { payment } = await stack.client.createPayment({
      idempotencyKey: 'wh-mismatch',
      actor: actor(payer),
      payeeId: payee,
      amount: { amountMinor: 2_000, currency: 'USD' },
    });
    const paymentId = payment!.id;
    for (const wrong of [
      chargeEvent(paymentId, 1_999, 'USD'),
      chargeEvent(paymentId, 2_000, 'EUR'),
      {
        ...chargeEvent(paymentId, 2_000, 'USD'),
        data: { object: { id: 'ch', reference: paymentId } },
      },
    ]) {
      // Recorded (a redelivery is a duplicate), not applied.
      expect(await stack.client.handleProviderWebhook(signed(wrong))).toEqual({
        eventId: wrong.id,
        duplicate: false,
      });
      expect(await stack.client.handleProviderWebhook(signed(wrong))).toEqual({
        eventId: wrong.id,
        duplicate: true,
      });
    }
    const pending = await stack.client.getPayment({ actor: actor(payer), paymentId });
    expect(pending.payment?.status).toBe(paymentV1.PaymentStatus.PENDING);
    expect(await ledgerTransactions(paymentId)).toBe(0);

    // The provider's true report (lower-case currency, as some providers send it) settles it.
    await stack.client.handleProviderWebhook(signed(chargeEvent(paymentId, 2_000, 'usd')));
    const settled = await stack.client.getPayment({ actor: actor(payer), paymentId });
    expect(settled.payment?.status).toBe(paymentV1.PaymentStatus.SETTLED);
    expect(await ledgerTransactions(paymentId)).toBe(1);
  });

  it('does not post a refund.succeeded whose amount differs from the refund asked for', async () => {
    const payer = stack.newUser();
    const payee = stack.newUser();
    const { payment } = await stack.client.createPayment({
      idempotencyKey: 'wh-refund',
      actor: actor(payer),
      payeeId: payee,
      amount: { amountMinor: 3_000, currency: 'EUR' },
    });
    const paymentId = payment!.id;
    await stack.client.handleProviderWebhook(signed(chargeEvent(paymentId, 3_000, 'EUR')));
    // No worker in this stack: the refund stays pending until a webhook reports it.
    const { refund } = await stack.client.createRefund({
      idempotencyKey: 'wh-refund-1',
      actor: actor(payee),
      paymentId,
      amount: { amountMinor: 1_000, currency: 'EUR' },
    });
    const refundEvent = (amount: number) => ({
      id: `evt_${randomUUID()}`,
      type: 'refund.succeeded',
      created: 0,
      data: {
        object: {
          id: `re_${randomUUID()}`,
          object: 'refund',
          amount,
          currency: 'EUR',
          reference: refund!.id,
        },
      },
    });
    await stack.client.handleProviderWebhook(signed(refundEvent(1_500)));
    expect(await ledgerTransactions(paymentId, 'refund')).toBe(0);
    const notYet = await stack.client.getPayment({ actor: actor(payer), paymentId });
    expect(notYet.payment?.status).toBe(paymentV1.PaymentStatus.SETTLED);

    await stack.client.handleProviderWebhook(signed(refundEvent(1_000)));
    expect(await ledgerTransactions(paymentId, 'refund')).toBe(1);
    const refunded = await stack.client.getPayment({ actor: actor(payer), paymentId });
    expect(refunded.payment?.status).toBe(paymentV1.PaymentStatus.PARTIALLY_REFUNDED);
  });

  it('refuses bad signatures and stale timestamps', async () => {
    const recordedBefore = (await stack.sql.query('SELECT 1 FROM provider_events')).rowCount;
    const event = {
      id: 'evt_x',
      type: 'charge.failed',
      data: { object: { id: 'ch', reference: randomUUID() } },
    };
    const wrongSecret = signed(event, 'whsec_wrong_0123456789');
    const stale = signed(event, PSP_WEBHOOK_SECRET, Math.floor(Date.now() / 1000) - 3_600);
    for (const request of [
      wrongSecret,
      stale,
      { ...signed(event), payload: Buffer.from('{"tampered":1}') },
    ]) {
      expect(await failure(stack.client.handleProviderWebhook(request))).toEqual({
        code: status.UNAUTHENTICATED,
        reason: 'ERROR_REASON_WEBHOOK_SIGNATURE_INVALID',
      });
    }
    // Nothing recorded from any of them.
    expect((await stack.sql.query('SELECT 1 FROM provider_events')).rowCount).toBe(recordedBefore);
    expect(
      await failure(stack.client.handleProviderWebhook(signed({ id: 'evt_y', type: 'weird' }))),
    ).toMatchObject({
      code: status.INVALID_ARGUMENT,
    });
  });
});
