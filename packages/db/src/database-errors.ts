// Classifies failures from Prisma (model queries and raw queries over @prisma/adapter-pg) and from
// plain `pg`, so that services map them to gRPC codes without parsing messages.
//
// Where the facts live (checked against prisma 7.10 + adapter-pg 7.10):
// - model queries: PrismaClientKnownRequestError with `code` P2002 (unique), P2003 (foreign key),
//   P2025 (not found), P2034 (write conflict/deadlock), plus `meta.driverAdapterError.cause.originalCode`;
// - raw queries: code P2010 and the same `meta.driverAdapterError.cause.originalCode` SQLSTATE;
// - the adapter's own DriverAdapterError: `cause.originalCode`;
// - `pg`: a DatabaseError whose `code` is the SQLSTATE.

/** PostgreSQL SQLSTATE codes the kit and services care about. */
export const SQLSTATE = {
  UNIQUE_VIOLATION: '23505',
  FOREIGN_KEY_VIOLATION: '23503',
  NOT_NULL_VIOLATION: '23502',
  CHECK_VIOLATION: '23514',
  SERIALIZATION_FAILURE: '40001',
  DEADLOCK_DETECTED: '40P01',
  QUERY_CANCELED: '57014',
  RAISE_EXCEPTION: 'P0001',
} as const;

const PRISMA_CODE = /^P\d{4}$/;
const SQLSTATE_CODE = /^[0-9A-Z]{5}$/;

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

function stringField(value: unknown, key: string): string | undefined {
  const found = field(value, key);
  return typeof found === 'string' ? found : undefined;
}

/** Prisma client errors carry `clientVersion`; their `code` is a Prisma code, not a SQLSTATE. */
function isPrismaClientError(error: unknown): boolean {
  return typeof field(error, 'clientVersion') === 'string';
}

/** The Prisma error code (`P2002`, …) of a Prisma client error, if it is one. */
export function prismaErrorCode(error: unknown): string | undefined {
  if (!isPrismaClientError(error)) return undefined;
  const code = stringField(error, 'code');
  return code !== undefined && PRISMA_CODE.test(code) ? code : undefined;
}

/** The PostgreSQL SQLSTATE behind an error from Prisma, the pg adapter or `pg`, if any. */
export function sqlStateOf(error: unknown): string | undefined {
  const fromAdapter =
    stringField(
      field(field(field(error, 'meta'), 'driverAdapterError'), 'cause'),
      'originalCode',
    ) ?? stringField(field(error, 'cause'), 'originalCode');
  if (fromAdapter !== undefined) return SQLSTATE_CODE.test(fromAdapter) ? fromAdapter : undefined;
  if (isPrismaClientError(error)) return undefined;
  // A `pg` DatabaseError. (SQLSTATE class P0 looks like a Prisma code, hence the check above.)
  const code = stringField(error, 'code');
  return code !== undefined && SQLSTATE_CODE.test(code) ? code : undefined;
}

function matches(
  error: unknown,
  prismaCodes: readonly string[],
  sqlStates: readonly string[],
): boolean {
  const prismaCode = prismaErrorCode(error);
  if (prismaCode !== undefined && prismaCodes.includes(prismaCode)) return true;
  const sqlState = sqlStateOf(error);
  return sqlState !== undefined && sqlStates.includes(sqlState);
}

/** A unique constraint rejected the write (P2002 / 23505): map to ALREADY_EXISTS. */
export function isUniqueViolation(error: unknown): boolean {
  return matches(error, ['P2002'], [SQLSTATE.UNIQUE_VIOLATION]);
}

/** A foreign key rejected the write (P2003 / 23503): usually FAILED_PRECONDITION or NOT_FOUND. */
export function isForeignKeyViolation(error: unknown): boolean {
  return matches(error, ['P2003'], [SQLSTATE.FOREIGN_KEY_VIOLATION]);
}

/** A CHECK constraint rejected the write (23514), e.g. a balance that would go negative. */
export function isCheckViolation(error: unknown): boolean {
  return matches(error, [], [SQLSTATE.CHECK_VIOLATION]);
}

/** An `update`/`delete`/`…OrThrow` found no record (P2025): map to NOT_FOUND. */
export function isRecordNotFound(error: unknown): boolean {
  return prismaErrorCode(error) === 'P2025';
}

/**
 * The transaction lost a race and may succeed if run again: serialization failure or deadlock
 * (P2034 / 40001 / 40P01).
 */
export function isRetryableTransactionError(error: unknown): boolean {
  return matches(error, ['P2034'], [SQLSTATE.SERIALIZATION_FAILURE, SQLSTATE.DEADLOCK_DETECTED]);
}

/** The server cancelled the statement (57014), which is what `statement_timeout` does. */
export function isStatementTimeout(error: unknown): boolean {
  return sqlStateOf(error) === SQLSTATE.QUERY_CANCELED;
}
