// @strata/db: Prisma 7 over a pooled `pg` driver adapter, an interactive-transaction helper that
// retries lost races, and error classifiers. Each service brings its own generated client.
export {
  createDatabase,
  DATABASE_DEFAULTS,
  toPoolConfig,
  type Database,
  type DatabaseOptions,
  type ManagedPrismaClient,
  type PrismaClientConstructor,
  type PrismaClientSettings,
} from './database';
export {
  backoffDelay,
  TRANSACTION_DEFAULTS,
  withTransaction,
  type IsolationLevel,
  type RetryInfo,
  type TransactionalClient,
  type TransactionOptions,
} from './transaction';
export {
  isCheckViolation,
  isForeignKeyViolation,
  isRecordNotFound,
  isRetryableTransactionError,
  isStatementTimeout,
  isUniqueViolation,
  prismaErrorCode,
  sqlStateOf,
  SQLSTATE,
} from './database-errors';
