import { probeDockerEngine } from '../server-containers';
import {
  publishTestServerUrls,
  readTestEnvironment,
  unpublishTestServerUrls,
} from '../test-environment';
import {
  createTestServerResolver,
  type TestServerDependencies,
  type TestServerResolver,
} from '../test-servers';

type EnvTarget = Record<string, string | undefined>;

interface PublishedUrls {
  databaseUrl?: string;
  redisUrl?: string;
}

interface RunServers {
  readonly resolver: TestServerResolver;
  readonly published: PublishedUrls;
}

// Jest evaluates globalSetup and globalTeardown as separate modules of the same process; only
// globalThis is sure to be shared between them.
const RUN_SERVERS = Symbol.for('@strata/testing/run-servers');
type Holder = { [RUN_SERVERS]?: RunServers };

/**
 * For a whole jest run: when TEST_DATABASE_URL or TEST_REDIS_URL is unset and a Docker engine is
 * reachable, starts the missing server(s) in containers and exports their URLs into `target`
 * (process.env by default), so that workers forked afterwards inherit them.
 * Without Docker it does nothing: the suites that need a server then fail with the explanatory
 * TestServersUnavailableError, and a run of pure unit tests is not disturbed.
 * Returns the URLs it exported.
 */
export async function startTestServersForRun(
  dependencies: Partial<TestServerDependencies> = {},
  target?: EnvTarget,
): Promise<PublishedUrls> {
  const readEnvironment = dependencies.readEnvironment ?? (() => readTestEnvironment(target));
  const environment = readEnvironment();
  const published: PublishedUrls = {};
  if (environment.databaseUrl !== undefined && environment.redisUrl !== undefined) return published;

  const probe = await (dependencies.probeDocker ?? probeDockerEngine)();
  if (!probe.reachable) return published;

  const resolver = createTestServerResolver({
    ...dependencies,
    readEnvironment,
    probeDocker: () => Promise.resolve(probe),
  });
  (globalThis as Holder)[RUN_SERVERS] = { resolver, published };
  try {
    if (environment.databaseUrl === undefined)
      published.databaseUrl = (await resolver.resolve('postgres')).url;
    if (environment.redisUrl === undefined)
      published.redisUrl = (await resolver.resolve('redis')).url;
  } catch (error) {
    delete (globalThis as Holder)[RUN_SERVERS];
    await resolver.stop();
    throw error;
  }
  publishTestServerUrls(published, target);
  return published;
}

/** Stops the containers startTestServersForRun() started and removes the URLs it exported. */
export async function stopTestServersForRun(target?: EnvTarget): Promise<void> {
  const holder = globalThis as Holder;
  const run = holder[RUN_SERVERS];
  if (run === undefined) return;
  delete holder[RUN_SERVERS];
  unpublishTestServerUrls(run.published, target);
  await run.resolver.stop();
}
