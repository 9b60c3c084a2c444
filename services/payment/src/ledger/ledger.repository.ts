import { randomUUID } from 'node:crypto';
import { type PaymentDatabase, type PaymentTransaction } from '../database';
import { type SqlRunner, type SqlStatement, transactionRunner } from '../sql-runner';

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

const INSERT_ACCOUNT: SqlStatement = {
  name: 'payment.ledger.insert-account.v1',
  text: `
    INSERT INTO ledger_accounts (id, kind, user_id, currency)
    VALUES ($1::uuid, $2::ledger_account_kind, $3::uuid, $4::char(3))
    ON CONFLICT (kind, user_id, currency) DO NOTHING
    RETURNING id::text AS id`,
};

const SELECT_ACCOUNT: SqlStatement = {
  name: 'payment.ledger.select-account.v1',
  text: `
    SELECT id::text AS id FROM ledger_accounts
    WHERE kind = $1::ledger_account_kind AND user_id = $2::uuid AND currency = $3::char(3)`,
};

/** The account's id, created on first use. Two statements: see the comment inside. */
export async function ensureLedgerAccount(
  run: SqlRunner,
  account: LedgerAccountRef,
  currency: string,
): Promise<string> {
  const owner = ownerOf(account);
  const inserted = await run<{ id: string }>(INSERT_ACCOUNT, [
    randomUUID(),
    account.kind,
    owner,
    currency,
  ]);
  if (inserted[0]) return inserted[0].id;
  // A separate statement: under READ COMMITTED it takes a new snapshot, so it sees the row a
  // concurrent transaction committed while our INSERT waited on it.
  const existing = await run<{ id: string }>(SELECT_ACCOUNT, [account.kind, owner, currency]);
  if (!existing[0]) throw new Error(`ledger account ${account.kind}/${owner}/${currency} vanished`);
  return existing[0].id;
}

const accountId = (tx: PaymentTransaction, account: LedgerAccountRef, currency: string) =>
  ensureLedgerAccount(transactionRunner(tx), account, currency);

/** The accounts a settlement posts to. */
export interface SettlementAccounts {
  readonly providerClearing: string;
  readonly payee: string;
  readonly feeRevenue: string;
}

const MAX_CACHED_ACCOUNTS = 50_000;

/**
 * Ledger account ids by owner, remembered by the process. Safe to cache without expiry: an
 * account's id never changes and accounts are never deleted (postings reference them with
 * ON DELETE RESTRICT, and no code path deletes one), so only "not created yet" is ever asked of
 * the database. Saves the settlement hot path six statements per payment. (Built on a transaction's
 * runner it is a one-off lookup that creates missing accounts inside that transaction.)
 */
export class LedgerAccountDirectory {
  private readonly ids = new Map<string, string>();

  constructor(private readonly run: SqlRunner) {}

  async settlementAccounts(payeeId: string, currency: string): Promise<SettlementAccounts> {
    // One after the other: a runner inside a transaction takes one statement at a time, and
    // cached ids cost nothing anyway.
    return {
      providerClearing: await this.id({ kind: 'provider_clearing' }, currency),
      payee: await this.id({ kind: 'user', userId: payeeId }, currency),
      feeRevenue: await this.id({ kind: 'fee_revenue' }, currency),
    };
  }

  private async id(account: LedgerAccountRef, currency: string): Promise<string> {
    const key = `${account.kind}/${ownerOf(account)}/${currency}`;
    const cached = this.ids.get(key);
    if (cached !== undefined) return cached;
    const id = await ensureLedgerAccount(this.run, account, currency);
    // A crude bound (accounts per user and currency grow without end); refilling is cheap.
    if (this.ids.size >= MAX_CACHED_ACCOUNTS) this.ids.clear();
    this.ids.set(key, id);
    return id;
  }
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
