import { generateKeyPairSync } from 'node:crypto';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { loadConfig } from '@strata/config';
import { UserServiceClient } from '@strata/contracts';
import {
  createGrpcClient,
  grpcErrorField,
  grpcErrorReason,
  isServiceError,
  type GrpcClient,
} from '@strata/grpc';
import { captureLogs, createLogger, type CapturedLogs } from '@strata/logger';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
} from '@strata/testing';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { buildApp, type BuildAppOptions } from '../app';
import { type UserServiceConfig, userServiceConfigSchema } from '../config';

export const SERVICE_DIR = path.join(__dirname, '..', '..');

/** A clock tests can move forward (token expiry) without sleeping. */
export interface TestClock {
  (): Date;
  advance(milliseconds: number): void;
}

export function testClock(): TestClock {
  let offset = 0;
  const clock = (() => new Date(Date.now() + offset)) as TestClock;
  clock.advance = (milliseconds) => {
    offset += milliseconds;
  };
  return clock;
}

export function newSigningKeyPem(): string {
  return generateKeyPairSync('ed25519')
    .privateKey.export({ format: 'pem', type: 'pkcs8' })
    .toString();
}

/** A complete, valid environment for the service against the suite's own database and Redis prefix. */
export function testEnvironment(database: TestDatabase, redis: TestRedis): Record<string, string> {
  return {
    DATABASE_URL: database.url,
    REDIS_CACHE_URL: redis.url,
    REDIS_QUEUE_URL: redis.url,
    JWT_PRIVATE_KEY: newSigningKeyPem(),
    JWT_KEY_ID: 'test-key-1',
    JWT_ISSUER: 'strata-user-test',
    JWT_AUDIENCE: 'strata-test',
    USER_GRPC_HOST: '127.0.0.1',
    USER_GRPC_PORT: '0',
    DB_POOL_MAX: '5',
    LOG_LEVEL: 'debug',
  };
}

export interface RunningUserService {
  readonly client: GrpcClient<UserServiceClient>;
  readonly logs: CapturedLogs;
  readonly port: number;
  close(): Promise<void>;
}

/** Builds the real app in-process (as main.ts does), starts it on port 0 and connects a real client. */
export async function runUserService(
  config: UserServiceConfig,
  options: BuildAppOptions = {},
): Promise<RunningUserService> {
  const logs = captureLogs();
  const logger = createLogger({
    name: 'user-service-test',
    level: config.LOG_LEVEL,
    destination: logs.stream,
  });
  const app = buildApp(config, logger, { shutdownGraceMs: 2_000, ...options });
  const { port } = await app.start();
  const client = createGrpcClient(UserServiceClient, { target: `127.0.0.1:${port}`, retry: false });
  return {
    client,
    logs,
    port,
    async close() {
      client.close();
      await app.close();
    },
  };
}

export interface UserServiceHarness extends RunningUserService {
  readonly config: UserServiceConfig;
  readonly database: TestDatabase;
  readonly redis: TestRedis;
  /** Direct SQL access to the suite's database, for assertions on rows. */
  readonly sql: Pool;
  readonly clock: TestClock;
  /** Resolves once the profile's cache entry exists (fills happen after the response). */
  waitForCachedProfile(userId: string): Promise<void>;
}

/** One suite's service: its own database (migrated with the real CLI), Redis prefix and server. */
export async function startUserService(
  overrides: Record<string, string> = {},
): Promise<UserServiceHarness> {
  const database = await createTestDatabase({ serviceDir: SERVICE_DIR, name: 'user' });
  const redis = await createTestRedis({ name: 'user' });
  const config = loadConfig(userServiceConfigSchema, {
    ...testEnvironment(database, redis),
    ...overrides,
  });
  const clock = testClock();
  const cacheKeyPrefix = `${redis.prefix}user`;
  const service = await runUserService(config, { clock, cacheKeyPrefix });
  const sql = new Pool({ connectionString: database.url, max: 2 });
  const inspector = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  return {
    ...service,
    config,
    database,
    redis,
    sql,
    clock,
    async waitForCachedProfile(userId) {
      // Layout of @strata/cache: <prefix>:<namespace>:v<schemaVersion>:<key>.
      const key = `${cacheKeyPrefix}:profile:v1:${userId}`;
      // A fill is best effort: on a starved machine its write can fail open (the cache's 50 ms
      // bound) and never land. Read again every second so a lost fill is redone, up to 15 s.
      const deadline = Date.now() + 15_000;
      let nextRead = Date.now() + 1_000;
      while (Date.now() < deadline) {
        if ((await inspector.exists(key)) === 1) return;
        if (Date.now() >= nextRead) {
          await service.client.getUser({ userId });
          nextRead = Date.now() + 1_000;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`profile ${userId} never reached the cache`);
    },
    async close() {
      await service.close();
      inspector.disconnect();
      await sql.end();
      await redis.cleanup();
      await database.drop();
    },
  };
}

/** The status a call failed with, with its field and reason trailers. */
export async function grpcFailure(call: Promise<unknown>): Promise<{
  code: string;
  message: string;
  field: string | undefined;
  reason: string | undefined;
}> {
  try {
    await call;
  } catch (error) {
    if (!isServiceError(error)) throw error;
    return {
      code: status[error.code] ?? String(error.code),
      message: error.details,
      field: grpcErrorField(error),
      reason: grpcErrorReason(error),
    };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

export interface OutboxEmail {
  readonly id: string;
  readonly queue: string;
  readonly payload: {
    toUserId?: string;
    template: string;
    data: Record<string, string>;
    idempotencyKey: string;
  };
}

/** Email jobs written to the outbox for a user, oldest first. */
export async function outboxEmails(
  sql: Pool,
  userId: string,
  template?: string,
): Promise<OutboxEmail[]> {
  const result = await sql.query<OutboxEmail>(
    `SELECT id::text AS id, queue, payload FROM outbox_events
     WHERE payload->>'toUserId' = $1 AND ($2::text IS NULL OR payload->>'template' = $2)
     ORDER BY created_at, id`,
    [userId, template ?? null],
  );
  return result.rows;
}

/** The token of the user's latest email of that template, as the notification worker would read it. */
export async function latestEmailToken(
  sql: Pool,
  userId: string,
  template: string,
): Promise<string> {
  const emails = await outboxEmails(sql, userId, template);
  const token = emails.at(-1)?.payload.data['token'];
  if (!token) throw new Error(`no ${template} email for ${userId}`);
  return token;
}

export async function countRows(sql: Pool, table: string): Promise<number> {
  const result = await sql.query<{ count: string }>(`SELECT count(*)::text AS count FROM ${table}`);
  return Number(result.rows[0]?.count ?? '0');
}
