import { readTestEnvironment, TEST_ENV_VARS, type TestEnvironment } from './test-environment';
import { probeDockerEngine, startServerContainer } from './server-containers';

/** The servers a suite may need. */
export type TestServerKind = 'postgres' | 'redis';

/** Where a server came from: the environment (CI, a developer's exports) or a container we started. */
export type TestServerSource = 'environment' | 'testcontainers';

export interface ResolvedTestServer {
  /** For postgres an admin URL (databases are created through it), for redis the server URL. */
  readonly url: string;
  readonly source: TestServerSource;
}

export interface TestServers {
  readonly postgres: ResolvedTestServer;
  readonly redis: ResolvedTestServer;
}

export type DockerProbeResult =
  { readonly reachable: true } | { readonly reachable: false; readonly reason: string };

/** A server started for the tests, stopped by stopTestServers(). */
export interface StartedTestServer {
  readonly url: string;
  stop(): Promise<void>;
}

/** What the resolver needs from the outside world; tests replace any of it. */
export interface TestServerDependencies {
  readonly readEnvironment: () => TestEnvironment;
  readonly probeDocker: () => Promise<DockerProbeResult>;
  readonly startContainer: (kind: TestServerKind, image: string) => Promise<StartedTestServer>;
}

export interface TestServerResolver {
  /** Resolves one server; concurrent and later calls share the first answer. */
  resolve(kind: TestServerKind): Promise<ResolvedTestServer>;
  /** Resolves PostgreSQL and Redis. */
  resolveAll(): Promise<TestServers>;
  /** Stops the containers this resolver started (never a server from the environment). */
  stop(): Promise<void>;
}

/** Thrown when neither an environment variable nor a Docker engine can provide a server. */
export class TestServersUnavailableError extends Error {
  override readonly name = 'TestServersUnavailableError';
}

const LABELS: Record<TestServerKind, string> = { postgres: 'PostgreSQL', redis: 'Redis' };

const URL_VARIABLE: Record<TestServerKind, string> = {
  postgres: TEST_ENV_VARS.databaseUrl,
  redis: TEST_ENV_VARS.redisUrl,
};

const IMAGE_VARIABLE: Record<TestServerKind, string> = {
  postgres: TEST_ENV_VARS.postgresImage,
  redis: TEST_ENV_VARS.redisImage,
};

const EXAMPLE_URL: Record<TestServerKind, string> = {
  postgres: 'postgres://postgres@127.0.0.1:5432/postgres',
  redis: 'redis://127.0.0.1:6379',
};

function urlFromEnvironment(
  environment: TestEnvironment,
  kind: TestServerKind,
): string | undefined {
  return kind === 'postgres' ? environment.databaseUrl : environment.redisUrl;
}

function imageFor(environment: TestEnvironment, kind: TestServerKind): string {
  return kind === 'postgres' ? environment.postgresImage : environment.redisImage;
}

function unavailableMessage(kind: TestServerKind, image: string, reason: string): string {
  return [
    `@strata/testing cannot provide ${LABELS[kind]}: ${URL_VARIABLE[kind]} is not set and no Docker engine is reachable (${reason}).`,
    'Do one of:',
    `  - export ${TEST_ENV_VARS.databaseUrl}=${EXAMPLE_URL.postgres} (an admin URL: the kit creates databases through it)`,
    `    and ${TEST_ENV_VARS.redisUrl}=${EXAMPLE_URL.redis}, pointing at servers that are running (.ci/run sets both);`,
    `  - or start a Docker engine (DOCKER_HOST is honoured) so testcontainers can run ${image}.`,
  ].join('\n');
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Builds a resolver with its own cache. The order is fixed by the foundation issue:
 * the URL from the environment when set, else a container when a Docker engine is reachable,
 * else a TestServersUnavailableError that names the variables to set.
 */
export function createTestServerResolver(
  overrides: Partial<TestServerDependencies> = {},
): TestServerResolver {
  const dependencies: TestServerDependencies = {
    readEnvironment: overrides.readEnvironment ?? (() => readTestEnvironment()),
    probeDocker: overrides.probeDocker ?? probeDockerEngine,
    startContainer: overrides.startContainer ?? startServerContainer,
  };
  const pending = new Map<TestServerKind, Promise<ResolvedTestServer>>();
  const started: StartedTestServer[] = [];
  let dockerProbe: Promise<DockerProbeResult> | undefined;

  async function resolveUncached(kind: TestServerKind): Promise<ResolvedTestServer> {
    const environment = dependencies.readEnvironment();
    const fromEnvironment = urlFromEnvironment(environment, kind);
    if (fromEnvironment !== undefined) return { url: fromEnvironment, source: 'environment' };

    const image = imageFor(environment, kind);
    dockerProbe ??= dependencies.probeDocker();
    const probe = await dockerProbe;
    if (!probe.reachable) {
      throw new TestServersUnavailableError(unavailableMessage(kind, image, probe.reason));
    }
    let server: StartedTestServer;
    try {
      server = await dependencies.startContainer(kind, image);
    } catch (error) {
      throw new TestServersUnavailableError(
        `@strata/testing could not start the ${LABELS[kind]} container (${image}): ${describeError(error)}\n` +
          `Set ${URL_VARIABLE[kind]} to use a running server instead, or ${IMAGE_VARIABLE[kind]} to another image ` +
          '(without a reachable registry: a local image, and TESTCONTAINERS_RYUK_DISABLED=true).',
        { cause: error },
      );
    }
    started.push(server);
    return { url: server.url, source: 'testcontainers' };
  }

  function resolve(kind: TestServerKind): Promise<ResolvedTestServer> {
    const cached = pending.get(kind);
    if (cached !== undefined) return cached;
    const attempt = resolveUncached(kind);
    pending.set(kind, attempt);
    // A failed attempt is forgotten so that a later call (after the developer fixed the cause
    // in the same watch session) tries again instead of replaying the old error.
    attempt.catch(() => {
      if (pending.get(kind) === attempt) pending.delete(kind);
    });
    return attempt;
  }

  return {
    resolve,
    async resolveAll() {
      const [postgres, redis] = await Promise.all([resolve('postgres'), resolve('redis')]);
      return { postgres, redis };
    },
    async stop() {
      // Let starts in flight finish first, or their containers would outlive the run.
      await Promise.allSettled(pending.values());
      pending.clear();
      dockerProbe = undefined;
      const servers = started.splice(0);
      const results = await Promise.allSettled(servers.map((server) => server.stop()));
      const failures = results.flatMap((result): unknown[] =>
        result.status === 'rejected' ? [result.reason as unknown] : [],
      );
      if (failures.length > 0) {
        throw new AggregateError(
          failures,
          `@strata/testing could not stop ${failures.length} test container(s)`,
        );
      }
    },
  };
}

const DEFAULT_RESOLVER = Symbol.for('@strata/testing/test-server-resolver');

// Kept on globalThis (not in a module variable) so that Jest's globalSetup and globalTeardown,
// which may load this module separately, still share the containers they start and stop.
function defaultResolver(): TestServerResolver {
  const holder = globalThis as { [DEFAULT_RESOLVER]?: TestServerResolver };
  holder[DEFAULT_RESOLVER] ??= createTestServerResolver();
  return holder[DEFAULT_RESOLVER];
}

/**
 * Resolves the PostgreSQL admin server and the Redis server for this process (cached).
 * From TEST_DATABASE_URL / TEST_REDIS_URL when set, else containers started through
 * testcontainers when a Docker engine is reachable, else a TestServersUnavailableError.
 */
export function resolveTestServers(): Promise<TestServers> {
  return defaultResolver().resolveAll();
}

/** Resolves one server the same way as resolveTestServers() (a suite that needs only Redis starts no PostgreSQL). */
export function resolveTestServer(kind: TestServerKind): Promise<ResolvedTestServer> {
  return defaultResolver().resolve(kind);
}

/** Stops the containers that resolveTestServers() started in this process; a no-op otherwise. */
export function stopTestServers(): Promise<void> {
  return defaultResolver().stop();
}
