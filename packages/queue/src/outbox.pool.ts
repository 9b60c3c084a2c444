import { type OutboxDatabase, type OutboxTransactionClient } from './outbox';

/**
 * The part of a `pg` Pool the relay needs. Structural, so that @strata/queue does not depend on
 * `pg`: a service passes the pool under its Prisma adapter (`@strata/db`'s `pool`).
 */
export interface OutboxPool {
  connect(): Promise<OutboxPoolClient>;
}

export interface OutboxPoolClient {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
  /** `true` (or an error) destroys the connection instead of returning it to the pool. */
  release(destroy?: boolean | Error): void;
  /**
   * A checked-out `pg` client reports a connection lost between statements (the server ending an
   * idle transaction, a restart) only as an `error` event, and the pool listens for it only while
   * the client is idle: without a listener of ours that event would crash the process.
   */
  on(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
}

/** `$1 … $n` for the values of a tagged template, as Prisma's `$queryRaw` binds them. */
function templateSql(strings: TemplateStringsArray): string {
  return strings.reduce((sql, part, index) => `${sql}$${index}${part}`);
}

class TransactionTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`outbox transaction timed out after ${timeoutMs} ms`);
    this.name = 'TransactionTimeoutError';
  }
}

/**
 * The relay's database as a `pg` pool instead of a Prisma client: the same statements, bound the
 * same way, in a plain `BEGIN … COMMIT` on one pooled connection. Why: a Prisma interactive
 * transaction costs the relay's process far more than its four statements (the payment worker's
 * profile at 500 payments/s had 10 % of its CPU in Prisma's client runtime, nearly all of it the
 * relay's).
 *
 * `timeout` bounds the whole transaction as Prisma's does: past it the connection is destroyed,
 * which makes PostgreSQL roll back. `maxWait` is the pool's own (`connectionTimeoutMillis`).
 */
export function poolOutboxDatabase(pool: OutboxPool): OutboxDatabase {
  return {
    async $transaction<Result>(
      work: (tx: OutboxTransactionClient) => Promise<Result>,
      options: { maxWait?: number; timeout?: number } = {},
    ): Promise<Result> {
      const client = await pool.connect();
      let timer: NodeJS.Timeout | undefined;
      let destroy = false;
      // The relay sets the session's idle-in-transaction timeout to `timeout` too, so the server
      // may end a frozen round's connection just before our timer fires. The lost connection
      // fails the next statement (or the timer does); the event itself only has to be absorbed.
      let connectionLost: Error | undefined;
      const onConnectionError = (error: Error) => {
        connectionLost = error;
      };
      client.on('error', onConnectionError);
      try {
        await client.query('BEGIN');
        const tx: OutboxTransactionClient = {
          $queryRaw: async <Row>(query: TemplateStringsArray, ...values: unknown[]) =>
            (await client.query(templateSql(query), values)).rows as Row,
          $executeRaw: async (query: TemplateStringsArray, ...values: unknown[]) =>
            (await client.query(templateSql(query), values)).rowCount ?? 0,
        };
        const timeoutMs = options.timeout;
        const result =
          timeoutMs === undefined
            ? await work(tx)
            : await Promise.race([
                work(tx),
                new Promise<never>((_, reject) => {
                  timer = setTimeout(
                    () => reject(new TransactionTimeoutError(timeoutMs)),
                    timeoutMs,
                  );
                }),
              ]);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        // A timed-out transaction may still have a statement running on the connection: only
        // closing it stops that (and rolls back). Otherwise a ROLLBACK returns it to the pool
        // clean, and a connection that cannot even do that is dropped.
        destroy = error instanceof TransactionTimeoutError || connectionLost !== undefined;
        if (!destroy) {
          await client.query('ROLLBACK').catch(() => {
            destroy = true;
          });
        }
        throw error;
      } finally {
        clearTimeout(timer);
        client.off('error', onConnectionError);
        client.release(connectionLost ?? destroy);
      }
    },
  };
}
