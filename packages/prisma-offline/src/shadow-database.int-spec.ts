// A config with a user-given `shadowDatabaseUrl`: the native engine empties that database before
// replaying migrations into it; the wasm engine does not, so the bridge must.
import fs from 'node:fs';
import path from 'node:path';
import { runPrismaCli } from './prisma-cli';
import {
  copyFixtureProject,
  createDatabase,
  databaseUrl,
  dropDatabase,
  NO_DOWNLOAD_ENV,
  removeProject,
  uniqueDatabaseName,
  withAdminClient,
} from './testing/fixture-project';

jest.setTimeout(180_000);

const SHADOW_CONFIG = `import { defineConfig, env } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: env('DATABASE_URL'), shadowDatabaseUrl: env('SHADOW_DATABASE_URL') },
});
`;

describe('migrate dev with a user-given shadow database', () => {
  const mainDatabase = uniqueDatabaseName('main');
  const shadowDatabase = uniqueDatabaseName('shadow');
  let project: string;

  const migrateDev = async (name: string): Promise<void> => {
    const result = await runPrismaCli({
      args: ['migrate', 'dev', '--name', name],
      cwd: project,
      databaseUrl: databaseUrl(mainDatabase),
      shadowDatabaseUrl: databaseUrl(shadowDatabase),
      env: NO_DOWNLOAD_ENV,
    });
    if (result.code !== 0)
      throw new Error(`migrate dev --name ${name} failed\n${result.stdout}\n${result.stderr}`);
  };

  beforeAll(async () => {
    project = copyFixtureProject();
    fs.writeFileSync(path.join(project, 'prisma.config.ts'), SHADOW_CONFIG);
    await createDatabase(mainDatabase);
    await createDatabase(shadowDatabase);
  });

  afterAll(async () => {
    await dropDatabase(mainDatabase);
    await dropDatabase(shadowDatabase);
    removeProject(project);
  });

  it('empties the shadow database before every replay, so repeated migrate dev runs succeed', async () => {
    // Leftovers from some earlier run, including a table the migrations will create themselves.
    await withAdminClient(async (client) => {
      await client.query('CREATE TABLE leftover (id int)');
      await client.query('CREATE TABLE accounts (id int)');
      await client.query('CREATE SCHEMA audit');
    }, shadowDatabase);

    await migrateDev('init');
    const schemaPath = path.join(project, 'prisma', 'schema.prisma');
    fs.writeFileSync(
      schemaPath,
      fs
        .readFileSync(schemaPath, 'utf8')
        .replace(
          '  currency    String   @db.Char(3)\n',
          '  currency    String   @db.Char(3)\n  memo        String?\n',
        ),
    );
    await migrateDev('second');

    const applied = await withAdminClient(
      (client) =>
        client.query<{ migration_name: string }>(
          'SELECT migration_name FROM _prisma_migrations ORDER BY 1',
        ),
      mainDatabase,
    );
    expect(applied.rows.map((row) => row.migration_name)).toEqual([
      expect.stringMatching(/_init$/),
      expect.stringMatching(/_second$/),
    ]);
    const leftovers = await withAdminClient(
      (client) =>
        client.query(
          `SELECT 1 FROM pg_tables WHERE tablename = 'leftover'
           UNION ALL SELECT 1 FROM pg_namespace WHERE nspname = 'audit'`,
        ),
      shadowDatabase,
    );
    expect(leftovers.rowCount).toBe(0);
  });
});
