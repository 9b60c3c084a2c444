import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { paymentV1, Role } from '@strata/contracts';
import { grpcErrorField, isServiceError } from '@strata/grpc';
import { Redis } from 'ioredis';
import { actor, startPaymentStack, type PaymentStack } from '../testing/payment.harness';

async function failure(
  promise: Promise<unknown>,
): Promise<{ code: number; field: string | undefined }> {
  try {
    await promise;
  } catch (error) {
    if (!isServiceError(error)) throw error;
    return { code: error.code, field: grpcErrorField(error) };
  }
  throw new Error('expected the call to fail');
}

describe('GetPayment, ListPayments, GetBalance', () => {
  let stack: PaymentStack;
  beforeAll(async () => {
    stack = await startPaymentStack('payment_queries', { withWorker: true });
  }, 60_000);
  afterAll(async () => stack.close());

  async function pay(payer: string, payee: string, amountMinor: number): Promise<string> {
    const { payment } = await stack.client.createPayment({
      idempotencyKey: randomUUID(),
      actor: actor(payer),
      payeeId: payee,
      amount: { amountMinor, currency: 'EUR' },
    });
    return payment!.id;
  }

  async function settled(payer: string, paymentId: string): Promise<void> {
    await stack.eventually(async () => {
      const { payment } = await stack.client.getPayment({ actor: actor(payer), paymentId });
      return payment?.status === paymentV1.PaymentStatus.SETTLED ? true : undefined;
    });
  }

  it('shows a payment to its payer, payee and admins only', async () => {
    const [payer, payee, stranger] = [stack.newUser(), stack.newUser(), stack.newUser()];
    const paymentId = await pay(payer, payee, 1_000);
    expect((await stack.client.getPayment({ actor: actor(payee), paymentId })).payment?.id).toBe(
      paymentId,
    );
    expect(
      (await stack.client.getPayment({ actor: { userId: stranger, role: Role.ADMIN }, paymentId }))
        .payment?.id,
    ).toBe(paymentId);
    expect(await failure(stack.client.getPayment({ actor: actor(stranger), paymentId }))).toEqual({
      code: status.NOT_FOUND,
      field: undefined,
    });
    expect(
      await failure(stack.client.getPayment({ actor: actor(payer), paymentId: randomUUID() })),
    ).toMatchObject({ code: status.NOT_FOUND });
  });

  it('pages through sent and received payments, newest first, without gaps or repeats', async () => {
    const [payer, payee] = [stack.newUser(), stack.newUser()];
    const created: string[] = [];
    for (let index = 0; index < 7; index += 1) created.push(await pay(payer, payee, 100 + index));
    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await stack.client.listPayments({
        actor: actor(payer),
        direction: paymentV1.PaymentDirection.SENT,
        pageSize: 3,
        pageToken,
      });
      expect(page.payments.length).toBeLessThanOrEqual(3);
      seen.push(...page.payments.map((payment) => payment.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    expect(seen).toEqual([...created].reverse());
    const received = await stack.client.listPayments({
      actor: actor(payee),
      direction: paymentV1.PaymentDirection.RECEIVED,
      pageSize: 0,
      pageToken: '',
    });
    expect(received.payments.map((payment) => payment.id)).toEqual([...created].reverse());
    expect(
      (
        await stack.client.listPayments({
          actor: actor(payee),
          direction: paymentV1.PaymentDirection.SENT,
          pageSize: 0,
          pageToken: '',
        })
      ).payments,
    ).toEqual([]);

    const first = await stack.client.listPayments({
      actor: actor(payer),
      direction: paymentV1.PaymentDirection.SENT,
      pageSize: 2,
      pageToken: '',
    });
    expect(
      await failure(
        stack.client.listPayments({
          actor: actor(payer),
          direction: paymentV1.PaymentDirection.RECEIVED,
          pageSize: 2,
          pageToken: first.nextPageToken,
        }),
      ),
    ).toEqual({ code: status.INVALID_ARGUMENT, field: 'page_token' });
    expect(
      await failure(
        stack.client.listPayments({
          actor: actor(payer),
          direction: paymentV1.PaymentDirection.SENT,
          pageSize: 101,
          pageToken: '',
        }),
      ),
    ).toEqual({
      code: status.INVALID_ARGUMENT,
      field: 'page_size',
    });
    expect(
      await failure(
        stack.client.listPayments({
          actor: actor(payer),
          direction: paymentV1.PaymentDirection.UNSPECIFIED,
          pageSize: 0,
          pageToken: '',
        }),
      ),
    ).toEqual({ code: status.INVALID_ARGUMENT, field: 'direction' });
  });

  it('serves balances from the cache and invalidates them on every posting', async () => {
    const [payer, payee] = [stack.newUser(), stack.newUser()];
    await settled(payer, await pay(payer, payee, 1_000));
    expect(
      (await stack.client.getBalance({ actor: actor(payee), userId: payee })).balances,
    ).toEqual([{ amountMinor: 950, currency: 'EUR' }]);
    // The read filled the cache (an entry under this suite's prefix)...
    const redis = new Redis(stack.redis.url);
    try {
      const keys = await redis.keys(`${stack.redis.prefix}payment*balance*${payee}*`);
      expect(keys.length).toBeGreaterThan(0);
    } finally {
      await redis.quit();
    }
    // ...and a new posting shows at once (the TTL is 300 s, so only invalidation explains it).
    await settled(payer, await pay(payer, payee, 2_000));
    expect(
      (await stack.client.getBalance({ actor: actor(payee), userId: payee })).balances,
    ).toEqual([{ amountMinor: 2_850, currency: 'EUR' }]);
    expect(await failure(stack.client.getBalance({ actor: actor(payer), userId: payee }))).toEqual({
      code: status.PERMISSION_DENIED,
      field: undefined,
    });
  });
});
