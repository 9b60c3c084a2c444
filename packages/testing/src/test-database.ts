import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Client } from 'pg';
import { applyMigrations } from './prisma-migrate';
import { resolveTestServer } from './test-servers';

const CONNECT_TIMEOUT_MS = 10_000;
const MAX_LABEL_LENGTH = 40;

/** A database of its own for one suite. */
export interface TestDatabase {
  /** Connection URL of this database (same server and credentials as the admin URL). */
  readonly url: string;
  /** The database name, `test_<label>_<random>`. */
  readonly name: string;
  /** Terminates its connections and drops it; later calls do nothing. */
  drop(): Promise<void>;
}

export interface CreateEmptyDatabaseOptions {
  /** Label used in the database name (e.g. the service name); defaults to `db`. */
  readonly name?: string;
  /** Admin URL to create the database through; defaults to resolveTestServer('postgres'). */
  readonly adminUrl?: string;
}

export interface CreateTestDatabaseOptions extends CreateEmptyDatabaseOptions {
  /** Folder holding the service's prisma.config.ts (normally the service root); the name defaults to its basename. */
  readonly serviceDir: string;
}

/** Turns a label into the middle of a PostgreSQL identifier: lower case, [a-z0-9_], bounded. */
export function testDatabaseName(
  label: string,
  random: string = randomBytes(4).toString('hex'),
): string {
  const cleaned = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, MAX_LABEL_LENGTH)
    .replace(/_+$/, '');
  return `test_${cleaned === '' ? 'db' : cleaned}_${random}`;
}

/** The admin URL with its database replaced (query parameters such as sslmode are kept). */
export function databaseUrlFor(adminUrl: string, databaseName: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${databaseName}`;
  return url.toString();
}

/** The URL with its password hidden, for error messages. */
export function redactUrl(rawUrl: string): string {
  try {
    const url = new URL(rawUrl);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return '<unparsable URL>';
  }
}

function quoteIdentifier(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

async function withAdminClient(
  adminUrl: string,
  work: (client: Client) => Promise<unknown>,
): Promise<void> {
  const client = new Client({
    connectionString: adminUrl,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `@strata/testing could not connect to PostgreSQL at ${redactUrl(adminUrl)}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  // WITH (FORCE) (PostgreSQL 13+) terminates the sessions still open on it, e.g. a pool a
  // failed test did not close, instead of failing with "database is being accessed".
  await withAdminClient(adminUrl, (client) =>
    client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`),
  );
}

/**
 * Creates a fresh, uniquely named PostgreSQL database on the test server, with no tables.
 * Servers come from resolveTestServer('postgres') unless `adminUrl` is given.
 */
export async function createEmptyDatabase(
  options: CreateEmptyDatabaseOptions = {},
): Promise<TestDatabase> {
  const adminUrl = options.adminUrl ?? (await resolveTestServer('postgres')).url;
  const name = testDatabaseName(options.name ?? 'db');
  await withAdminClient(adminUrl, (client) =>
    client.query(`CREATE DATABASE ${quoteIdentifier(name)}`),
  );
  let dropped: Promise<void> | undefined;
  return {
    url: databaseUrlFor(adminUrl, name),
    name,
    drop: () => {
      dropped ??= dropDatabase(adminUrl, name);
      return dropped;
    },
  };
}

/**
 * Creates a fresh database and applies the service's migrations with the real Prisma CLI
 * (`prisma migrate deploy`, through @strata/prisma-offline's wrapper, in `serviceDir`).
 * If the migrations fail, the database is dropped and the CLI's output is in the error.
 */
export async function createTestDatabase(
  options: CreateTestDatabaseOptions,
): Promise<TestDatabase> {
  const serviceDir = path.resolve(options.serviceDir);
  const database = await createEmptyDatabase({
    ...options,
    name: options.name ?? path.basename(serviceDir),
  });
  try {
    await applyMigrations({ cwd: serviceDir, databaseUrl: database.url });
  } catch (error) {
    await database.drop().catch(() => undefined);
    throw error;
  }
  return database;
}
