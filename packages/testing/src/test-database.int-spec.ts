import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from './test-database';
import { resolveTestServer, stopTestServers } from './test-servers';

const FIXTURE_DIR = path.join(__dirname, '..', 'test', 'fixture');
const BROKEN_FIXTURE_DIR = path.join(__dirname, '..', 'test', 'broken-fixture');

async function query<Row>(url: string, sql: string, values: unknown[] = []): Promise<Row[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, values)).rows as Row[];
  } finally {
    await client.end();
  }
}

async function databaseExists(name: string): Promise<boolean> {
  const { url } = await resolveTestServer('postgres');
  const rows = await query<{ exists: boolean }>(
    url,
    'SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS "exists"',
    [name],
  );
  return rows[0]?.exists;
}

afterAll(async () => {
  await stopTestServers();
});

describe('createTestDatabase (real PostgreSQL, real Prisma CLI)', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase({ serviceDir: FIXTURE_DIR });
  });

  afterAll(async () => {
    await database.drop();
  });

  it('creates a uniquely named database and returns its URL', async () => {
    expect(database.name).toMatch(/^test_fixture_[0-9a-f]{8}$/);
    expect(new URL(database.url).pathname).toBe(`/${database.name}`);
    const rows = await query<{ name: string }>(database.url, 'SELECT current_database() AS name');
    expect(rows[0]?.name).toBe(database.name);
  });

  it('applied the fixture migration through prisma migrate deploy', async () => {
    const tables = await query<{ table_name: string }>(
      database.url,
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    );
    expect(tables.map((row) => row.table_name)).toEqual(['_prisma_migrations', 'widgets']);

    const migrations = await query<{ migration_name: string; finished: boolean; checksum: string }>(
      database.url,
      'SELECT migration_name, finished_at IS NOT NULL AS finished, checksum FROM _prisma_migrations',
    );
    expect(migrations).toHaveLength(1);
    expect(migrations[0]?.migration_name).toMatch(/^\d{14}_init$/);
    expect(migrations[0]?.finished).toBe(true);
    expect(migrations[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);

    await query(database.url, "INSERT INTO widgets (name) VALUES ('first')");
    await expect(
      query(database.url, "INSERT INTO widgets (name) VALUES ('first')"),
    ).rejects.toThrow(/unique/);
  });
});

describe('TestDatabase.drop', () => {
  it('drops the database even with a connection still open, and a second drop does nothing', async () => {
    const database = await createEmptyDatabase({ name: 'drop-check' });
    expect(await databaseExists(database.name)).toBe(true);
    const forgotten = new Client({ connectionString: database.url });
    forgotten.on('error', () => undefined); // the drop terminates this session on purpose
    await forgotten.connect();

    await database.drop();
    await database.drop();

    expect(await databaseExists(database.name)).toBe(false);
    await forgotten.end().catch(() => undefined);
  });
});

describe('createEmptyDatabase', () => {
  it('creates an empty database different from every other one', async () => {
    const [first, second] = await Promise.all([createEmptyDatabase(), createEmptyDatabase()]);
    try {
      expect(first.name).not.toBe(second.name);
      expect(first.name).toMatch(/^test_db_[0-9a-f]{8}$/);
      const tables = await query(
        first.url,
        "SELECT 1 FROM information_schema.tables WHERE table_schema = 'public'",
      );
      expect(tables).toHaveLength(0);
    } finally {
      await Promise.all([first.drop(), second.drop()]);
    }
  });
});

describe('createTestDatabase failures', () => {
  it('rejects a folder without prisma.config.ts and leaves no database behind', async () => {
    const emptyDir = mkdtempSync(path.join(os.tmpdir(), 'strata-testing-'));
    const label = `noconfig${Date.now().toString(36)}`;
    try {
      await expect(createTestDatabase({ serviceDir: emptyDir, name: label })).rejects.toThrow(
        /no prisma\.config\.ts/,
      );
      const { url } = await resolveTestServer('postgres');
      const leftovers = await query(url, 'SELECT datname FROM pg_database WHERE datname LIKE $1', [
        `test_${label}_%`,
      ]);
      expect(leftovers).toHaveLength(0);
    } finally {
      rmSync(emptyDir, { recursive: true, force: true });
    }
  });

  it('reports a failing migration with the CLI output and drops the database', async () => {
    const label = `broken${Date.now().toString(36)}`;
    const failure = createTestDatabase({ serviceDir: BROKEN_FIXTURE_DIR, name: label });

    await expect(failure).rejects.toThrow(/prisma migrate deploy failed in .*broken-fixture/);
    await expect(failure).rejects.toThrow(/20260101000000_broken/);
    await expect(failure).rejects.toThrow(/strata_no_such_function/);
    const { url } = await resolveTestServer('postgres');
    const leftovers = await query(url, 'SELECT datname FROM pg_database WHERE datname LIKE $1', [
      `test_${label}_%`,
    ]);
    expect(leftovers).toHaveLength(0);
  });

  it('names the admin server it could not reach', async () => {
    await expect(
      createEmptyDatabase({ adminUrl: 'postgres://postgres:secret@127.0.0.1:1/postgres' }),
    ).rejects.toThrow(
      'could not connect to PostgreSQL at postgres://postgres:***@127.0.0.1:1/postgres',
    );
  });
});
