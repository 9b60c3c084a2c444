import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ContentServiceClient, Role } from '@strata/contracts';
import { createGrpcClient, type GrpcClient } from '@strata/grpc';
import { createLogger } from '@strata/logger';
import {
  createTestDatabase,
  createTestRedis,
  TestResources,
  type TestDatabase,
  type TestRedis,
} from '@strata/testing';
import { Client } from 'pg';
import { type BuildAppOptions, buildApp, type ContentApp } from '../app';
import { type ContentServiceConfig, contentServiceConfigSchema } from '../config';
import { type FakeUserService, startFakeUserService } from './fake-user-service';

export const SERVICE_DIR = path.resolve(__dirname, '..', '..');

/** The shared infrastructure of one suite: a fresh database, a Redis prefix, a fake user service. */
export interface ContentTestEnvironment {
  readonly database: TestDatabase;
  readonly redis: TestRedis;
  readonly users: FakeUserService;
  readonly mediaDir: string;
  readonly config: ContentServiceConfig;
  /** A raw pg client on the suite's database (seeding, EXPLAIN, assertions). */
  readonly sql: Client;
  close(): Promise<void>;
}

export async function createContentTestEnvironment(
  overrides: Record<string, string> = {},
): Promise<ContentTestEnvironment> {
  const resources = new TestResources();
  const [database, redis, users, mediaDir] = await Promise.all([
    resources.open(
      () => createTestDatabase({ serviceDir: SERVICE_DIR }),
      (opened) => opened.drop(),
    ),
    resources.open(
      () => createTestRedis({ name: 'content' }),
      (opened) => opened.cleanup(),
    ),
    resources.open(startFakeUserService, (opened) => opened.close()),
    resources.open(
      () => mkdtemp(path.join(os.tmpdir(), 'content-media-')),
      (opened) => rm(opened, { recursive: true, force: true }),
    ),
  ]);
  const config = contentServiceConfigSchema.parse({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    CONTENT_GRPC_HOST: '127.0.0.1',
    CONTENT_GRPC_PORT: '0',
    DATABASE_URL: database.url,
    DB_POOL_MAX: '5',
    REDIS_CACHE_URL: redis.url,
    REDIS_QUEUE_URL: redis.url,
    REDIS_EVENTS_URL: redis.url,
    USER_SERVICE_URL: users.target,
    MEDIA_STORAGE_DIR: mediaDir,
    // The first call of a fresh test process also pays for connection setup; keep it generous.
    USER_SERVICE_DEADLINE_MS: '5000',
    // Suites share two cores with other suites: a 50 ms cache bound would make the caches fail
    // open at random and render/query counts flaky. Fail-open itself is the cache kit's test.
    CACHE_COMMAND_TIMEOUT_MS: '1000',
    ...overrides,
  });
  const sql = await resources.open(
    async () => {
      const client = new Client({ connectionString: database.url });
      await client.connect();
      return client;
    },
    (opened) => opened.end(),
  );
  return {
    database,
    redis,
    users,
    mediaDir,
    config,
    sql,
    close: () => resources.closeAll(),
  };
}

/** One running content service (in-process, port 0) and a client to it. */
export interface RunningContentService {
  readonly app: ContentApp;
  readonly client: GrpcClient<ContentServiceClient>;
  close(): Promise<void>;
}

export async function startContentService(
  environment: ContentTestEnvironment,
  options: BuildAppOptions = {},
): Promise<RunningContentService> {
  const logger = createLogger({
    name: 'content-test',
    level: process.env.CONTENT_TEST_LOG_LEVEL === 'debug' ? 'debug' : 'silent',
  });
  const app = buildApp(environment.config, logger, {
    cacheKeyPrefix: environment.redis.prefix,
    shutdownGraceMs: 1_000,
    ...options,
  });
  const { port } = await app.start();
  const client = createGrpcClient(ContentServiceClient, {
    target: `127.0.0.1:${port}`,
    defaultDeadlineMs: 10_000,
  });
  // One throwaway read opens the gRPC, PostgreSQL and Redis connections, so that the first call a
  // test measures is not slowed past the cache's 50 ms Redis bound by connection setup (the cache
  // would then fail open, correctly, and make render/query counts depend on timing).
  await client
    .getArticle({ idOrSlug: `warm-up-${randomUUID().slice(0, 8)}` })
    .catch(() => undefined);
  return {
    app,
    client,
    async close() {
      client.close();
      await app.close();
    },
  };
}

/** A signed-in member (or admin) with a display name known to the fake user service. */
export function newUser(environment: ContentTestEnvironment, name: string, admin = false) {
  const userId = randomUUID();
  environment.users.setUser(userId, name);
  return { userId, role: admin ? Role.ADMIN : Role.MEMBER };
}
