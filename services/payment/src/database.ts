import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { type Prisma, PrismaClient } from './generated/prisma/client';

/** This service's Prisma client (generated from prisma/schema.prisma). */
export type PaymentDatabase = PrismaClient;
/** The client handed to `$transaction(async (tx) => …)` callbacks. */
export type PaymentTransaction = Prisma.TransactionClient;

export interface DatabaseOptions {
  readonly url: string;
  readonly poolMax: number;
  readonly statementTimeoutMs: number;
}

export interface DatabaseHandle {
  readonly client: PaymentDatabase;
  readonly pool: Pool;
  /** True when a `SELECT 1` answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

// TEMPORARY until @strata/db exports createDatabase (same stop-gap as services/user): Prisma 7 over
// a pg.Pool sized from config. Constructing it opens nothing: the pool connects on first use.
export function openDatabase(options: DatabaseOptions): DatabaseHandle {
  const pool = new Pool({
    connectionString: options.url,
    max: options.poolMax,
    statement_timeout: options.statementTimeoutMs,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // A burst larger than the pool queues for a connection: wait up to 5 s (Prisma's 2 s default
  // turned short load spikes into INTERNAL errors), bounded below the usual client deadline.
  const client = new PrismaClient({ adapter: new PrismaPg(pool), transactionOptions: { maxWait: 5_000, timeout: 10_000 } });
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
