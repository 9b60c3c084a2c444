import { createHash } from 'node:crypto';
import { ErrorReason, errorReasonToJSON } from '@strata/contracts';
import { aborted, failedPrecondition } from '@strata/grpc';
import { type PaymentDatabase, type PaymentTransaction } from '../database';

export type IdempotencyScope = 'create_payment' | 'create_refund';

export interface StoredResponse {
  readonly requestHash: string;
  readonly response: Uint8Array;
}

/** sha256 of the request body (everything but the key and the actor), in a fixed field order. */
export function requestHash(fields: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex');
}

export const keyReused = () =>
  failedPrecondition(
    errorReasonToJSON(ErrorReason.IDEMPOTENCY_KEY_REUSED),
    'idempotency_key: already used with a different request',
  );

export const requestInFlight = () =>
  aborted(
    'a request with this idempotency key is still in flight; retry later',
    errorReasonToJSON(ErrorReason.IDEMPOTENCY_REQUEST_IN_FLIGHT),
  );

/** The stored first response for this key, or throws when the body differs. */
export function replay(stored: StoredResponse, hash: string): Uint8Array {
  if (stored.requestHash !== hash) throw keyReused();
  return stored.response;
}

/** The live (unexpired) record of a key, if any. */
export async function findIdempotencyRecord(
  client: PaymentDatabase | PaymentTransaction,
  scope: IdempotencyScope,
  actorId: string,
  key: string,
): Promise<StoredResponse | undefined> {
  const rows = await client.$queryRaw<Array<{ requestHash: string; response: Uint8Array }>>`
    SELECT request_hash AS "requestHash", response FROM idempotency_keys
    WHERE scope = ${scope}::idempotency_scope AND actor_id = ${actorId}::uuid AND key = ${key}
      AND expires_at > now()`;
  return rows[0];
}

/** Text hashed into the key's advisory lock id; keys are printable ASCII, so a newline separates safely. */
export function idempotencyLockKey(scope: IdempotencyScope, actorId: string, key: string): string {
  return `${scope}\n${actorId}\n${key}`;
}

/**
 * Takes the key's transaction-scoped advisory lock without waiting. Held until COMMIT/ROLLBACK,
 * it is what makes a concurrent request with the same key see "in flight" instead of running the
 * work a second time; the primary key of idempotency_keys is the backstop.
 */
export async function lockKeyOrFail(
  tx: PaymentTransaction,
  scope: IdempotencyScope,
  actorId: string,
  key: string,
): Promise<void> {
  const rows = await tx.$queryRaw<Array<{ locked: boolean }>>`
    SELECT pg_try_advisory_xact_lock(hashtextextended(${idempotencyLockKey(scope, actorId, key)}, 0)) AS locked`;
  if (!rows[0]?.locked) throw requestInFlight();
}

/** Stores the first response under the key (inside the business transaction). */
export async function storeIdempotencyRecord(
  tx: PaymentTransaction,
  record: {
    scope: IdempotencyScope;
    actorId: string;
    key: string;
    requestHash: string;
    response: Uint8Array;
    resourceId: string;
    ttlHours: number;
  },
): Promise<void> {
  // An expired record of the same key is replaced: keys are only promised for the TTL.
  const written = await tx.$executeRaw`
    INSERT INTO idempotency_keys (scope, actor_id, key, request_hash, response, resource_id, expires_at)
    VALUES (${record.scope}::idempotency_scope, ${record.actorId}::uuid, ${record.key}, ${record.requestHash},
            ${Buffer.from(record.response)}, ${record.resourceId}::uuid,
            now() + make_interval(hours => ${record.ttlHours}::int))
    ON CONFLICT (scope, actor_id, key) DO UPDATE
      SET request_hash = EXCLUDED.request_hash, response = EXCLUDED.response, resource_id = EXCLUDED.resource_id,
          created_at = now(), expires_at = EXCLUDED.expires_at
      WHERE idempotency_keys.expires_at <= now()`;
  // Only reachable if the lock was bypassed: never overwrite a live record.
  if (written !== 1) throw requestInFlight();
}

/** Deletes expired records (run periodically by the worker). */
export function purgeExpiredIdempotencyRecords(database: PaymentDatabase): Promise<number> {
  return database.$executeRaw`
    DELETE FROM idempotency_keys WHERE ctid IN (
      SELECT ctid FROM idempotency_keys WHERE expires_at <= now() LIMIT 10000)`;
}
