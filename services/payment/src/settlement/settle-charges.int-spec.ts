import { LedgerAccountDirectory } from '../ledger/ledger.repository';
import { poolRunner, type SqlRunner } from '../sql-runner';
import {
  actor,
  ledgerInvariants,
  startPaymentStack,
  type PaymentStack,
} from '../testing/payment.harness';
import {
  applyChargeSucceeded,
  type ChargeToSettle,
  markProcessing,
  settleCharges,
} from './charge-outcome';

const FEE_BPS = 500;

describe('settlement statements for many payments at once (the worker group-commits them)', () => {
  let stack: PaymentStack;
  let run: SqlRunner;
  let accounts: LedgerAccountDirectory;
  beforeAll(async () => {
    // No worker: the test calls the statements the worker would.
    stack = await startPaymentStack('payment_settle_batch');
    run = poolRunner(stack.sql);
    accounts = new LedgerAccountDirectory(run);
  }, 60_000);
  afterAll(async () => stack.close());

  async function createPayments(count: number, currency = 'EUR'): Promise<string[]> {
    const ids: string[] = [];
    for (let index = 0; index < count; index += 1) {
      const payer = stack.newUser();
      const { payment } = await stack.client.createPayment({
        idempotencyKey: `batch-${index}`,
        actor: actor(payer),
        payeeId: stack.newUser(),
        amount: { amountMinor: 1_000 * (index + 1), currency },
      });
      ids.push(payment!.id);
    }
    return ids;
  }

  async function chargesFor(paymentIds: readonly string[]): Promise<ChargeToSettle[]> {
    const payments = await markProcessing(run, paymentIds, new Date());
    return Promise.all(
      payments.map(async (payment, index) => {
        if (!payment) throw new Error(`payment ${paymentIds[index]} not found`);
        return {
          payment,
          chargeId: `ch_${payment.id}`,
          accounts: await accounts.settlementAccounts(payment.payeeId, payment.currency),
        };
      }),
    );
  }

  it('marks many payments processing in one statement, in the order asked', async () => {
    const ids = await createPayments(3);
    const missing = '00000000-0000-4000-8000-000000000001';
    const marked = await markProcessing(run, [ids[2], missing, ids[0], ids[1]], new Date());
    expect(marked.map((payment) => payment?.id)).toEqual([ids[2], undefined, ids[0], ids[1]]);
    expect(marked.map((payment) => payment?.status)).toEqual([
      'processing',
      undefined,
      'processing',
      'processing',
    ]);
    // Marking again returns them as they are.
    const again = await markProcessing(run, ids, new Date());
    expect(again.map((payment) => payment?.status)).toEqual([
      'processing',
      'processing',
      'processing',
    ]);
  });

  it("writes a statement's receipts as outbox rows of at most the email job's group size", async () => {
    const ids = await createPayments(51, 'GBP');
    await settleCharges(run, await chargesFor(ids), FEE_BPS);
    const { rows } = await stack.sql.query<{ row_id: string; key: string }>(
      `SELECT outbox_events.id::text AS row_id, item->>'id' AS key
       FROM outbox_events, jsonb_array_elements(payload->'_group') AS item
       WHERE name = 'send-email' AND item->'data'->'data'->>'paymentId' = ANY($1)`,
      [ids],
    );
    const itemsPerRow = new Map<string, number>();
    for (const { row_id } of rows) itemsPerRow.set(row_id, (itemsPerRow.get(row_id) ?? 0) + 1);
    // 102 receipts: a full group of 100 (sendEmailJob.grouping.maxItems) and the 2 left over.
    expect([...itemsPerRow.values()].sort((a, b) => a - b)).toEqual([2, 100]);
    expect(new Set(rows.map((row) => row.key)).size).toBe(102);
  });

  it('settles each open payment of the batch once and leaves out one settled meanwhile', async () => {
    const ids = await createPayments(4, 'USD');
    const charges = await chargesFor(ids);
    // The webhook settles the second payment between the worker's read and its statement.
    const byWebhook = await applyChargeSucceeded(
      run,
      charges[1].payment,
      charges[1].chargeId,
      FEE_BPS,
      charges[1].accounts,
    );
    expect(byWebhook).toHaveLength(2);

    const effects = await settleCharges(run, charges, FEE_BPS);
    expect(effects.map((list) => list.length)).toEqual([2, 0, 2, 2]);
    expect(effects[0]).toContainEqual({
      kind: 'balance-changed',
      userId: charges[0].payment.payeeId,
    });

    const { rows } = await stack.sql.query<{ id: string; status: string; fee: string }>(
      `SELECT id::text AS id, status::text AS status, fee_minor::text AS fee
       FROM payments WHERE id = ANY($1::uuid[]) ORDER BY amount_minor`,
      [ids],
    );
    expect(rows).toEqual(
      ids.map((id, index) => ({ id, status: 'settled', fee: String(50 * (index + 1)) })),
    );
    const transactions = await stack.sql.query<{ payment_id: string; postings: string }>(
      `SELECT lt.payment_id::text AS payment_id, count(p.*)::text AS postings
       FROM ledger_transactions lt JOIN postings p ON p.transaction_id = lt.id
       WHERE lt.payment_id = ANY($1::uuid[]) GROUP BY lt.payment_id`,
      [ids],
    );
    expect(transactions.rows).toHaveLength(4);
    expect(transactions.rows.every((row) => row.postings === '3')).toBe(true);
    // The receipts of one statement are one outbox row, a group of two emails per payment, each
    // keyed by its own idempotency key: the webhook's row (2) and the batch's (3 payments, 6).
    const receipts = await stack.sql.query<{ row_id: string; id: string; key: string }>(
      `SELECT outbox_events.id::text AS row_id, item->>'id' AS id,
              item->'data'->>'idempotencyKey' AS key
       FROM outbox_events, jsonb_array_elements(payload->'_group') AS item
       WHERE name = 'send-email' AND item->'data'->'data'->>'paymentId' = ANY($1)`,
      [ids],
    );
    expect(receipts.rowCount).toBe(8);
    const itemsPerRow = new Map<string, number>();
    for (const { row_id } of receipts.rows)
      itemsPerRow.set(row_id, (itemsPerRow.get(row_id) ?? 0) + 1);
    expect([...itemsPerRow.values()].sort()).toEqual([2, 6]);
    expect(receipts.rows.map((row) => row.id).sort()).toEqual(
      ids.flatMap((id) => [`payment-receipt:${id}`, `payment-received:${id}`]).sort(),
    );
    expect(receipts.rows.every((row) => row.key === row.id)).toBe(true);
    expect(await ledgerInvariants(stack.sql)).toMatchObject({ unbalancedTransactions: 0 });

    // Settling the same charges again changes nothing.
    expect(await settleCharges(run, charges, FEE_BPS)).toEqual([[], [], [], []]);
  });

  it('settles a payment named twice in one batch once (two jobs for one payment)', async () => {
    const [id] = await createPayments(1, 'GBP');
    const [charge] = await chargesFor([id]);
    const effects = await settleCharges(run, [charge, { ...charge }], FEE_BPS);
    expect(effects.map((list) => list.length)).toEqual([2, 0]);
    const transactions = await stack.sql.query(
      'SELECT 1 FROM ledger_transactions WHERE payment_id = $1::uuid',
      [id],
    );
    expect(transactions.rowCount).toBe(1);
  });

  it('settles every payment exactly once when batches holding the same payments race', async () => {
    const ids = await createPayments(6);
    const charges = await chargesFor(ids);
    const reversed = [...charges].reverse();
    const results = await Promise.all([
      settleCharges(run, charges, FEE_BPS),
      settleCharges(run, reversed, FEE_BPS),
      settleCharges(run, charges.slice(2), FEE_BPS),
    ]);
    // Each payment's effects are returned by exactly one of the racing statements.
    const settledBy = ids.map(
      (_, index) =>
        [results[0][index], results[1][ids.length - 1 - index], results[2][index - 2] ?? []].filter(
          (effects) => effects.length > 0,
        ).length,
    );
    expect(settledBy).toEqual([1, 1, 1, 1, 1, 1]);
    const transactions = await stack.sql.query(
      'SELECT 1 FROM ledger_transactions WHERE payment_id = ANY($1::uuid[])',
      [ids],
    );
    expect(transactions.rowCount).toBe(6);
    expect(await ledgerInvariants(stack.sql)).toMatchObject({ unbalancedTransactions: 0 });
  });
});
