import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@strata/testing';
import { openPaymentDatabase, type PaymentDatabaseHandle } from '../database';
import { postLedgerTransaction, userBalances } from './ledger.repository';

const SERVICE_DIR = path.join(__dirname, '..', '..');

describe('ledger invariants enforced by PostgreSQL', () => {
  let testDatabase: TestDatabase;
  let database: PaymentDatabaseHandle;

  beforeAll(async () => {
    testDatabase = await createTestDatabase({ serviceDir: SERVICE_DIR, name: 'payment_ledger' });
    database = openPaymentDatabase({
      url: testDatabase.url,
      poolMax: 4,
      statementTimeoutMs: 5_000,
    });
  });
  afterAll(async () => {
    await database.close();
    await testDatabase.drop();
  });

  async function newPayment(amount = 1_000n): Promise<string> {
    const id = randomUUID();
    await database.prisma.$executeRaw`
      INSERT INTO payments (id, payer_id, payee_id, amount_minor, currency)
      VALUES (${id}::uuid, ${randomUUID()}::uuid, ${randomUUID()}::uuid, ${amount}, 'EUR')`;
    return id;
  }

  async function balancedPosting(): Promise<{ paymentId: string; payeeId: string }> {
    const paymentId = await newPayment();
    const payeeId = randomUUID();
    await database.prisma.$transaction((tx) =>
      postLedgerTransaction(tx, {
        kind: 'settlement',
        reference: `settlement:${paymentId}`,
        paymentId,
        currency: 'EUR',
        postings: [
          { account: { kind: 'provider_clearing' }, amount: -1_000n },
          { account: { kind: 'user', userId: payeeId }, amount: 950n },
          { account: { kind: 'fee_revenue' }, amount: 50n },
        ],
      }),
    );
    return { paymentId, payeeId };
  }

  it('accepts a balanced transaction and computes balances from postings', async () => {
    const { payeeId } = await balancedPosting();
    expect(await userBalances(database.prisma, payeeId)).toEqual([
      { currency: 'EUR', amount: 950n },
    ]);
  });

  it('rejects UPDATE of a posting (acceptance 5)', async () => {
    await balancedPosting();
    await expect(
      database.pool.query('UPDATE postings SET amount_minor = amount_minor + 1'),
    ).rejects.toThrow(/append-only: UPDATE on postings/);
  });

  it('rejects DELETE of a posting and TRUNCATE of the table (acceptance 5)', async () => {
    await balancedPosting();
    await expect(database.pool.query('DELETE FROM postings')).rejects.toThrow(
      /append-only: DELETE on postings/,
    );
    await expect(database.pool.query('TRUNCATE postings CASCADE')).rejects.toThrow(
      /append-only: TRUNCATE/,
    );
    await expect(database.pool.query('DELETE FROM ledger_transactions')).rejects.toThrow(
      /append-only/,
    );
    const { rows } = await database.pool.query<{ count: string }>('SELECT count(*) FROM postings');
    expect(Number(rows[0].count)).toBeGreaterThan(0);
  });

  it('rejects, at commit, a transaction that does not sum to zero, and writes nothing', async () => {
    const paymentId = await newPayment();
    const before = await database.pool.query<{ count: string }>('SELECT count(*) FROM postings');
    await expect(
      database.prisma.$transaction((tx) =>
        postLedgerTransaction(tx, {
          kind: 'settlement',
          reference: `settlement:${paymentId}`,
          paymentId,
          currency: 'EUR',
          postings: [
            { account: { kind: 'provider_clearing' }, amount: -1_000n },
            { account: { kind: 'user', userId: randomUUID() }, amount: 999n },
          ],
        }),
      ),
    ).rejects.toThrow(/does not balance/);
    const after = await database.pool.query<{ count: string }>('SELECT count(*) FROM postings');
    expect(after.rows[0].count).toBe(before.rows[0].count);
  });

  it('rejects raw SQL that bypasses the application, too', async () => {
    const client = await database.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ id: string }>(
        `SELECT id FROM ledger_accounts WHERE kind = 'fee_revenue' AND currency = 'EUR'`,
      );
      const transactionId = randomUUID();
      const paymentId = await newPayment();
      await client.query(
        `INSERT INTO ledger_transactions (id, kind, reference, payment_id) VALUES ($1, 'settlement', $2, $3)`,
        [transactionId, `manual:${transactionId}`, paymentId],
      );
      await client.query(
        `INSERT INTO postings (transaction_id, account_id, currency, amount_minor) VALUES ($1, $2, 'EUR', 5)`,
        [transactionId, rows[0].id],
      );
      await expect(client.query('COMMIT')).rejects.toThrow(/does not balance/);
    } finally {
      client.release();
    }
  });

  it('refuses a posting in another currency than its account', async () => {
    const paymentId = await newPayment();
    const { rows } = await database.pool.query<{ id: string }>(
      `SELECT id FROM ledger_accounts WHERE kind = 'fee_revenue' AND currency = 'EUR'`,
    );
    const transactionId = randomUUID();
    await database.pool.query(
      `INSERT INTO ledger_transactions (id, kind, reference, payment_id) VALUES ($1, 'settlement', $2, $3)`,
      [transactionId, `manual:${transactionId}`, paymentId],
    );
    await expect(
      database.pool.query(
        `INSERT INTO postings (transaction_id, account_id, currency, amount_minor) VALUES ($1, $2, 'USD', 5)`,
        [transactionId, rows[0].id],
      ),
    ).rejects.toThrow(/foreign key/);
  });

  it('refuses a second posting of the same business event', async () => {
    const { paymentId } = await balancedPosting();
    await expect(
      database.prisma.$transaction((tx) =>
        postLedgerTransaction(tx, {
          kind: 'settlement',
          reference: `settlement:${paymentId}`,
          paymentId,
          currency: 'EUR',
          postings: [
            { account: { kind: 'provider_clearing' }, amount: -1n },
            { account: { kind: 'fee_revenue' }, amount: 1n },
          ],
        }),
      ),
    ).rejects.toThrow(/ledger_transactions_reference_key|Unique constraint/);
  });
});
