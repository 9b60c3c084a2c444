// A fresh PostgreSQL database per suite, migrated with the real Prisma CLI (through
// @strata/prisma-offline), and a Prisma client of the test schema over @prisma/adapter-pg.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import { Client } from 'pg';
import { migrateDeploy } from '@strata/prisma-offline';
import { PrismaClient } from '../generated/prisma/client';

export const PACKAGE_ROOT = join(__dirname, '..', '..');

function adminUrl(): URL {
  return new URL(
    process.env['TEST_DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
  );
}

async function withAdmin<Result>(work: (client: Client) => Promise<Result>): Promise<Result> {
  const client = new Client({ connectionString: adminUrl().toString() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  readonly prisma: PrismaClient;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `strata_queue_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  await withAdmin((client) => client.query(`CREATE DATABASE "${name}"`));
  const url = adminUrl();
  url.pathname = `/${name}`;
  await migrateDeploy({
    cwd: PACKAGE_ROOT,
    databaseUrl: url.toString(),
    configPath: 'test/prisma.config.ts',
  });
  const prisma = new PrismaClient({
    adapter: new PrismaPg({ connectionString: url.toString(), max: 10 }),
  });
  return {
    url: url.toString(),
    name,
    prisma,
    async drop() {
      await prisma.$disconnect();
      await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}
