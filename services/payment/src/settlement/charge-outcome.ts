import { randomUUID } from 'node:crypto';
import { sendEmailJob } from '@strata/jobs';
import { GROUP_KEY, groupItem, type GroupItem } from '@strata/queue';
import { type PaymentTransaction } from '../database';
import { type Payment } from '../generated/prisma/client';
import { type SettlementAccounts } from '../ledger/ledger.repository';
import { platformFee, toSafeNumber } from '../money';
import { outboxOptionsJson } from '../outbox';
import { type SqlRunner, type SqlStatement } from '../sql-runner';
import { type Effect } from './effects';

/** Locks the payment row for the rest of the transaction and reads it (refunds). */
export async function lockPayment(
  tx: PaymentTransaction,
  paymentId: string,
): Promise<Payment | null> {
  const locked = await tx.$queryRaw<
    Array<{ id: string }>
  >`SELECT id::text AS id FROM payments WHERE id = ${paymentId}::uuid FOR UPDATE`;
  if (locked.length === 0) return null;
  return tx.payment.findUnique({ where: { id: paymentId } });
}

/**
 * What settlement reads of a payment: the fields fixed at creation (which is why they may be read
 * before the row is locked) and the status at the time of the read.
 */
export interface PaymentToSettle {
  readonly id: string;
  readonly payerId: string;
  readonly payeeId: string;
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly articleId: string | null;
  readonly status: Payment['status'];
}

interface PaymentRow {
  id: string;
  payerId: string;
  payeeId: string;
  amountMinor: string;
  currency: string;
  articleId: string | null;
  status: Payment['status'];
}

const toPaymentToSettle = (row: PaymentRow): PaymentToSettle => ({
  ...row,
  amountMinor: BigInt(row.amountMinor),
});

const PAYMENT_COLUMNS = `id::text AS id, payer_id::text AS "payerId", payee_id::text AS "payeeId",
  amount_minor::text AS "amountMinor", currency::text AS currency, article_id AS "articleId",
  status::text AS status`;

const READ_PAYMENT: SqlStatement = {
  name: 'payment.settlement.read.v1',
  text: `SELECT ${PAYMENT_COLUMNS} FROM payments WHERE id = $1::uuid`,
};

// The ids' rows, locked in id order (two batches holding some of the same payments cannot
// deadlock), marked where pending; the others as they are: one round trip for the batch.
const MARK_PROCESSING: SqlStatement = {
  name: 'payment.settlement.mark-processing.v2',
  text: `
    WITH locked AS MATERIALIZED (
      SELECT id FROM payments WHERE id = ANY($1::uuid[]) AND status = 'pending'
      ORDER BY id FOR UPDATE
    ),
    marked AS (
      UPDATE payments SET status = 'processing', updated_at = $2::timestamptz
      WHERE id IN (SELECT id FROM locked) AND status = 'pending'
      RETURNING ${PAYMENT_COLUMNS}
    )
    SELECT * FROM marked
    UNION ALL
    SELECT ${PAYMENT_COLUMNS} FROM payments
    WHERE id = ANY($1::uuid[]) AND id::text NOT IN (SELECT id FROM marked)`,
};

/** The payment, or undefined when there is none. */
export async function readPaymentToSettle(
  run: SqlRunner,
  paymentId: string,
): Promise<PaymentToSettle | undefined> {
  const [row] = await run<PaymentRow>(READ_PAYMENT, [paymentId]);
  return row === undefined ? undefined : toPaymentToSettle(row);
}

/**
 * Marks the pending payments among `paymentIds` `processing` (before the provider is called, so
 * that their state shows that a charge may exist) and returns each, in the order asked, as it is
 * now (undefined: no such payment). One statement for the batch.
 */
export async function markProcessing(
  run: SqlRunner,
  paymentIds: readonly string[],
  now: Date,
): Promise<Array<PaymentToSettle | undefined>> {
  const rows = await run<PaymentRow>(MARK_PROCESSING, [paymentIds, now.toISOString()]);
  const byId = new Map(rows.map((row) => [row.id, toPaymentToSettle(row)]));
  return paymentIds.map((id) => byId.get(id.toLowerCase()));
}

export const isOpen = (status: Payment['status']) =>
  status === 'pending' || status === 'processing';

// $1 the batch as a JSON array (one object per payment: the fields of `input` below and its two
// receipt emails as group items of @strata/queue), $2 the settle time, $3 the payment ids again as
// an array: the planner cannot see into the JSON, and `id IN (SELECT payment_id FROM input)` let it
// scan the whole payments table for every batch (measured: 11 ms of PostgreSQL CPU per settlement
// at 20,000 payments, in the bench before it seeded and analyzed its database, so stale plans may
// have added to it: services/payment/README.md, "Session 6"); `= ANY($3)` is read from the primary
// key.
// `locked` takes the payments' row locks in id order (waiting for a concurrent webhook or worker;
// two batches sharing payments cannot deadlock), re-checking the status on the row version it
// locks; the UPDATE settles those still open and everything else reads its RETURNING: a payment
// no longer open is left out of the whole statement, so settlement happens once. The ledger's own
// checks still apply: the unique reference, and the deferred trigger that every transaction sums
// to zero.
// The receipts of the payments this statement settles go into the outbox as ONE row per
// $4 (the email job's grouping.maxItems) emails: a grouped job (job-group.ts) that the
// notification worker unpacks into one email each, with its own idempotency key. Two rows per
// payment, relayed and added to BullMQ one by one, were a third of Redis's work and most of the
// outbox's at 500 payments/s. $5/$6/$7 are the job's queue, name and options.
const SETTLE: SqlStatement = {
  name: 'payment.settlement.settle.v4',
  text: `
    WITH input AS MATERIALIZED (
      SELECT * FROM jsonb_to_recordset($1::jsonb) AS input (
        payment_id uuid, fee bigint, charge_id varchar, transaction_id uuid, reference varchar,
        currency char(3), clearing_account uuid, clearing_amount bigint, payee_account uuid,
        payee_amount bigint, fee_account uuid, fee_amount bigint, receipts jsonb)
    ),
    locked AS MATERIALIZED (
      SELECT id FROM payments
      WHERE id = ANY($3::uuid[]) AND status IN ('pending', 'processing')
      ORDER BY id FOR UPDATE
    ),
    settled AS (
      UPDATE payments
      SET status = 'settled', fee_minor = input.fee, provider_charge_id = input.charge_id,
          settled_at = $2::timestamptz, updated_at = $2::timestamptz
      FROM input
      WHERE payments.id = input.payment_id AND payments.id IN (SELECT id FROM locked)
        AND payments.status IN ('pending', 'processing')
      RETURNING payments.id
    ),
    ledger_transaction AS (
      INSERT INTO ledger_transactions (id, kind, reference, payment_id)
      SELECT input.transaction_id, 'settlement'::ledger_transaction_kind, input.reference, settled.id
      FROM settled JOIN input ON input.payment_id = settled.id
      RETURNING id
    ),
    posted AS (
      INSERT INTO postings (transaction_id, account_id, currency, amount_minor)
      SELECT ledger_transaction.id, entry.account_id, input.currency, entry.amount_minor
      FROM ledger_transaction
      JOIN input ON input.transaction_id = ledger_transaction.id
      CROSS JOIN LATERAL (VALUES (input.clearing_account, input.clearing_amount),
                                 (input.payee_account, input.payee_amount),
                                 (input.fee_account, input.fee_amount))
        AS entry (account_id, amount_minor)
      WHERE entry.amount_minor <> 0
    ),
    receipt AS (
      SELECT item, row_number() OVER (ORDER BY settled.id, ordinality) - 1 AS position
      FROM settled
      JOIN input ON input.payment_id = settled.id
      CROSS JOIN LATERAL jsonb_array_elements(input.receipts) WITH ORDINALITY AS receipts (item, ordinality)
    ),
    outbox AS (
      INSERT INTO outbox_events (id, queue, name, payload, context, options, delay_ms)
      SELECT gen_random_uuid(), $5::text, $6::text,
             jsonb_build_object('${GROUP_KEY}', jsonb_agg(item ORDER BY position)), NULL,
             $7::jsonb, 0
      FROM receipt
      GROUP BY position / $4::int
    )
    SELECT id::text AS id FROM settled`,
};

/** What settling one successful charge needs. */
export interface ChargeToSettle {
  readonly payment: PaymentToSettle;
  readonly chargeId: string;
  readonly accounts: SettlementAccounts;
}

interface SettleRow {
  readonly payment_id: string;
  readonly fee: string;
  readonly charge_id: string;
  readonly transaction_id: string;
  readonly reference: string;
  readonly currency: string;
  readonly clearing_account: string;
  readonly clearing_amount: string;
  readonly payee_account: string;
  readonly payee_amount: string;
  readonly fee_account: string;
  readonly fee_amount: string;
  readonly receipts: readonly GroupItem[];
}

/** Receipts per outbox row: the email job's group size (its worker unpacks the groups). */
const RECEIPTS_PER_ROW = (() => {
  if (sendEmailJob.grouping === undefined) {
    throw new Error('the email job must be groupable: settlement writes receipts as groups');
  }
  return sendEmailJob.grouping.maxItems;
})();
const receiptJobOptions = outboxOptionsJson(sendEmailJob);

async function settleRow(
  { payment, chargeId, accounts }: ChargeToSettle,
  fee: bigint,
): Promise<SettleRow> {
  const data = {
    paymentId: payment.id,
    amountMinor: payment.amountMinor.toString(),
    currency: payment.currency,
    ...(payment.articleId === null ? {} : { articleId: payment.articleId }),
  };
  const receiptKey = `payment-receipt:${payment.id}`;
  const receivedKey = `payment-received:${payment.id}`;
  const receipts = await Promise.all([
    groupItem(sendEmailJob, receiptKey, {
      toUserId: payment.payerId,
      template: 'payment-receipt',
      data,
      idempotencyKey: receiptKey,
    }),
    groupItem(sendEmailJob, receivedKey, {
      toUserId: payment.payeeId,
      template: 'payment-received',
      data: { ...data, netAmountMinor: (payment.amountMinor - fee).toString() },
      idempotencyKey: receivedKey,
    }),
  ]);
  return {
    payment_id: payment.id,
    fee: fee.toString(),
    charge_id: chargeId,
    transaction_id: randomUUID(),
    reference: `settlement:${payment.id}`,
    currency: payment.currency,
    clearing_account: accounts.providerClearing,
    clearing_amount: (-payment.amountMinor).toString(),
    payee_account: accounts.payee,
    payee_amount: (payment.amountMinor - fee).toString(),
    fee_account: accounts.feeRevenue,
    fee_amount: fee.toString(),
    receipts,
  };
}

function settledEffects(payment: PaymentToSettle, settledAt: Date): Effect[] {
  return [
    { kind: 'balance-changed', userId: payment.payeeId },
    {
      kind: 'event',
      recipients: [payment.payerId, payment.payeeId],
      event: {
        type: 'payment.settled',
        at: settledAt,
        data: {
          paymentId: payment.id,
          payerId: payment.payerId,
          payeeId: payment.payeeId,
          amount: { amountMinor: toSafeNumber(payment.amountMinor), currency: payment.currency },
          ...(payment.articleId === null ? {} : { articleId: payment.articleId }),
          settleTime: settledAt,
        },
      },
    },
  ];
}

/**
 * Records successful charges in ONE statement: per payment the settlement postings (clearing
 * −amount, payee +(amount − fee), fee revenue +fee), status SETTLED, receipt emails in the
 * outbox. Resolves, per charge in the order given, to the effects to run after the commit: none
 * for a payment that was no longer open (settled meanwhile by the other of worker and webhook).
 * All or nothing, as one statement is.
 */
export async function settleCharges(
  run: SqlRunner,
  charges: readonly ChargeToSettle[],
  feeBps: number,
): Promise<Effect[][]> {
  // A payment named twice (two jobs for it in one batch) is settled for its first mention only.
  const firstMentions = new Map<string, ChargeToSettle>();
  for (const charge of charges) {
    const id = charge.payment.id.toLowerCase();
    if (isOpen(charge.payment.status) && !firstMentions.has(id)) firstMentions.set(id, charge);
  }
  if (firstMentions.size === 0) return charges.map(() => []);
  const rows = await Promise.all(
    [...firstMentions.values()].map((charge) =>
      settleRow(charge, platformFee(charge.payment.amountMinor, feeBps)),
    ),
  );
  // Timestamptz(3): a JS Date is kept exactly, so the events carry the committed settle time.
  const settledAt = new Date();
  const settled = await run<{ id: string }>(SETTLE, [
    JSON.stringify(rows),
    settledAt.toISOString(),
    rows.map((row) => row.payment_id),
    RECEIPTS_PER_ROW,
    sendEmailJob.queue,
    sendEmailJob.name,
    receiptJobOptions,
  ]);
  const settledIds = new Set(settled.map((row) => row.id));
  return charges.map((charge) => {
    const id = charge.payment.id.toLowerCase();
    return settledIds.has(id) && firstMentions.get(id) === charge
      ? settledEffects(charge.payment, settledAt)
      : [];
  });
}

/**
 * Records one successful charge (`settleCharges` for one). Called by the settlement worker and by
 * the charge.succeeded webhook (inside its transaction), whichever comes first; the other finds
 * the payment settled and does nothing (and the ledger's unique reference would refuse a second
 * posting anyway).
 */
export async function applyChargeSucceeded(
  run: SqlRunner,
  payment: PaymentToSettle,
  chargeId: string,
  feeBps: number,
  accounts: SettlementAccounts,
): Promise<Effect[]> {
  const [effects] = await settleCharges(run, [{ payment, chargeId, accounts }], feeBps);
  return effects;
}

const FAIL: SqlStatement = {
  name: 'payment.settlement.fail.v1',
  text: `
    UPDATE payments SET status = 'failed', failure_reason = $2::varchar, updated_at = $3::timestamptz
    WHERE id = $1::uuid AND status IN ('pending', 'processing')
    RETURNING ${PAYMENT_COLUMNS}`,
};

/** Records a definitive charge failure: status FAILED with the reason; nothing is posted. */
export async function applyChargeFailed(
  run: SqlRunner,
  paymentId: string,
  reason: string,
): Promise<Effect[]> {
  const failureReason = reason.slice(0, 64);
  const failedAt = new Date();
  const [row] = await run<PaymentRow>(FAIL, [paymentId, failureReason, failedAt.toISOString()]);
  if (row === undefined) return [];
  const failed = toPaymentToSettle(row);
  return [
    {
      kind: 'event',
      recipients: [failed.payerId, failed.payeeId],
      event: {
        type: 'payment.failed',
        at: failedAt,
        data: {
          paymentId: failed.id,
          payerId: failed.payerId,
          payeeId: failed.payeeId,
          amount: { amountMinor: toSafeNumber(failed.amountMinor), currency: failed.currency },
          failureReason,
        },
      },
    },
  ];
}
