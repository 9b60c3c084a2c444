import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { Prisma, PrismaClient } from './generated/prisma/client';

/** This service's Prisma client (generated from prisma/schema.prisma). */
export type ContentDatabase = PrismaClient;
/** The client handed to `$transaction(async (tx) => …)` callbacks. */
export type ContentTransaction = Prisma.TransactionClient;

export interface DatabaseOptions {
  readonly url: string;
  readonly poolMax: number;
  readonly statementTimeoutMs: number;
  /** Called with every SQL statement Prisma sends (query-count tests). */
  readonly onQuery?: (sql: string) => void;
}

export interface DatabaseHandle {
  readonly client: ContentDatabase;
  readonly pool: Pool;
  /** True when a `SELECT 1` answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

// Local until @strata/db exports createDatabase (its index is still empty): Prisma 7 over a
// pg.Pool sized from config, as in services/user. Constructing it opens nothing.
export function openDatabase(options: DatabaseOptions): DatabaseHandle {
  const pool = new Pool({
    connectionString: options.url,
    max: options.poolMax,
    statement_timeout: options.statementTimeoutMs,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  const onQuery = options.onQuery;
  const client = onQuery
    ? new PrismaClient({ adapter: new PrismaPg(pool), log: [{ emit: 'event', level: 'query' }] })
    : new PrismaClient({ adapter: new PrismaPg(pool) });
  if (onQuery) {
    (client as PrismaClient<'query'>).$on('query', (event) => onQuery(event.query));
  }
  let closed: Promise<void> | undefined;
  return {
    client,
    pool,
    ping: async () => {
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    close: () => {
      closed ??= (async () => {
        await client.$disconnect();
        await pool.end();
      })();
      return closed;
    },
  };
}

/** Prisma's unique-violation error, optionally on one constraint/target. */
export function isUniqueViolation(error: unknown, target?: string): boolean {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError) || error.code !== 'P2002') return false;
  if (target === undefined) return true;
  return JSON.stringify(error.meta ?? {}).includes(target);
}
