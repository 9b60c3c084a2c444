import { randomUUID } from 'node:crypto';
import { type PaymentDatabase, type PaymentTransaction } from '../database';

/** The owner of platform accounts (kept NOT NULL so accounts stay unique per currency). */
export const PLATFORM_OWNER_ID = '00000000-0000-0000-0000-000000000000';

export type LedgerAccountRef =
  | { readonly kind: 'user'; readonly userId: string }
  | { readonly kind: 'provider_clearing' | 'fee_revenue' };

export interface PostingInput {
  readonly account: LedgerAccountRef;
  /** Signed integer minor units; zero entries are skipped. */
  readonly amount: bigint;
}

export interface LedgerTransactionInput {
  readonly kind: 'settlement' | 'refund';
  /** Natural key (`settlement:<payment id>`, `refund:<refund id>`), unique in the database. */
  readonly reference: string;
  readonly paymentId: string;
  readonly refundId?: string;
  readonly currency: string;
  readonly postings: readonly PostingInput[];
}

function ownerOf(account: LedgerAccountRef): string {
  return account.kind === 'user' ? account.userId : PLATFORM_OWNER_ID;
}

/** The account's id, created on first use. Two statements: see the comment inside. */
async function accountId(
  tx: PaymentTransaction,
  account: LedgerAccountRef,
  currency: string,
): Promise<string> {
  const owner = ownerOf(account);
  const inserted = await tx.$queryRaw<Array<{ id: string }>>`
    INSERT INTO ledger_accounts (id, kind, user_id, currency)
    VALUES (${randomUUID()}::uuid, ${account.kind}::ledger_account_kind, ${owner}::uuid, ${currency})
    ON CONFLICT (kind, user_id, currency) DO NOTHING
    RETURNING id::text AS id`;
  if (inserted[0]) return inserted[0].id;
  // A separate statement: under READ COMMITTED it takes a new snapshot, so it sees the row a
  // concurrent transaction committed while our INSERT waited on it.
  const existing = await tx.$queryRaw<Array<{ id: string }>>`
    SELECT id::text AS id FROM ledger_accounts
    WHERE kind = ${account.kind}::ledger_account_kind AND user_id = ${owner}::uuid AND currency = ${currency}`;
  if (!existing[0]) throw new Error(`ledger account ${account.kind}/${owner}/${currency} vanished`);
  return existing[0].id;
}

/**
 * Posts one ledger transaction (inside the caller's transaction). The database checks at COMMIT
 * that it sums to zero per currency, and its unique reference makes a second posting of the same
 * business event fail instead of moving money twice.
 */
export async function postLedgerTransaction(
  tx: PaymentTransaction,
  input: LedgerTransactionInput,
): Promise<string> {
  const id = randomUUID();
  await tx.$executeRaw`
    INSERT INTO ledger_transactions (id, kind, reference, payment_id, refund_id)
    VALUES (${id}::uuid, ${input.kind}::ledger_transaction_kind, ${input.reference}, ${input.paymentId}::uuid,
            ${input.refundId ?? null}::uuid)`;
  const rows: Array<{ accountId: string; amount: bigint }> = [];
  for (const posting of input.postings) {
    if (posting.amount === 0n) continue;
    rows.push({
      accountId: await accountId(tx, posting.account, input.currency),
      amount: posting.amount,
    });
  }
  await tx.$executeRaw`
    INSERT INTO postings (transaction_id, account_id, currency, amount_minor)
    SELECT ${id}::uuid, account_id, ${input.currency}, amount_minor
    FROM unnest(${rows.map((row) => row.accountId)}::uuid[], ${rows.map((row) => row.amount.toString())}::bigint[])
      AS p(account_id, amount_minor)`;
  return id;
}

/** A user's balance per currency, summed from postings (sorted by currency). */
export async function userBalances(
  database: PaymentDatabase,
  userId: string,
): Promise<Array<{ currency: string; amount: bigint }>> {
  const rows = await database.$queryRaw<Array<{ currency: string; amount: bigint }>>`
    SELECT a.currency, COALESCE(SUM(p.amount_minor), 0)::bigint AS amount
    FROM ledger_accounts a LEFT JOIN postings p ON p.account_id = a.id
    WHERE a.kind = 'user' AND a.user_id = ${userId}::uuid
    GROUP BY a.currency ORDER BY a.currency`;
  return rows.map((row) => ({ currency: row.currency, amount: BigInt(row.amount) }));
}
