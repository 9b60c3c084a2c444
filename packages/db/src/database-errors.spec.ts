import {
  isCheckViolation,
  isForeignKeyViolation,
  isRecordNotFound,
  isRetryableTransactionError,
  isStatementTimeout,
  isUniqueViolation,
  prismaErrorCode,
  sqlStateOf,
} from './database-errors';

// Shapes observed from prisma 7.10 + @prisma/adapter-pg 7.10 (see database.int-spec.ts for the
// same classifications on real errors).
function prismaError(code: string, originalCode?: string): Error {
  return Object.assign(new Error(`prisma ${code}`), {
    code,
    clientVersion: '7.10.0',
    meta:
      originalCode === undefined
        ? { modelName: 'Account' }
        : {
            driverAdapterError: {
              name: 'DriverAdapterError',
              cause: { originalCode, kind: 'postgres' },
            },
          },
  });
}

function pgError(code: string): Error {
  return Object.assign(new Error(`pg ${code}`), { code, severity: 'ERROR' });
}

describe('database error classifiers', () => {
  it('recognise unique violations from model queries, raw queries and pg', () => {
    expect(isUniqueViolation(prismaError('P2002'))).toBe(true);
    expect(isUniqueViolation(prismaError('P2010', '23505'))).toBe(true);
    expect(isUniqueViolation(pgError('23505'))).toBe(true);
    expect(isUniqueViolation(prismaError('P2010', '23503'))).toBe(false);
    expect(isUniqueViolation(new Error('duplicate'))).toBe(false);
  });

  it('recognise the other constraint failures and missing records', () => {
    expect(isForeignKeyViolation(prismaError('P2003'))).toBe(true);
    expect(isForeignKeyViolation(pgError('23503'))).toBe(true);
    expect(isCheckViolation(prismaError('P2010', '23514'))).toBe(true);
    expect(isRecordNotFound(prismaError('P2025'))).toBe(true);
    expect(isRecordNotFound(prismaError('P2002'))).toBe(false);
  });

  it('treat write conflicts, serialization failures and deadlocks as retryable, nothing else', () => {
    expect(isRetryableTransactionError(prismaError('P2034', '40001'))).toBe(true);
    expect(isRetryableTransactionError(prismaError('P2010', '40P01'))).toBe(true);
    expect(isRetryableTransactionError(pgError('40001'))).toBe(true);
    expect(isRetryableTransactionError(prismaError('P2002'))).toBe(false);
    expect(isRetryableTransactionError('40001')).toBe(false);
    expect(isRetryableTransactionError(undefined)).toBe(false);
  });

  it('recognise a cancelled statement as a statement timeout', () => {
    expect(isStatementTimeout(prismaError('P2010', '57014'))).toBe(true);
    expect(isStatementTimeout(pgError('57014'))).toBe(true);
    expect(isStatementTimeout(prismaError('P2010', '22012'))).toBe(false);
  });

  it('keep Prisma codes and SQLSTATEs apart, even PL/pgSQL ones that look alike (P0001)', () => {
    expect(prismaErrorCode(prismaError('P2002'))).toBe('P2002');
    expect(prismaErrorCode(pgError('P0001'))).toBeUndefined();
    expect(sqlStateOf(pgError('P0001'))).toBe('P0001');
    expect(sqlStateOf(prismaError('P2002'))).toBeUndefined();
    expect(sqlStateOf(prismaError('P2010', '22012'))).toBe('22012');
  });
});
