import { randomUUID } from 'node:crypto';
import { sendEmailJob } from '@strata/jobs';
import { type PaymentTransaction } from '../database';
import { type Payment } from '../generated/prisma/client';
import { type SettlementAccounts } from '../ledger/ledger.repository';
import { platformFee, toSafeNumber } from '../money';
import { outboxRow, type OutboxRow } from '../outbox';
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

// The UPDATE's row, or (not pending) the row as it is: one round trip either way.
const MARK_PROCESSING: SqlStatement = {
  name: 'payment.settlement.mark-processing.v1',
  text: `
    WITH marked AS (
      UPDATE payments SET status = 'processing', updated_at = $2::timestamptz
      WHERE id = $1::uuid AND status = 'pending'
      RETURNING ${PAYMENT_COLUMNS}
    )
    SELECT * FROM marked
    UNION ALL
    SELECT ${PAYMENT_COLUMNS} FROM payments WHERE id = $1::uuid AND NOT EXISTS (SELECT 1 FROM marked)`,
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
 * Marks a pending payment `processing` (before the provider is called, so that its state shows
 * that a charge may exist) and returns it; any other payment is returned as it is.
 */
export async function markProcessing(
  run: SqlRunner,
  paymentId: string,
  now: Date,
): Promise<PaymentToSettle | undefined> {
  const [row] = await run<PaymentRow>(MARK_PROCESSING, [paymentId, now.toISOString()]);
  return row === undefined ? undefined : toPaymentToSettle(row);
}

export const isOpen = (status: Payment['status']) =>
  status === 'pending' || status === 'processing';

const OUTBOX_VALUES = (first: number) =>
  `($${first}::uuid, $${first + 1}::text, $${first + 2}::text, $${first + 3}::jsonb, $${first + 4}::jsonb, $${first + 5}::jsonb, $${first + 6}::int)`;

// $1 payment, $2 fee, $3 charge id, $4 settle time, $5 ledger transaction id, $6 its reference,
// $7 currency, $8–$13 (account, amount) × 3, $14–$27 two outbox rows (the columns and casts of
// @strata/queue's enqueueInTransaction, as CreatePayment's statement).
// The UPDATE takes the row lock (waiting for a concurrent webhook or worker, then re-checking the
// status on the row it committed) and everything else reads its RETURNING: a payment no longer
// open makes the whole statement a no-op, so settlement happens once. The ledger's own checks still
// apply: the unique reference, and the deferred trigger that every transaction sums to zero.
const SETTLE: SqlStatement = {
  name: 'payment.settlement.settle.v1',
  text: `
    WITH settled AS (
      UPDATE payments
      SET status = 'settled', fee_minor = $2::bigint, provider_charge_id = $3::varchar,
          settled_at = $4::timestamptz, updated_at = $4::timestamptz
      WHERE id = $1::uuid AND status IN ('pending', 'processing')
      RETURNING id
    ),
    ledger_transaction AS (
      INSERT INTO ledger_transactions (id, kind, reference, payment_id)
      SELECT $5::uuid, 'settlement'::ledger_transaction_kind, $6::varchar, settled.id FROM settled
      RETURNING id
    ),
    posted AS (
      INSERT INTO postings (transaction_id, account_id, currency, amount_minor)
      SELECT ledger_transaction.id, entry.account_id, $7::char(3), entry.amount_minor
      FROM ledger_transaction,
           (VALUES ($8::uuid, $9::bigint), ($10::uuid, $11::bigint), ($12::uuid, $13::bigint))
             AS entry (account_id, amount_minor)
      WHERE entry.amount_minor <> 0
    ),
    outbox AS (
      INSERT INTO outbox_events (id, queue, name, payload, context, options, delay_ms)
      SELECT event.* FROM settled,
             (VALUES ${OUTBOX_VALUES(14)}, ${OUTBOX_VALUES(21)})
               AS event (id, queue, name, payload, context, options, delay_ms)
    )
    SELECT EXISTS (SELECT 1 FROM settled) AS settled`,
};

const outboxValues = (row: OutboxRow) => [
  row.id,
  row.queue,
  row.name,
  row.payload,
  row.context,
  row.options,
  row.delayMs,
];

/**
 * Records a successful charge in ONE statement: settlement postings (clearing −amount, payee
 * +(amount − fee), fee revenue +fee), status SETTLED, receipt emails in the outbox. Called by the
 * settlement worker (on the pool) and by the charge.succeeded webhook (inside its transaction),
 * whichever comes first; the other finds the payment settled and does nothing (and the ledger's
 * unique reference would refuse a second posting anyway).
 */
export async function applyChargeSucceeded(
  run: SqlRunner,
  payment: PaymentToSettle,
  chargeId: string,
  feeBps: number,
  accounts: SettlementAccounts,
): Promise<Effect[]> {
  if (!isOpen(payment.status)) return [];
  const fee = platformFee(payment.amountMinor, feeBps);
  // Timestamptz(3): a JS Date is kept exactly, so the event carries the committed settle time.
  const settledAt = new Date();
  const data = {
    paymentId: payment.id,
    amountMinor: payment.amountMinor.toString(),
    currency: payment.currency,
    ...(payment.articleId === null ? {} : { articleId: payment.articleId }),
  };
  const [receipt, received] = await Promise.all([
    outboxRow(sendEmailJob, {
      toUserId: payment.payerId,
      template: 'payment-receipt',
      data,
      idempotencyKey: `payment-receipt:${payment.id}`,
    }),
    outboxRow(sendEmailJob, {
      toUserId: payment.payeeId,
      template: 'payment-received',
      data: { ...data, netAmountMinor: (payment.amountMinor - fee).toString() },
      idempotencyKey: `payment-received:${payment.id}`,
    }),
  ]);
  const [row] = await run<{ settled: boolean }>(SETTLE, [
    payment.id,
    fee.toString(),
    chargeId,
    settledAt.toISOString(),
    randomUUID(),
    `settlement:${payment.id}`,
    payment.currency,
    accounts.providerClearing,
    (-payment.amountMinor).toString(),
    accounts.payee,
    (payment.amountMinor - fee).toString(),
    accounts.feeRevenue,
    fee.toString(),
    ...outboxValues(receipt),
    ...outboxValues(received),
  ]);
  if (row?.settled !== true) return [];
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
