import { readTestEnvironment } from './test-environment';
import {
  createTestServerResolver,
  TestServersUnavailableError,
  type DockerProbeResult,
  type StartedTestServer,
  type TestServerDependencies,
  type TestServerKind,
} from './test-servers';

interface Fakes {
  readonly dependencies: TestServerDependencies;
  readonly probe: jest.Mock<Promise<DockerProbeResult>, []>;
  readonly start: jest.Mock<Promise<StartedTestServer>, [TestServerKind, string]>;
  readonly stopped: string[];
}

function fakes(variables: Record<string, string>, probeResult: DockerProbeResult): Fakes {
  const stopped: string[] = [];
  const probe = jest.fn<Promise<DockerProbeResult>, []>(() => Promise.resolve(probeResult));
  const start = jest.fn<Promise<StartedTestServer>, [TestServerKind, string]>((kind, image) => {
    const url =
      kind === 'postgres'
        ? `postgres://postgres:postgres@127.0.0.1:49153/postgres`
        : 'redis://127.0.0.1:49154';
    return Promise.resolve({
      url,
      stop: () => {
        stopped.push(`${kind}:${image}`);
        return Promise.resolve();
      },
    });
  });
  return {
    dependencies: {
      readEnvironment: () => readTestEnvironment(variables),
      probeDocker: probe,
      startContainer: start,
    },
    probe,
    start,
    stopped,
  };
}

const NO_DOCKER: DockerProbeResult = {
  reachable: false,
  reason: 'Could not find a working container runtime strategy',
};
const DOCKER: DockerProbeResult = { reachable: true };

describe('createTestServerResolver', () => {
  it('uses the URLs from the environment without asking Docker', async () => {
    const { dependencies, probe, start } = fakes(
      {
        TEST_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres',
        TEST_REDIS_URL: 'redis://127.0.0.1:6379',
      },
      DOCKER,
    );
    const resolver = createTestServerResolver(dependencies);

    await expect(resolver.resolveAll()).resolves.toEqual({
      postgres: { url: 'postgres://postgres@127.0.0.1:5432/postgres', source: 'environment' },
      redis: { url: 'redis://127.0.0.1:6379', source: 'environment' },
    });
    expect(probe).not.toHaveBeenCalled();
    expect(start).not.toHaveBeenCalled();
  });

  it('without URLs and without Docker fails with a message naming the variables and Docker', async () => {
    const { dependencies, start } = fakes({}, NO_DOCKER);
    const resolver = createTestServerResolver(dependencies);

    const failure = resolver.resolve('postgres');
    await expect(failure).rejects.toBeInstanceOf(TestServersUnavailableError);
    await expect(failure).rejects.toThrow(
      /TEST_DATABASE_URL is not set and no Docker engine is reachable/,
    );
    await expect(failure).rejects.toThrow(
      /export TEST_DATABASE_URL=postgres:\/\/postgres@127\.0\.0\.1:5432\/postgres/,
    );
    await expect(failure).rejects.toThrow(/TEST_REDIS_URL=redis:\/\/127\.0\.0\.1:6379/);
    await expect(failure).rejects.toThrow(/start a Docker engine .* postgres:16-alpine/);
    await expect(failure).rejects.toThrow(/Could not find a working container runtime strategy/);
    await expect(resolver.resolve('redis')).rejects.toThrow(/TEST_REDIS_URL is not set/);
    expect(start).not.toHaveBeenCalled();
  });

  it('starts one container per server when Docker is reachable, with the configured images, and caches it', async () => {
    const { dependencies, probe, start } = fakes(
      { TEST_POSTGRES_IMAGE: 'localhost/postgres:16' },
      DOCKER,
    );
    const resolver = createTestServerResolver(dependencies);

    const [first, concurrent] = await Promise.all([
      resolver.resolve('postgres'),
      resolver.resolve('postgres'),
    ]);
    const later = await resolver.resolveAll();

    expect(first).toEqual({
      url: 'postgres://postgres:postgres@127.0.0.1:49153/postgres',
      source: 'testcontainers',
    });
    expect(concurrent).toBe(first);
    expect(later.postgres).toBe(first);
    expect(later.redis).toEqual({ url: 'redis://127.0.0.1:49154', source: 'testcontainers' });
    expect(start.mock.calls).toEqual([
      ['postgres', 'localhost/postgres:16'],
      ['redis', 'redis:7-alpine'],
    ]);
    expect(probe).toHaveBeenCalledTimes(1);
  });

  it('mixes sources: the variable that is set wins, the other server comes from a container', async () => {
    const { dependencies, start } = fakes(
      { TEST_DATABASE_URL: 'postgres://postgres@ci:5432/postgres' },
      DOCKER,
    );
    const servers = await createTestServerResolver(dependencies).resolveAll();

    expect(servers.postgres.source).toBe('environment');
    expect(servers.redis.source).toBe('testcontainers');
    expect(start.mock.calls).toEqual([['redis', 'redis:7-alpine']]);
  });

  it('stop() stops only the containers it started, once, and a later resolve starts afresh', async () => {
    const { dependencies, start, stopped } = fakes(
      { TEST_REDIS_URL: 'redis://127.0.0.1:6379' },
      DOCKER,
    );
    const resolver = createTestServerResolver(dependencies);
    await resolver.resolveAll();

    await resolver.stop();
    await resolver.stop();
    expect(stopped).toEqual(['postgres:postgres:16-alpine']);

    await resolver.resolve('postgres');
    expect(start).toHaveBeenCalledTimes(2);
    await resolver.stop();
    expect(stopped).toHaveLength(2);
  });

  it('reports a container that fails to start with the image and the variable to set, and retries later', async () => {
    const { dependencies, start } = fakes({}, DOCKER);
    start.mockRejectedValueOnce(new Error('pull access denied for postgres'));
    const resolver = createTestServerResolver(dependencies);

    const failure = resolver.resolve('postgres');
    await expect(failure).rejects.toBeInstanceOf(TestServersUnavailableError);
    await expect(failure).rejects.toThrow(
      /could not start the PostgreSQL container \(postgres:16-alpine\): pull access denied[\s\S]*Set TEST_DATABASE_URL/,
    );

    await expect(resolver.resolve('postgres')).resolves.toMatchObject({ source: 'testcontainers' });
    await resolver.stop();
  });

  it('stop() waits for a start in flight so that its container does not outlive the run', async () => {
    const { dependencies, stopped } = fakes({}, DOCKER);
    const resolver = createTestServerResolver(dependencies);
    const inFlight = resolver.resolve('redis');

    await resolver.stop();
    await inFlight;
    expect(stopped).toEqual(['redis:redis:7-alpine']);
  });
});
