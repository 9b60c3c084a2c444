import {
  type DockerProbeResult,
  type StartedTestServer,
  type TestServerKind,
} from '../test-servers';
import { startTestServersForRun, stopTestServersForRun } from './run-servers';

function containers(): {
  start: jest.Mock<Promise<StartedTestServer>, [TestServerKind, string]>;
  stopped: TestServerKind[];
} {
  const stopped: TestServerKind[] = [];
  const start = jest.fn<Promise<StartedTestServer>, [TestServerKind, string]>((kind) =>
    Promise.resolve({
      url:
        kind === 'postgres'
          ? 'postgres://postgres:postgres@127.0.0.1:50001/postgres'
          : 'redis://127.0.0.1:50002',
      stop: () => {
        stopped.push(kind);
        return Promise.resolve();
      },
    }),
  );
  return { start, stopped };
}

const reachable = (): Promise<DockerProbeResult> => Promise.resolve({ reachable: true });
const unreachable = (): Promise<DockerProbeResult> =>
  Promise.resolve({ reachable: false, reason: 'no socket' });

describe('startTestServersForRun / stopTestServersForRun (jest globalSetup/globalTeardown)', () => {
  it('starts the missing servers once for the run, exports their URLs, and takes them back at teardown', async () => {
    const target: Record<string, string | undefined> = { PATH: '/bin' };
    const { start, stopped } = containers();

    const published = await startTestServersForRun(
      { probeDocker: reachable, startContainer: start },
      target,
    );

    expect(published).toEqual({
      databaseUrl: 'postgres://postgres:postgres@127.0.0.1:50001/postgres',
      redisUrl: 'redis://127.0.0.1:50002',
    });
    expect(target).toEqual({
      PATH: '/bin',
      TEST_DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:50001/postgres',
      TEST_REDIS_URL: 'redis://127.0.0.1:50002',
    });
    expect(start).toHaveBeenCalledTimes(2);

    await stopTestServersForRun(target);
    expect(stopped.sort()).toEqual(['postgres', 'redis']);
    expect(target).toEqual({ PATH: '/bin' });
  });

  it('does nothing when both URLs are exported', async () => {
    const target = {
      TEST_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres',
      TEST_REDIS_URL: 'redis://127.0.0.1:6379',
    };
    const probe = jest.fn(reachable);
    const { start } = containers();

    await expect(
      startTestServersForRun({ probeDocker: probe, startContainer: start }, target),
    ).resolves.toEqual({});
    expect(probe).not.toHaveBeenCalled();
    expect(start).not.toHaveBeenCalled();
    await stopTestServersForRun(target);
    expect(target.TEST_DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/postgres');
  });

  it('without Docker leaves the decision to the suites instead of failing the whole run', async () => {
    const target: Record<string, string | undefined> = {};
    const { start } = containers();

    await expect(
      startTestServersForRun({ probeDocker: unreachable, startContainer: start }, target),
    ).resolves.toEqual({});
    expect(start).not.toHaveBeenCalled();
    expect(target).toEqual({});
    await stopTestServersForRun(target);
  });
});
