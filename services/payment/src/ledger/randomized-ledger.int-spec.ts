import { randomUUID } from 'node:crypto';
import { createHmac } from 'node:crypto';
import { paymentV1 } from '@strata/contracts';
import { isServiceError } from '@strata/grpc';
import { TestResources } from '@strata/testing';
import {
  actor,
  ledgerInvariants,
  startPaymentStack,
  type PaymentStack,
} from '../testing/payment.harness';
import { PSP_API_KEY, PSP_WEBHOOK_SECRET } from '../testing/psp-process';
import { seededRandom } from '../testing/seeded-random';
import { startWebhookForwarder, type WebhookForwarder } from '../testing/webhook-forwarder';

const OPERATIONS = 1_000;
const CONCURRENCY = 10;
const CURRENCIES = ['EUR', 'USD', 'GBP'];

interface KnownPayment {
  id: string;
  payer: string;
  payee: string;
  key: string;
  amount: number;
  currency: string;
}

describe('randomized run of 1,000 operations (acceptance 4)', () => {
  let stack: PaymentStack;
  let forwarder: WebhookForwarder;
  // afterAll gets only what beforeAll finished: a forwarder left listening keeps Jest from exiting.
  const resources = new TestResources();

  beforeAll(async () => {
    // The forwarder must exist before the simulator (its URL is the simulator's webhook target).
    const started: { stack?: PaymentStack } = {};
    forwarder = await resources.open(
      () => startWebhookForwarder(() => started.stack?.client),
      (opened) => opened.close(),
    );
    stack = await resources.open(
      () =>
        startPaymentStack('payment_random', {
          withWorker: true,
          // Seeded: the same declines and transient provider errors on every run.
          pspEnv: {
            PSP_SEED: '20261127',
            PSP_DECLINE_RATE: '0.1',
            PSP_ERROR_RATE: '0.03',
            PSP_WEBHOOK_URL: forwarder.url,
            PSP_WEBHOOK_BACKOFF_MS: '50',
          },
        }),
      (opened) => opened.close(),
    );
    started.stack = stack;
  }, 60_000);
  afterAll(() => resources.closeAll());

  it('keeps every transaction, every currency and every balance consistent', async () => {
    const random = seededRandom(4242);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const users = Array.from({ length: 12 }, () => stack.newUser());
    const payments: KnownPayment[] = [];
    const refundKeys: Array<{
      payee: string;
      paymentId: string;
      key: string;
      amount: number;
      currency: string;
    }> = [];
    const counts = { create: 0, retry: 0, refund: 0, refundRetry: 0, webhook: 0, rejected: 0 };

    async function operation(): Promise<void> {
      const roll = random();
      if (roll < 0.4 || payments.length === 0) {
        const payer = pick(users);
        const payee = pick(users.filter((user) => user !== payer));
        const request = {
          idempotencyKey: randomUUID(),
          actor: actor(payer),
          payeeId: payee,
          amount: { amountMinor: 100 + Math.floor(random() * 50_000), currency: pick(CURRENCIES) },
        };
        counts.create += 1;
        const { payment } = await stack.client.createPayment(request);
        payments.push({
          id: payment!.id,
          payer,
          payee,
          key: request.idempotencyKey,
          amount: request.amount.amountMinor,
          currency: request.amount.currency,
        });
      } else if (roll < 0.55) {
        const known = pick(payments);
        counts.retry += 1;
        const { payment } = await stack.client.createPayment({
          idempotencyKey: known.key,
          actor: actor(known.payer),
          payeeId: known.payee,
          amount: { amountMinor: known.amount, currency: known.currency },
        });
        expect(payment!.id).toBe(known.id);
      } else if (roll < 0.8) {
        const known = pick(payments);
        const key = randomUUID();
        const amount = 1 + Math.floor(random() * known.amount * 0.6);
        counts.refund += 1;
        refundKeys.push({
          payee: known.payee,
          paymentId: known.id,
          key,
          amount,
          currency: known.currency,
        });
        await stack.client.createRefund({
          idempotencyKey: key,
          actor: actor(known.payee),
          paymentId: known.id,
          amount: { amountMinor: amount, currency: known.currency },
        });
      } else if (roll < 0.88 && refundKeys.length > 0) {
        const known = pick(refundKeys);
        counts.refundRetry += 1;
        await stack.client.createRefund({
          idempotencyKey: known.key,
          actor: actor(known.payee),
          paymentId: known.paymentId,
          amount: { amountMinor: known.amount, currency: known.currency },
        });
      } else {
        // A duplicate webhook: the provider redelivers an event it already delivered.
        const response = await fetch(`${stack.psp.url}/v1/events`, {
          headers: { authorization: `Bearer ${PSP_API_KEY}` },
        });
        const { data } = (await response.json()) as {
          data: Array<{ event: { id: string }; delivered: boolean }>;
        };
        const delivered = data.filter((delivery) => delivery.delivered);
        if (delivered.length === 0) return;
        const event = pick(delivered).event;
        counts.webhook += 1;
        await fetch(`${stack.psp.url}/v1/events/${event.id}/redeliver`, {
          method: 'POST',
          headers: { authorization: `Bearer ${PSP_API_KEY}` },
        });
        const payload = Buffer.from(JSON.stringify(event));
        const timestamp = String(Math.floor(Date.now() / 1000));
        const signature = createHmac('sha256', PSP_WEBHOOK_SECRET)
          .update(`${timestamp}.`)
          .update(payload)
          .digest('hex');
        const direct = await stack.client.handleProviderWebhook({ payload, signature, timestamp });
        expect(direct.duplicate).toBe(true);
      }
    }

    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < OPERATIONS) {
          next += 1;
          try {
            await operation();
          } catch (error) {
            // Refunds of unsettled or exhausted payments, and in-flight conflicts, are expected answers.
            if (!isServiceError(error)) throw error;
            counts.rejected += 1;
          }
        }
      }),
    );
    // The mix really happened (seeded, so these hold on every run).
    expect(counts.webhook).toBeGreaterThan(20);
    expect(counts.retry).toBeGreaterThan(50);
    expect(counts.refund).toBeGreaterThan(100);

    // Let the workers and webhooks drain: nothing pending or processing is left.
    await stack.eventually(async () => {
      const open = await stack.sql.query(
        `SELECT (SELECT count(*) FROM payments WHERE status IN ('pending', 'processing'))
              + (SELECT count(*) FROM refunds WHERE status = 'pending') AS open`,
      );
      return Number((open.rows[0] as { open: string }).open) === 0 ? true : undefined;
    }, 120_000);

    const { unbalancedTransactions, globalSums } = await ledgerInvariants(stack.sql);
    expect(unbalancedTransactions).toBe(0);
    expect(globalSums.map((sum) => sum.currency)).toEqual(['EUR', 'GBP', 'USD']);
    for (const sum of globalSums) expect(sum.total).toBe('0');

    // Every balance the API reports equals the sum of that user's postings...
    for (const user of users) {
      const { balances } = await stack.client.getBalance({ actor: actor(user), userId: user });
      const { rows } = await stack.sql.query<{ currency: string; total: string }>(
        `SELECT a.currency, COALESCE(SUM(p.amount_minor), 0)::text AS total FROM ledger_accounts a
         LEFT JOIN postings p ON p.account_id = a.id WHERE a.kind = 'user' AND a.user_id = $1
         GROUP BY a.currency ORDER BY a.currency`,
        [user],
      );
      expect(balances).toEqual(
        rows.map((row) => ({ currency: row.currency, amountMinor: Number(row.total) })),
      );
    }
    // ...and what the payments say it should be: settled amounts net of fees, minus refunds net of fee shares.
    const expected = await stack.sql.query<{ mismatches: string }>(`
      SELECT count(*) AS mismatches FROM (
        SELECT p.payee_id, p.currency,
               SUM(CASE WHEN p.status IN ('settled','partially_refunded','refunded') THEN p.amount_minor - p.fee_minor ELSE 0 END)
             - SUM(p.refunded_minor - ((p.fee_minor * p.refunded_minor) / p.amount_minor)) AS expected
        FROM payments p GROUP BY p.payee_id, p.currency) e
      LEFT JOIN (
        SELECT a.user_id, a.currency, SUM(po.amount_minor) AS actual FROM ledger_accounts a
        JOIN postings po ON po.account_id = a.id WHERE a.kind = 'user' GROUP BY a.user_id, a.currency) b
        ON b.user_id = e.payee_id AND b.currency = e.currency
      WHERE COALESCE(b.actual, 0) <> e.expected`);
    expect(Number(expected.rows[0].mismatches)).toBe(0);

    // No payment was charged twice; every settled payment has exactly one settlement posting.
    const charges = (await (
      await fetch(`${stack.psp.url}/v1/charges`, {
        headers: { authorization: `Bearer ${PSP_API_KEY}` },
      })
    ).json()) as {
      data: Array<{ reference: string; status: string }>;
    };
    const perReference = new Map<string, number>();
    for (const charge of charges.data)
      perReference.set(charge.reference, (perReference.get(charge.reference) ?? 0) + 1);
    expect([...perReference.values()].every((count) => count === 1)).toBe(true);
    const settledStatuses = ['settled', 'partially_refunded', 'refunded'];
    const settled = await stack.sql.query<{ id: string }>(
      `SELECT id FROM payments WHERE status = ANY($1)`,
      [settledStatuses],
    );
    expect(settled.rowCount).toBe(
      charges.data.filter((charge) => charge.status === 'succeeded').length,
    );
    const settlements = await stack.sql.query(
      `SELECT count(*)::int AS count FROM ledger_transactions WHERE kind = 'settlement'`,
    );
    expect(settlements.rows[0]).toEqual({ count: settled.rowCount });
    const overdrawn = await stack.sql.query(
      'SELECT 1 FROM payments WHERE refunded_minor > amount_minor',
    );
    expect(overdrawn.rowCount).toBe(0);
    expect(payments.length).toBeGreaterThan(300);
    expect(forwarder.deliveries).toBeGreaterThan(0);
    const statuses = await stack.client.listPayments({
      actor: actor(users[0]),
      direction: paymentV1.PaymentDirection.RECEIVED,
      pageSize: 100,
      pageToken: '',
    });
    expect(statuses.payments.every((payment) => payment.payeeId === users[0])).toBe(true);
  }, 240_000);
});
