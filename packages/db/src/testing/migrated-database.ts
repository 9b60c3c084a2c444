// A fresh PostgreSQL database with this package's test migrations applied by the real Prisma CLI.
// (Not @strata/testing: that kit is built on this one's neighbours and would make a cycle.)
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { migrateDeploy } from '@strata/prisma-offline';
import { Client } from 'pg';

const ADMIN_DATABASE_URL =
  process.env['TEST_DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
/** Folder of the test `prisma.config.ts`, schema and migrations. */
const TEST_PRISMA_PROJECT = path.join(__dirname, '..', '..', 'test');

export interface MigratedDatabase {
  readonly name: string;
  readonly url: string;
  /** Runs SQL on a separate admin connection (to observe what the code under test does). */
  query<T extends Record<string, unknown>>(sql: string, values?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createMigratedDatabase(label: string): Promise<MigratedDatabase> {
  const name = `strata_db_${label}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  await withClient(ADMIN_DATABASE_URL, (client) => client.query(`CREATE DATABASE "${name}"`));
  await migrateDeploy({ cwd: TEST_PRISMA_PROJECT, databaseUrl: url.toString() });
  return {
    name,
    url: url.toString(),
    query: async <T extends Record<string, unknown>>(sql: string, values: unknown[] = []) =>
      withClient(url.toString(), async (client) => (await client.query<T>(sql, values)).rows),
    drop: async () => {
      await withClient(ADMIN_DATABASE_URL, (client) =>
        client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
      );
    },
  };
}
