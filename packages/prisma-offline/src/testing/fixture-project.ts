// Helpers for this package's own integration tests (excluded from the build). They cannot use
// @strata/testing, which itself depends on this package.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';

/** Maintenance connection of the PostgreSQL server the tests use (CI can point elsewhere). */
export const ADMIN_DATABASE_URL =
  process.env['TEST_DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

const PACKAGE_ROOT = path.join(__dirname, '..', '..');
const FIXTURE_DIR = path.join(PACKAGE_ROOT, 'test', 'fixture');
const REPOSITORY_NODE_MODULES = path.join(PACKAGE_ROOT, '..', '..', 'node_modules');

/**
 * Environment for every CLI run in these tests: an engine download would have to go through this
 * closed port, so any attempt fails loudly instead of quietly succeeding on a machine with a
 * network; and no engine the developer may have configured takes the bridge's place.
 */
export const NO_DOWNLOAD_ENV: Readonly<Record<string, string | undefined>> = {
  PRISMA_ENGINES_MIRROR: 'http://127.0.0.1:9',
  PRISMA_SCHEMA_ENGINE_BINARY: undefined,
  PRISMA_MIGRATION_ENGINE_BINARY: undefined,
};

export function uniqueDatabaseName(label: string): string {
  return `strata_prisma_offline_${label}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export function databaseUrl(database: string): string {
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function withAdminClient<T>(
  fn: (client: Client) => Promise<T>,
  database?: string,
): Promise<T> {
  const client = new Client({
    connectionString: database === undefined ? ADMIN_DATABASE_URL : databaseUrl(database),
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createDatabase(database: string): Promise<void> {
  await withAdminClient((client) => client.query(`CREATE DATABASE "${database}"`));
}

export async function dropDatabase(database: string): Promise<void> {
  await withAdminClient((client) =>
    client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`),
  );
}

export async function databaseNamesLike(pattern: string): Promise<string[]> {
  const result = await withAdminClient((client) =>
    client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [
      pattern,
    ]),
  );
  return result.rows.map((row) => row.datname);
}

/**
 * Copies the fixture project to a fresh temporary folder. `prisma.config.ts` imports `prisma/config`,
 * so the copy gets a `node_modules` link to the repository's.
 */
export function copyFixtureProject(): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-prisma-offline-'));
  fs.cpSync(FIXTURE_DIR, directory, { recursive: true });
  fs.symlinkSync(REPOSITORY_NODE_MODULES, path.join(directory, 'node_modules'), 'dir');
  return directory;
}

export function removeProject(directory: string): void {
  fs.rmSync(directory, { recursive: true, force: true });
}

/**
 * Native schema-engine binaries anywhere Prisma would put or look for a downloaded one: the
 * @prisma/engines package folder and Prisma's cache folder.
 */
export function nativeEngineFiles(): string[] {
  const prismaDir = path.dirname(require.resolve('prisma/package.json'));
  const enginesDir = path.dirname(
    require.resolve('@prisma/engines/package.json', { paths: [prismaDir] }),
  );
  const cacheDir = path.join(os.homedir(), '.cache', 'prisma');
  const found: string[] = [];
  const walk = (directory: string, depth: number): void => {
    if (depth < 0 || !fs.existsSync(directory)) return;
    for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
      const entryPath = path.join(directory, entry.name);
      if (entry.isDirectory() && entry.name !== 'node_modules') walk(entryPath, depth - 1);
      else if (entry.name.startsWith('schema-engine')) found.push(entryPath);
    }
  };
  walk(enginesDir, 1);
  walk(cacheDir, 4);
  return found;
}

export interface TraceEntry {
  readonly pid: number;
  readonly method?: string;
  readonly shadowDatabase?: string;
  readonly event?: 'created' | 'dropped' | 'drop-failed';
  readonly cli?: string;
  readonly ok?: boolean;
  readonly reason?: string;
  readonly error?: string;
}

/** Reads the bridge's `STRATA_SCHEMA_ENGINE_TRACE` file (one JSON object a line). */
export function readTrace(file: string): TraceEntry[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as TraceEntry);
}
