// The acceptance test for Prisma without a network: the UNMODIFIED Prisma CLI, run through the
// wrapper, takes a project through migrate dev → diff → dev → deploy → status → reset on real
// PostgreSQL, with no native schema engine anywhere on the machine.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runPrismaCli, type PrismaCliResult } from './prisma-cli';
import {
  copyFixtureProject,
  createDatabase,
  databaseNamesLike,
  databaseUrl,
  dropDatabase,
  nativeEngineFiles,
  NO_DOWNLOAD_ENV,
  readTrace,
  removeProject,
  uniqueDatabaseName,
  withAdminClient,
} from './testing/fixture-project';

jest.setTimeout(180_000);

const APPEND_ONLY_TRIGGER_SQL = `-- The ledger is append-only: corrections are new entries, never edits.
-- The $$ body holds semicolons, which is what breaks a script split on ';'.
CREATE FUNCTION forbid_ledger_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger_entries is append-only; % is not allowed', TG_OP;
  RETURN NULL;
END;
$$;

CREATE TRIGGER ledger_entries_append_only
BEFORE UPDATE OR DELETE ON "ledger_entries"
FOR EACH ROW EXECUTE FUNCTION forbid_ledger_changes();
`;

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished: boolean;
  rolled_back: boolean;
}

describe('Prisma migrate round trip through the WebAssembly engine bridge', () => {
  const devDatabase = uniqueDatabaseName('dev');
  const deployDatabase = uniqueDatabaseName('deploy');
  const timings: Record<string, number> = {};
  let project: string;
  let tracePath: string;
  let nativeEnginesBefore: string[];

  const prisma = async (
    args: string[],
    database: string = devDatabase,
  ): Promise<PrismaCliResult> => {
    const startedAt = Date.now();
    const result = await runPrismaCli({
      args,
      cwd: project,
      databaseUrl: databaseUrl(database),
      env: { ...NO_DOWNLOAD_ENV, STRATA_SCHEMA_ENGINE_TRACE: tracePath },
    });
    timings[args.slice(0, 2).join(' ') + ` (${Object.keys(timings).length})`] =
      Date.now() - startedAt;
    if (result.code !== 0) {
      throw new Error(
        `prisma ${args.join(' ')} exited with ${String(result.code)}\n${result.stdout}\n${result.stderr}`,
      );
    }
    return result;
  };

  const migrationsDir = (): string => path.join(project, 'prisma', 'migrations');
  const migrationNames = (): string[] =>
    fs
      .readdirSync(migrationsDir(), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
  const sha256OfMigration = (name: string): string =>
    createHash('sha256')
      .update(fs.readFileSync(path.join(migrationsDir(), name, 'migration.sql')))
      .digest('hex');
  const appliedMigrations = (database: string): Promise<MigrationRow[]> =>
    withAdminClient(async (client) => {
      const result = await client.query<MigrationRow>(
        `SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back
           FROM _prisma_migrations ORDER BY migration_name`,
      );
      return result.rows;
    }, database);
  const tablesIn = (database: string): Promise<string[]> =>
    withAdminClient(async (client) => {
      const result = await client.query<{ tablename: string }>(
        `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`,
      );
      return result.rows.map((row) => row.tablename);
    }, database);
  const expectHistoryMatchesFiles = async (database: string): Promise<void> => {
    const rows = await appliedMigrations(database);
    expect(rows.map((row) => row.migration_name)).toEqual(migrationNames());
    for (const row of rows) {
      expect(row).toMatchObject({
        finished: true,
        rolled_back: false,
        checksum: sha256OfMigration(row.migration_name),
      });
    }
  };

  beforeAll(async () => {
    nativeEnginesBefore = nativeEngineFiles();
    project = copyFixtureProject();
    tracePath = path.join(
      fs.mkdtempSync(path.join(os.tmpdir(), 'strata-engine-trace-')),
      'trace.jsonl',
    );
    await createDatabase(devDatabase);
    await createDatabase(deployDatabase);
  });

  afterAll(async () => {
    await dropDatabase(devDatabase);
    await dropDatabase(deployDatabase);
    removeProject(project);
    removeProject(path.dirname(tracePath));
    // Reported for the README and CI logs: how long each CLI step takes over the wasm engine.
    process.stdout.write(`prisma-offline round-trip timings (ms): ${JSON.stringify(timings)}\n`);
  });

  it('migrate dev --name init creates the first migration from the schema and applies it', async () => {
    await prisma(['migrate', 'dev', '--name', 'init']);

    expect(migrationNames()).toEqual([expect.stringMatching(/^\d{14}_init$/)]);
    const sql = fs.readFileSync(
      path.join(migrationsDir(), migrationNames()[0], 'migration.sql'),
      'utf8',
    );
    expect(sql).toContain('CREATE TABLE "ledger_entries"');
    expect(await tablesIn(devDatabase)).toEqual([
      '_prisma_migrations',
      'accounts',
      'ledger_entries',
    ]);
    await expectHistoryMatchesFiles(devDatabase);
  });

  it('applies a hand-written migration whose $$ function body contains semicolons', async () => {
    await prisma(['migrate', 'dev', '--create-only', '--name', 'append_only_ledger']);
    const triggerMigration = migrationNames().find((name) => name.endsWith('_append_only_ledger'));
    expect(triggerMigration).toBeDefined();
    fs.writeFileSync(
      path.join(migrationsDir(), triggerMigration!, 'migration.sql'),
      APPEND_ONLY_TRIGGER_SQL,
    );

    // Replays every migration on a shadow database first, then applies the new one.
    await prisma(['migrate', 'dev']);

    await expectHistoryMatchesFiles(devDatabase);
    await withAdminClient(async (client) => {
      await client.query(
        `INSERT INTO accounts (id, email) VALUES ('6f1c3f0e-8f2a-4c55-9a57-0f1b2d3c4e5f', 'a@example.com')`,
      );
      await client.query(
        `INSERT INTO ledger_entries (account_id, amount_minor, currency) VALUES ('6f1c3f0e-8f2a-4c55-9a57-0f1b2d3c4e5f', 1250, 'EUR')`,
      );
      await expect(client.query('UPDATE ledger_entries SET amount_minor = 1')).rejects.toThrow(
        'ledger_entries is append-only; UPDATE is not allowed',
      );
    }, devDatabase);
  });

  it('migrate diff renders a schema change as SQL, from the migrations folder and from the database', async () => {
    const schemaPath = path.join(project, 'prisma', 'schema.prisma');
    const schema = fs.readFileSync(schemaPath, 'utf8');
    fs.writeFileSync(
      schemaPath,
      schema.replace(
        '  currency    String   @db.Char(3)\n',
        '  currency    String   @db.Char(3)\n  memo        String?\n',
      ),
    );

    const fromMigrations = await prisma([
      'migrate',
      'diff',
      '--from-migrations',
      'prisma/migrations',
      '--to-schema',
      'prisma/schema.prisma',
      '--script',
    ]);
    expect(fromMigrations.stdout).toContain('ALTER TABLE "ledger_entries" ADD COLUMN');
    expect(fromMigrations.stdout).toMatch(/"memo" TEXT/);

    const fromDatabase = await prisma([
      'migrate',
      'diff',
      '--from-config-datasource',
      '--to-schema',
      'prisma/schema.prisma',
      '--script',
    ]);
    expect(fromDatabase.stdout).toMatch(/ALTER TABLE "ledger_entries" ADD COLUMN\s+"memo" TEXT;/);
    // The trigger and its function came from a hand-written migration and are not in the schema:
    // the diff must not propose dropping them (Prisma does not manage functions).
    expect(fromDatabase.stdout).not.toContain('DROP');
  });

  it('migrate dev --name second turns the change into a migration and applies it', async () => {
    await prisma(['migrate', 'dev', '--name', 'second']);

    const names = migrationNames();
    expect(names).toHaveLength(3);
    expect(names[2]).toMatch(/_second$/);
    expect(
      fs.readFileSync(path.join(migrationsDir(), names[2], 'migration.sql'), 'utf8'),
    ).toContain('"memo" TEXT');
    await expectHistoryMatchesFiles(devDatabase);
    const memoColumn = await withAdminClient(
      (client) =>
        client.query(
          `SELECT 1 FROM information_schema.columns WHERE table_name = 'ledger_entries' AND column_name = 'memo'`,
        ),
      devDatabase,
    );
    expect(memoColumn.rowCount).toBe(1);
  });

  it('migrate deploy applies the whole history to a second fresh database', async () => {
    const result = await prisma(['migrate', 'deploy'], deployDatabase);

    expect(result.stdout).toContain('All migrations have been successfully applied.');
    await expectHistoryMatchesFiles(deployDatabase);
    expect(await tablesIn(deployDatabase)).toEqual([
      '_prisma_migrations',
      'accounts',
      'ledger_entries',
    ]);
    const trigger = await withAdminClient(
      (client) =>
        client.query(`SELECT 1 FROM pg_trigger WHERE tgname = 'ledger_entries_append_only'`),
      deployDatabase,
    );
    expect(trigger.rowCount).toBe(1);
  });

  it('migrate status reports the deployed database as up to date', async () => {
    const result = await prisma(['migrate', 'status'], deployDatabase);

    expect(result.stdout).toContain('3 migrations found in prisma/migrations');
    expect(result.stdout).toContain('Database schema is up to date!');
  });

  it('migrate status exits non-zero when a migration is pending', async () => {
    const pendingDatabase = uniqueDatabaseName('pending');
    await createDatabase(pendingDatabase);
    try {
      const result = await runPrismaCli({
        args: ['migrate', 'status'],
        cwd: project,
        databaseUrl: databaseUrl(pendingDatabase),
        env: NO_DOWNLOAD_ENV,
      });
      expect(result.code).not.toBe(0);
      expect(result.stdout).toContain('Following migrations have not yet been applied');
    } finally {
      await dropDatabase(pendingDatabase);
    }
  });

  it('migrate reset --force empties the database and re-applies every migration', async () => {
    await prisma(['migrate', 'reset', '--force']);

    await expectHistoryMatchesFiles(devDatabase);
    const accounts = await withAdminClient(
      (client) => client.query('SELECT count(*)::int AS n FROM accounts'),
      devDatabase,
    );
    expect(accounts.rows).toEqual([{ n: 0 }]);
  });

  it('dropped every shadow database it created, used the bridge for every engine call and no native engine', async () => {
    const trace = readTrace(tracePath);

    // Only the shadow databases of this run: other suites may be migrating at the same time.
    const created = trace
      .filter((entry) => entry.event === 'created')
      .map((entry) => entry.shadowDatabase);
    const dropped = trace
      .filter((entry) => entry.event === 'dropped')
      .map((entry) => entry.shadowDatabase);
    expect(created.length).toBeGreaterThanOrEqual(3);
    expect(dropped.sort()).toEqual([...created].sort());
    const stillThere = await databaseNamesLike('prisma_migrate_shadow_db_%');
    expect(stillThere.filter((name) => created.includes(name))).toEqual([]);

    const methods = new Set(trace.map((entry) => entry.method ?? entry.cli ?? entry.event));
    for (const method of [
      'devDiagnostic',
      'applyMigrations',
      'evaluateDataLoss',
      'createMigration',
      'diff',
      'diagnoseMigrationHistory',
      'reset',
    ]) {
      expect(methods).toContain(method);
    }
    expect(trace.filter((entry) => entry.ok === false && entry.cli === undefined)).toEqual([]);

    // Nothing was downloaded (and the trace shows the bridge, not some cached binary, did the work).
    expect(nativeEngineFiles()).toEqual(nativeEnginesBefore);
  });
});
