import { setTimeout as sleep } from 'node:timers/promises';
import { isRetryableTransactionError } from './database-errors';

/** Prisma's isolation level names (the generated `Prisma.TransactionIsolationLevel`). */
export type IsolationLevel =
  'ReadUncommitted' | 'ReadCommitted' | 'RepeatableRead' | 'Serializable';

/** The interactive-transaction half of a generated `PrismaClient` (or of an extended one). */
export interface TransactionalClient<TTransaction> {
  $transaction<R>(
    fn: (transaction: TTransaction) => Promise<R>,
    options?: { maxWait?: number; timeout?: number; isolationLevel?: IsolationLevel },
  ): Promise<R>;
}

export interface RetryInfo {
  /** The attempt that failed (1 = the first run). */
  readonly attempt: number;
  /** How long the helper waits before the next attempt. */
  readonly delayMs: number;
  readonly error: unknown;
}

export interface TransactionOptions {
  /** Default: the database's (READ COMMITTED on PostgreSQL). */
  readonly isolationLevel?: IsolationLevel;
  /** Further attempts after the first when the transaction loses a race. Default 3. */
  readonly maxRetries?: number;
  /** Longest the whole transaction may run before Prisma rolls it back. Default 5 000 ms. */
  readonly timeoutMs?: number;
  /** Longest to wait for a pooled connection to start the transaction. Default 2 000 ms. */
  readonly maxWaitMs?: number;
  /** Backoff base: attempt n waits a random time up to `baseDelayMs · 2^(n-1)`. Default 20 ms. */
  readonly baseDelayMs?: number;
  /** Backoff ceiling. Default 500 ms. */
  readonly maxDelayMs?: number;
  /** Called before each retry (log it, count it). */
  readonly onRetry?: (info: RetryInfo) => void;
}

export const TRANSACTION_DEFAULTS = {
  maxRetries: 3,
  timeoutMs: 5_000,
  maxWaitMs: 2_000,
  baseDelayMs: 20,
  maxDelayMs: 500,
} as const;

/**
 * Runs `fn` in an interactive transaction and runs it again, from the start, when PostgreSQL
 * aborts it as a serialization failure or deadlock (SQLSTATE 40001/40P01, Prisma P2034), waiting a
 * jittered, exponentially growing delay between attempts so that the contenders spread out.
 *
 * `fn` must be safe to re-run: keep side effects other than database writes (publishing, HTTP
 * calls) out of it, or behind the transactional outbox. Other errors are rethrown at once; after
 * `maxRetries` retries the last error is rethrown.
 *
 * @example
 * ```ts
 * const payment = await withTransaction(database.prisma, async (tx) => {
 *   const wallet = await tx.wallet.findUniqueOrThrow({ where: { id } });
 *   return tx.payment.create({ data: { walletId: wallet.id, amountMinor } });
 * }, { isolationLevel: 'Serializable' });
 * ```
 */
export async function withTransaction<TTransaction, TResult>(
  prisma: TransactionalClient<TTransaction>,
  fn: (transaction: TTransaction, attempt: number) => Promise<TResult>,
  options: TransactionOptions = {},
): Promise<TResult> {
  const maxRetries = options.maxRetries ?? TRANSACTION_DEFAULTS.maxRetries;
  const baseDelayMs = options.baseDelayMs ?? TRANSACTION_DEFAULTS.baseDelayMs;
  const maxDelayMs = options.maxDelayMs ?? TRANSACTION_DEFAULTS.maxDelayMs;
  const transactionOptions = {
    timeout: options.timeoutMs ?? TRANSACTION_DEFAULTS.timeoutMs,
    maxWait: options.maxWaitMs ?? TRANSACTION_DEFAULTS.maxWaitMs,
    ...(options.isolationLevel === undefined ? {} : { isolationLevel: options.isolationLevel }),
  };

  for (let attempt = 1; ; attempt++) {
    try {
      return await prisma.$transaction(
        (transaction) => fn(transaction, attempt),
        transactionOptions,
      );
    } catch (error) {
      if (attempt > maxRetries || !isRetryableTransactionError(error)) throw error;
      const delayMs = backoffDelay(attempt, baseDelayMs, maxDelayMs);
      options.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs);
    }
  }
}

/** "Full jitter": uniformly random in [0, min(max, base · 2^(attempt-1))]. */
export function backoffDelay(
  attempt: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random = Math.random,
): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
  return Math.round(random() * ceiling);
}
