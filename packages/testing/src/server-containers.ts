import type * as Testcontainers from 'testcontainers';
import type * as PostgresModule from '@testcontainers/postgresql';
import type * as RedisModule from '@testcontainers/redis';
import type { DockerProbeResult, StartedTestServer, TestServerKind } from './test-servers';

// testcontainers is loaded on first use only: in CI (and whenever the URLs are exported) it is
// never needed, and loading it costs about half a second in every test file. A dynamic import()
// is not an option: under Jest's CommonJS runtime it needs --experimental-vm-modules.
/* eslint-disable @typescript-eslint/no-require-imports */
function loadTestcontainers(): typeof Testcontainers {
  return require('testcontainers') as typeof Testcontainers;
}
function loadPostgresModule(): typeof PostgresModule {
  return require('@testcontainers/postgresql') as typeof PostgresModule;
}
function loadRedisModule(): typeof RedisModule {
  return require('@testcontainers/redis') as typeof RedisModule;
}
/* eslint-enable @typescript-eslint/no-require-imports */

/** Asks testcontainers' runtime strategies (DOCKER_HOST, the default socket, …) for an engine. */
export async function probeDockerEngine(): Promise<DockerProbeResult> {
  try {
    await loadTestcontainers().getContainerRuntimeClient();
    return { reachable: true };
  } catch (error) {
    return { reachable: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

const ADMIN_USER = 'postgres';
const ADMIN_PASSWORD = 'postgres';
const ADMIN_DATABASE = 'postgres';

/** Starts one server container; its URL is reachable from this host. */
export async function startServerContainer(
  kind: TestServerKind,
  image: string,
): Promise<StartedTestServer> {
  if (kind === 'postgres') {
    const { PostgreSqlContainer } = loadPostgresModule();
    // The admin database and a superuser: the kit creates and drops one database per suite.
    const container = await new PostgreSqlContainer(image)
      .withDatabase(ADMIN_DATABASE)
      .withUsername(ADMIN_USER)
      .withPassword(ADMIN_PASSWORD)
      .start();
    return {
      url: container.getConnectionUri(),
      stop: async () => {
        await container.stop();
      },
    };
  }
  const { RedisContainer } = loadRedisModule();
  const container = await new RedisContainer(image).start();
  return {
    url: container.getConnectionUrl(),
    stop: async () => {
      await container.stop();
    },
  };
}
