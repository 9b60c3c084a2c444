import { idempotencyLockKey, type StoredResponse } from '../idempotency/idempotency.repository';
import { type OutboxRow } from '../outbox';
import { type SqlPool } from '../sql-runner';

/** Everything CreatePayment writes, computed before the statement runs. */
export interface PaymentInsert {
  readonly payment: {
    readonly id: string;
    readonly payerId: string;
    readonly payeeId: string;
    readonly amountMinor: number;
    readonly currency: string;
    readonly articleId: string | null;
    readonly note: string | null;
    /** Also update_time: set here, not by a column default, because the stored response holds it. */
    readonly createdAt: Date;
  };
  readonly idempotency: {
    readonly key: string;
    readonly requestHash: string;
    /** The encoded CreatePaymentResponse, built from exactly the values inserted. */
    readonly response: Uint8Array;
    readonly ttlHours: number;
  };
  readonly outbox: OutboxRow;
}

export type PaymentInsertOutcome =
  /** The three rows were written and committed. */
  | { readonly kind: 'created' }
  /** A live record for the key was already committed: replay it (or KEY_REUSED). */
  | { readonly kind: 'stored'; readonly stored: StoredResponse }
  /** Another transaction holds the key's lock: IDEMPOTENCY_REQUEST_IN_FLIGHT. */
  | { readonly kind: 'in-flight' }
  /**
   * Lock taken but the key's record was committed after this statement's snapshot (a request with
   * the same key finished in between): nothing was written, the caller re-reads the record.
   */
  | { readonly kind: 'committed-meanwhile' };

interface OutcomeRow {
  locked: boolean;
  created: boolean;
  requestHash: string | null;
  response: Uint8Array | null;
}

// $1 lock text, $2 payer, $3 key, $4 request hash, $5 response, $6 payment id, $7 TTL hours,
// $8 payee, $9 amount, $10 currency, $11 article, $12 note, $13 create time,
// $14–$20 outbox id, queue, name, payload, context, options, delay (the columns and casts of
// @strata/queue's enqueueInTransaction; outbox.spec.ts checks they still match).
const INSERT_PAYMENT_SQL = `
  WITH lock AS MATERIALIZED (
    SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS locked
  ),
  idem AS (
    INSERT INTO idempotency_keys (scope, actor_id, key, request_hash, response, resource_id, created_at, expires_at)
    SELECT 'create_payment'::idempotency_scope, $2::uuid, $3::varchar, $4::char(64), $5::bytea, $6::uuid, now(),
           now() + make_interval(hours => $7::int)
    FROM lock WHERE lock.locked
    ON CONFLICT (scope, actor_id, key) DO UPDATE
      SET request_hash = EXCLUDED.request_hash, response = EXCLUDED.response, resource_id = EXCLUDED.resource_id,
          created_at = now(), expires_at = EXCLUDED.expires_at
      WHERE idempotency_keys.expires_at <= now()
    RETURNING resource_id
  ),
  payment AS (
    INSERT INTO payments (id, payer_id, payee_id, amount_minor, currency, article_id, note, created_at, updated_at)
    SELECT idem.resource_id, $2::uuid, $8::uuid, $9::bigint, $10::char(3), $11::varchar, $12::varchar,
           $13::timestamptz, $13::timestamptz
    FROM idem
    RETURNING id
  ),
  outbox AS (
    INSERT INTO outbox_events (id, queue, name, payload, context, options, delay_ms)
    SELECT $14::uuid, $15::text, $16::text, $17::jsonb, $18::jsonb, $19::jsonb, $20::int
    FROM payment
    RETURNING id
  )
  SELECT lock.locked,
         EXISTS (SELECT 1 FROM outbox) AS created,
         stored.request_hash AS "requestHash",
         stored.response
  FROM lock
  LEFT JOIN idempotency_keys stored
    ON stored.scope = 'create_payment' AND stored.actor_id = $2::uuid AND stored.key = $3::varchar
       AND stored.expires_at > now()`;

/**
 * Writes the payment, its idempotency record and the settlement job's outbox row in ONE
 * statement (one round trip, its own implicit transaction), with the same guarantees as the
 * interactive transaction it replaces:
 *
 * - `lock` takes the key's transaction-scoped advisory lock without waiting (the same lock id as
 *   `lockKeyOrFail`, so refunds' helpers, tests and older replicas agree on it); it is held until
 *   the statement commits. MATERIALIZED: evaluated exactly once, never inlined.
 * - `idem` inserts the record only when the lock was taken. A live record of the key makes it a
 *   no-op (ON CONFLICT … WHERE expired), an expired one is replaced, as `storeIdempotencyRecord`.
 * - `payment` and `outbox` insert only if `idem` returned its row: the data dependency through
 *   RETURNING is what orders them, so either all three rows commit or none.
 * - The final SELECT reads the key's live record from the statement's snapshot (data-modifying
 *   CTEs are invisible to it), i.e. the record a duplicate must replay.
 *
 * It runs on the `pg` pool under Prisma, as a named prepared statement, rather than through
 * `prisma.$queryRaw`: measured on this machine, Prisma's raw-query path cost ~500–750 µs of Node
 * CPU per call for these 20 parameters against ~180 µs for a prepared statement (and PostgreSQL
 * re-planned the CTE on every unnamed execution). README, "Benchmark", has the numbers.
 */
export async function insertPayment(
  pool: SqlPool,
  insert: PaymentInsert,
): Promise<PaymentInsertOutcome> {
  const { payment, idempotency, outbox } = insert;
  const { rows } = await pool.query<OutcomeRow>({
    name: 'payment.create-payment.v1',
    text: INSERT_PAYMENT_SQL,
    values: [
      idempotencyLockKey('create_payment', payment.payerId, idempotency.key),
      payment.payerId,
      idempotency.key,
      idempotency.requestHash,
      Buffer.from(idempotency.response),
      payment.id,
      idempotency.ttlHours,
      payment.payeeId,
      payment.amountMinor,
      payment.currency,
      payment.articleId,
      payment.note,
      payment.createdAt.toISOString(),
      outbox.id,
      outbox.queue,
      outbox.name,
      outbox.payload,
      outbox.context,
      outbox.options,
      outbox.delayMs,
    ],
  });
  const row = rows[0];
  if (!row) throw new Error('create payment statement returned no row');
  if (row.created) return { kind: 'created' };
  if (row.requestHash !== null && row.response !== null) {
    return { kind: 'stored', stored: { requestHash: row.requestHash, response: row.response } };
  }
  return row.locked ? { kind: 'committed-meanwhile' } : { kind: 'in-flight' };
}
