// The one module of @strata/testing that touches process.env: everything else receives a
// TestEnvironment, so the resolution logic can be unit-tested with plain objects.

/** Names of the environment variables the test kit reads. */
export const TEST_ENV_VARS = {
  databaseUrl: 'TEST_DATABASE_URL',
  redisUrl: 'TEST_REDIS_URL',
  postgresImage: 'TEST_POSTGRES_IMAGE',
  redisImage: 'TEST_REDIS_IMAGE',
} as const;

export const DEFAULT_POSTGRES_IMAGE = 'postgres:16-alpine';
export const DEFAULT_REDIS_IMAGE = 'redis:7-alpine';

/** What the test kit needs to know from its surroundings. */
export interface TestEnvironment {
  /** Admin URL of an existing PostgreSQL server (a role allowed to CREATE DATABASE). */
  readonly databaseUrl: string | undefined;
  /** URL of an existing Redis server. */
  readonly redisUrl: string | undefined;
  /** Image for the PostgreSQL container when no URL is given. */
  readonly postgresImage: string;
  /** Image for the Redis container when no URL is given. */
  readonly redisImage: string;
}

type EnvSource = Readonly<Record<string, string | undefined>>;

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

/** Reads the test kit's variables; an empty variable counts as unset. */
export function readTestEnvironment(source: EnvSource = process.env): TestEnvironment {
  return {
    databaseUrl: nonEmpty(source[TEST_ENV_VARS.databaseUrl]),
    redisUrl: nonEmpty(source[TEST_ENV_VARS.redisUrl]),
    postgresImage: nonEmpty(source[TEST_ENV_VARS.postgresImage]) ?? DEFAULT_POSTGRES_IMAGE,
    redisImage: nonEmpty(source[TEST_ENV_VARS.redisImage]) ?? DEFAULT_REDIS_IMAGE,
  };
}

/**
 * Publishes server URLs as TEST_DATABASE_URL / TEST_REDIS_URL. Jest's globalSetup calls this
 * after starting containers: workers are forked afterwards and inherit the variables, so every
 * test file then takes the "environment" path instead of starting containers of its own.
 */
export function publishTestServerUrls(
  urls: { readonly databaseUrl?: string; readonly redisUrl?: string },
  target: Record<string, string | undefined> = process.env,
): void {
  if (urls.databaseUrl !== undefined) target[TEST_ENV_VARS.databaseUrl] = urls.databaseUrl;
  if (urls.redisUrl !== undefined) target[TEST_ENV_VARS.redisUrl] = urls.redisUrl;
}

/** Removes what publishTestServerUrls set (used when the containers behind them stop). */
export function unpublishTestServerUrls(
  urls: { readonly databaseUrl?: string; readonly redisUrl?: string },
  target: Record<string, string | undefined> = process.env,
): void {
  if (urls.databaseUrl !== undefined && target[TEST_ENV_VARS.databaseUrl] === urls.databaseUrl) {
    delete target[TEST_ENV_VARS.databaseUrl];
  }
  if (urls.redisUrl !== undefined && target[TEST_ENV_VARS.redisUrl] === urls.redisUrl) {
    delete target[TEST_ENV_VARS.redisUrl];
  }
}
