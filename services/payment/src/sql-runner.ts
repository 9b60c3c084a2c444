import { type PaymentDatabaseHandle, type PaymentTransaction } from './database';

/** A SQL statement with a stable name: on the pool it runs as a named prepared statement. */
export interface SqlStatement {
  readonly name: string;
  readonly text: string;
}

/**
 * Runs one parameterised statement and resolves to its rows. The same statement text runs on the
 * `pg` pool (its own implicit transaction: the worker's hot path) or inside a Prisma interactive
 * transaction (webhooks, which add their own rows to the same transaction). Statements should
 * return numbers and bigints as text: the two paths decode them differently.
 */
export type SqlRunner = <Row>(
  statement: SqlStatement,
  values: readonly unknown[],
) => Promise<Row[]>;

/**
 * The part of `pg.Pool` used here: the pool under this service's Prisma client
 * (`PaymentDatabaseHandle.pool`), so statements share its connections, limits and
 * `statement_timeout`.
 */
export type SqlPool = Pick<PaymentDatabaseHandle['pool'], 'query'>;

/**
 * Statements on the pool, as named prepared statements: measured here, Prisma's raw-query path
 * costs ~0.5–0.75 ms of Node CPU per call against ~0.2 ms for this (README, "Benchmark").
 */
export function poolRunner(pool: SqlPool): SqlRunner {
  return async <Row>(statement: SqlStatement, values: readonly unknown[]) => {
    const result = await pool.query({
      name: statement.name,
      text: statement.text,
      values: [...values],
    });
    return result.rows as Row[];
  };
}

/** Statements inside a Prisma interactive transaction (they commit or roll back with it). */
export function transactionRunner(tx: PaymentTransaction): SqlRunner {
  return <Row>(statement: SqlStatement, values: readonly unknown[]) =>
    tx.$queryRawUnsafe<Row[]>(statement.text, ...values);
}
