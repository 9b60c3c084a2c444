// @strata/testing: real PostgreSQL databases, Redis prefixes and private redis-servers for
// integration tests.
export {
  createEmptyDatabase,
  createTestDatabase,
  type CreateEmptyDatabaseOptions,
  type CreateTestDatabaseOptions,
  type TestDatabase,
} from './test-database';
export { createTestRedis, type CreateTestRedisOptions, type TestRedis } from './test-redis';
export { freePort, freePorts } from './free-ports';
export { PrivateRedis, type PrivateRedisOptions } from './private-redis';
export { waitFor } from './wait-for';
export { TestResources } from './test-resources';
export {
  createTestServerResolver,
  resolveTestServer,
  resolveTestServers,
  stopTestServers,
  TestServersUnavailableError,
  type DockerProbeResult,
  type ResolvedTestServer,
  type StartedTestServer,
  type TestServerDependencies,
  type TestServerKind,
  type TestServerResolver,
  type TestServers,
  type TestServerSource,
} from './test-servers';
export {
  DEFAULT_POSTGRES_IMAGE,
  DEFAULT_REDIS_IMAGE,
  TEST_ENV_VARS,
  readTestEnvironment,
  type TestEnvironment,
} from './test-environment';
export { startTestServersForRun, stopTestServersForRun } from './jest/run-servers';
