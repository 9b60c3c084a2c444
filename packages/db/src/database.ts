import { PrismaPg } from '@prisma/adapter-pg';
import { type Logger } from '@strata/logger';
import { Pool, type PoolConfig } from 'pg';

/** Pool and session settings; services fill them from their validated config (DB_POOL_MAX, …). */
export interface DatabaseOptions {
  /** `postgresql://user:password@host:port/database`. */
  readonly url: string;
  /** Most connections this process opens. Default 10. */
  readonly poolMax?: number;
  /** How long to wait for a connection (new or from the pool) before failing. Default 5 000 ms. */
  readonly connectionTimeoutMs?: number;
  /** Close connections idle this long. Default 30 000 ms. */
  readonly idleTimeoutMs?: number;
  /** Server-side `statement_timeout` for every statement on these connections; 0 disables. Default 10 000 ms. */
  readonly statementTimeoutMs?: number;
  /**
   * Server-side `idle_in_transaction_session_timeout`: ends a session that holds a transaction
   * open without running anything (a leaked transaction would otherwise keep its locks). Default 60 000 ms.
   */
  readonly idleInTransactionTimeoutMs?: number;
  /** Shown in `pg_stat_activity.application_name`. Default `strata`. */
  readonly applicationName?: string;
  /** PostgreSQL schema the generated queries target (Prisma's `?schema=`). Default: the search_path. */
  readonly schema?: string;
  /** Receives pool errors (a dropped idle connection), which would otherwise crash the process. */
  readonly logger?: Pick<Logger, 'warn'>;
  /**
   * Client-wide default for how long `prisma.$transaction(fn)` waits to start (mostly: for a pooled
   * connection) before failing. Prisma's default is 2 000 ms. {@link withTransaction} passes its
   * own `maxWaitMs`, which wins over this.
   */
  readonly transactionMaxWaitMs?: number;
  /**
   * Client-wide default for how long an interactive transaction may run before Prisma rolls it
   * back. Prisma's default is 5 000 ms. {@link withTransaction} passes its own `timeoutMs`.
   */
  readonly transactionTimeoutMs?: number;
  /**
   * Called with the SQL of every statement the client sends (Prisma's `query` log event), e.g. for
   * tests that count queries. Absent, the client logs nothing and pays nothing for it.
   */
  readonly onQuery?: (sql: string) => void;
}

/** What a service's generated `PrismaClient` must offer for this kit to manage it. */
export interface ManagedPrismaClient {
  $disconnect(): Promise<void>;
}

/** The subset of Prisma's client options {@link createDatabase} passes to the constructor. */
export interface PrismaClientSettings {
  adapter: PrismaPg;
  /** Set only when {@link DatabaseOptions.onQuery} is given. */
  log?: { emit: 'event'; level: 'query' }[];
  transactionOptions?: { maxWait?: number; timeout?: number };
}

/** The generated `PrismaClient` class of a service (`src/generated/prisma/client`). */
export type PrismaClientConstructor<TClient extends ManagedPrismaClient> = new (
  options: PrismaClientSettings,
) => TClient;

/** A client built with `log: [{ emit: 'event', level: 'query' }]` (every generated client is). */
interface QueryEventSource {
  $on(event: 'query', callback: (event: { query: string }) => void): unknown;
}

function emitsQueryEvents(client: object): client is QueryEventSource {
  return '$on' in client && typeof client.$on === 'function';
}

/** The constructor options for {@link DatabaseOptions}: Prisma's defaults stay where none is set. */
function toPrismaClientSettings(options: DatabaseOptions, adapter: PrismaPg): PrismaClientSettings {
  const transactionOptions = {
    ...(options.transactionMaxWaitMs === undefined
      ? {}
      : { maxWait: options.transactionMaxWaitMs }),
    ...(options.transactionTimeoutMs === undefined
      ? {}
      : { timeout: options.transactionTimeoutMs }),
  };
  return {
    adapter,
    ...(options.onQuery === undefined ? {} : { log: [{ emit: 'event', level: 'query' }] }),
    ...(Object.keys(transactionOptions).length === 0 ? {} : { transactionOptions }),
  };
}

export interface Database<TClient extends ManagedPrismaClient> {
  /** The service's own generated client, with its own model types. */
  readonly prisma: TClient;
  /** The pool under the client, for readiness checks, metrics and raw `pg` work. */
  readonly pool: Pool;
  /** True when a trivial query succeeds within the connection timeout. Never throws. */
  ping(): Promise<boolean>;
  /** Disconnects the client, then ends the pool. Safe to call more than once. */
  close(): Promise<void>;
}

export const DATABASE_DEFAULTS = {
  poolMax: 10,
  connectionTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
  statementTimeoutMs: 10_000,
  idleInTransactionTimeoutMs: 60_000,
  applicationName: 'strata',
} as const;

/** The `pg.Pool` settings {@link createDatabase} uses; exported for tests and raw-pg tooling. */
export function toPoolConfig(options: DatabaseOptions): PoolConfig {
  return {
    connectionString: options.url,
    max: options.poolMax ?? DATABASE_DEFAULTS.poolMax,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? DATABASE_DEFAULTS.connectionTimeoutMs,
    idleTimeoutMillis: options.idleTimeoutMs ?? DATABASE_DEFAULTS.idleTimeoutMs,
    // Sent in the startup packet, so they hold for every statement, including those Prisma issues.
    statement_timeout: options.statementTimeoutMs ?? DATABASE_DEFAULTS.statementTimeoutMs,
    idle_in_transaction_session_timeout:
      options.idleInTransactionTimeoutMs ?? DATABASE_DEFAULTS.idleInTransactionTimeoutMs,
    application_name: options.applicationName ?? DATABASE_DEFAULTS.applicationName,
  };
}

/**
 * Builds a service's database access: a `pg.Pool` with the given limits and timeouts, wrapped in
 * Prisma's `PrismaPg` driver adapter, under the service's own generated client.
 *
 * @example
 * ```ts
 * import { PrismaClient } from './generated/prisma/client';
 * const database = createDatabase({ url: config.DATABASE_URL, poolMax: config.DB_POOL_MAX }, PrismaClient);
 * const user = await database.prisma.user.findUnique({ where: { id } });
 * await database.close(); // on shutdown
 * ```
 */
export function createDatabase<TClient extends ManagedPrismaClient>(
  options: DatabaseOptions,
  PrismaClient: PrismaClientConstructor<TClient>,
): Database<TClient> {
  const pool = new Pool(toPoolConfig(options));
  // An idle client losing its connection emits 'error' on the pool; unhandled, that kills the process.
  pool.on('error', (error) => {
    options.logger?.warn(
      { err: error },
      'idle PostgreSQL connection failed; the pool will replace it',
    );
  });
  const adapter = new PrismaPg(
    pool,
    options.schema === undefined ? undefined : { schema: options.schema },
  );
  const prisma = new PrismaClient(toPrismaClientSettings(options, adapter));
  const onQuery = options.onQuery;
  if (onQuery !== undefined) {
    if (!emitsQueryEvents(prisma))
      throw new TypeError('onQuery needs a client with $on (a generated PrismaClient)');
    prisma.$on('query', (event) => onQuery(event.query));
  }

  let closing: Promise<void> | undefined;
  return {
    prisma,
    pool,
    async ping() {
      if (closing !== undefined) return false;
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    close() {
      closing ??= (async () => {
        try {
          await prisma.$disconnect();
        } finally {
          await pool.end();
        }
      })();
      return closing;
    },
  };
}
