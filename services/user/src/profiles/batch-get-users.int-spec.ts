import { randomUUID } from 'node:crypto';
import { closeRedis, createRedisClient, waitUntilReady } from '@strata/cache';
import { createLogger } from '@strata/logger';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
} from '@strata/testing';
import { type Redis } from 'ioredis';
import { openUserDatabase, type UserDatabaseHandle } from '../database';
import { recordQueries, type QueryRecorder } from '../testing/query-recorder';
import { SERVICE_DIR } from '../testing/user-service.harness';
import { BatchGetUsersUseCase } from './batch-get-users.usecase';
import { RedisProfileCache } from './profile-cache';
import { PrismaProfilesRepository } from './profiles.repository';

/**
 * The same classes the service wires (see use-cases.ts), with the pg pool and the Redis client
 * instrumented, so the numbers below are those of a real BatchGetUsers call.
 */
describe('BatchGetUsers cost: at most one SQL query and one Redis round trip', () => {
  let testDatabase: TestDatabase;
  let testRedis: TestRedis;
  let database: UserDatabaseHandle;
  let redis: Redis;
  let cache: RedisProfileCache;
  let sql: QueryRecorder;
  /** Every command sent, and whether its reply had arrived when the use case answered. */
  const redisCommands: Array<{ name: string; replied: boolean }> = [];
  let batchGetUsers: BatchGetUsersUseCase;
  const ids: string[] = [];

  beforeAll(async () => {
    testDatabase = await createTestDatabase({ serviceDir: SERVICE_DIR, name: 'user-batch' });
    testRedis = await createTestRedis({ name: 'user-batch' });
    database = openUserDatabase({
      url: testDatabase.url,
      poolMax: 3,
      statementTimeoutMs: 5_000,
      applicationName: 'user-service-test',
      logger: createLogger({ name: 'test', level: 'silent' }),
    });
    sql = recordQueries(database.pool);
    const logger = createLogger({ name: 'batch-test', level: 'silent' });
    // This suite counts round trips, not latency: a generous bound keeps a loaded CI machine from
    // turning a slow reply into a fail-open miss (the fail-open path has its own tests).
    redis = createRedisClient({
      url: testRedis.url,
      logger,
      name: 'batch-test',
      commandTimeoutMs: 2_000,
    });
    await waitUntilReady(redis, 2_000);
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = (
      command: Parameters<typeof send>[0],
      stream?: Parameters<typeof send>[1],
    ) => {
      const entry = { name: command.name, replied: false };
      redisCommands.push(entry);
      const markReplied = () => {
        entry.replied = true;
      };
      command.promise.then(markReplied, markReplied);
      return send(command, stream);
    };
    cache = new RedisProfileCache({
      redis,
      logger,
      keyPrefix: `${testRedis.prefix}user`,
      timeoutMs: 2_000,
    });
    batchGetUsers = new BatchGetUsersUseCase(new PrismaProfilesRepository(database.prisma), cache);

    for (let index = 0; index < 100; index += 1) ids.push(randomUUID());
    await database.pool.query(
      `INSERT INTO users (id, email, password_hash, display_name, updated_at)
       SELECT id, 'batch' || ordinality || '@example.com', 'not-a-real-hash', 'User ' || ordinality, now()
       FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, ordinality)`,
      [ids],
    );
    // Load the cache's Lua script once, so that a first EVALSHA miss is not counted below.
    await batchGetUsers.execute([randomUUID()]);
    await cache.drain();
  });

  afterAll(async () => {
    await database?.close();
    if (redis) await closeRedis(redis);
    await testRedis?.cleanup();
    await testDatabase?.drop();
  });

  /**
   * Runs one batch read and reports what it waited for: the SQL statements sent, and the Redis
   * round trips whose reply arrived before it answered. A cache fill is sent on the way out and
   * not awaited (see @strata/cache getMany), so it is counted apart.
   */
  async function measure(userIds: readonly string[]) {
    sql.reset();
    redisCommands.length = 0;
    const result = await batchGetUsers.execute(userIds);
    const awaited = redisCommands
      .filter((command) => command.replied)
      .map((command) => command.name);
    const sent = redisCommands.length;
    const statements = sql.queries.map((query) => query.text);
    await cache.drain();
    return {
      result,
      beforeResponse: { sql: statements, redis: awaited },
      fills: sent - awaited.length,
    };
  }

  it('cold: one SELECT for all 100 ids and one Redis round trip before answering', async () => {
    const { result, beforeResponse, fills } = await measure(ids);
    expect(result.users).toHaveLength(100);
    expect(result.users.map((user) => user.id)).toEqual(ids);
    expect(beforeResponse.sql).toHaveLength(1);
    expect(beforeResponse.sql[0]).toMatch(
      /^SELECT .* FROM "public"\."users" WHERE "public"\."users"\."id" IN/,
    );
    expect(beforeResponse.redis).toHaveLength(1);
    // The cache fill happens after the answer, in one more round trip.
    expect(fills).toBe(1);
  });

  it('warm: no SQL at all and one Redis round trip', async () => {
    const { result, beforeResponse, fills } = await measure(ids);
    expect(result.users).toHaveLength(100);
    expect(beforeResponse.sql).toEqual([]);
    expect(beforeResponse.redis).toHaveLength(1);
    expect(fills).toBe(0);
  });

  it('partly warm: one SELECT for the missing ids only', async () => {
    await cache.invalidate(ids[3]);
    await cache.invalidate(ids[42]);
    const unknown = randomUUID();
    const requested = [...ids.slice(0, 99), unknown].reverse();
    const { result, beforeResponse } = await measure(requested);
    expect(result.users).toHaveLength(99);
    expect(result.notFoundUserIds).toEqual([unknown]);
    expect(beforeResponse.sql).toHaveLength(1);
    const missingQuery = sql.queries[0];
    const requestedFromSql = [...missingQuery.values]
      .flat()
      .filter((value) => typeof value === 'string' && value.length === 36);
    expect(requestedFromSql.sort()).toEqual([ids[3], ids[42], unknown].sort());
    expect(beforeResponse.redis).toHaveLength(1);
  });
});
