// Health tied to readiness, graceful shutdown and connection age, on a real server.
import { status, type ClientReadableStream } from '@grpc/grpc-js';
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthClient,
  type HealthCheckResponse,
} from '@strata/contracts';
import { createGrpcClient, type GrpcClient } from './index';
import { expectServiceError } from './testing/expect-error';
import { sleep, startEchoServer, type Harness } from './testing/harness';

let harness: Harness | undefined;
const healthClients: Array<GrpcClient<HealthClient>> = [];
afterEach(async () => {
  for (const client of healthClients.splice(0)) client.close();
  await harness?.close();
  harness = undefined;
});

function healthClient(port: number): GrpcClient<HealthClient> {
  const client = createGrpcClient(HealthClient, {
    target: `127.0.0.1:${port}`,
    defaultDeadlineMs: 2_000,
  });
  healthClients.push(client);
  return client;
}

/** Opens a Watch and records every status it streams, until the server ends it. */
function watch(
  client: GrpcClient<HealthClient>,
  service = '',
  onStatus?: (value: ServingStatus) => void,
) {
  const statuses: ServingStatus[] = [];
  const stream: ClientReadableStream<HealthCheckResponse> = client.raw.watch({ service });
  let notify: (() => void) | undefined;
  stream.on('data', (message: HealthCheckResponse) => {
    statuses.push(message.status);
    onStatus?.(message.status);
    notify?.();
  });
  const ended = new Promise<number>((resolve) =>
    stream.on('status', (final: { code: number }) => resolve(final.code)),
  );
  stream.on('error', () => undefined);
  return {
    statuses,
    ended,
    cancel: () => stream.cancel(),
    /** Resolves once `predicate` holds for the statuses seen so far. */
    until: (predicate: (seen: ServingStatus[]) => boolean) =>
      new Promise<void>((resolve) => {
        notify = () => predicate(statuses) && resolve();
        notify();
      }),
  };
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

describe('health tied to readiness', () => {
  it('answers NOT_SERVING while readiness is false, SERVING once it is true, and Watch follows', async () => {
    let ready = false;
    harness = await startEchoServer(
      {},
      { readiness: () => Promise.resolve(ready), readinessIntervalMs: 30, readinessCacheMs: 0 },
    );
    const health = healthClient(harness.port);

    await expect(health.check({ service: '' })).resolves.toEqual({
      status: ServingStatus.NOT_SERVING,
    });
    expect(harness.server.servingStatus()).toBe(ServingStatus.NOT_SERVING);

    ready = true;
    await expect(health.check({ service: '' })).resolves.toEqual({ status: ServingStatus.SERVING });
    await expect(health.check({ service: 'test.v1.EchoService' })).resolves.toEqual({
      status: ServingStatus.SERVING,
    });
    const unknown = await expectServiceError(health.check({ service: 'nope.v1.Nope' }));
    expect(unknown.code).toBe(status.NOT_FOUND);

    const watcher = watch(health, 'test.v1.EchoService');
    await watcher.until((seen) => seen.includes(ServingStatus.SERVING));
    ready = false; // the background probe (every 30 ms) notices
    await watcher.until((seen) => seen.includes(ServingStatus.NOT_SERVING));
    expect(watcher.statuses).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    watcher.cancel();

    const unknownWatch = watch(health, 'nope.v1.Nope');
    await unknownWatch.until((seen) => seen.length > 0);
    expect(unknownWatch.statuses).toEqual([ServingStatus.SERVICE_UNKNOWN]);
    unknownWatch.cancel();
  });

  it('a probe that throws or hangs counts as NOT_SERVING', async () => {
    let mode: 'throw' | 'hang' = 'throw';
    harness = await startEchoServer(
      {},
      {
        readiness: () =>
          mode === 'throw'
            ? Promise.reject(new Error('redis: connect ECONNREFUSED'))
            : new Promise(() => undefined),
        readinessCacheMs: 0,
        readinessTimeoutMs: 100,
      },
    );
    const health = healthClient(harness.port);
    await expect(health.check({ service: '' })).resolves.toEqual({
      status: ServingStatus.NOT_SERVING,
    });
    const probeFailure = harness.logs
      .lines()
      .find((line) => line.msg === 'health: readiness probe failed');
    expect(probeFailure?.err).toMatchObject({ message: 'redis: connect ECONNREFUSED' });
    mode = 'hang';
    const startedAt = Date.now();
    await expect(health.check({ service: '' })).resolves.toEqual({
      status: ServingStatus.NOT_SERVING,
    });
    expect(Date.now() - startedAt).toBeLessThan(1_000);
  });

  it('caches the probe briefly and runs one probe for a burst of checks', async () => {
    let probes = 0;
    const readiness = async () => {
      probes += 1;
      await sleep(50);
      return true;
    };
    harness = await startEchoServer(
      {},
      { readiness, readinessIntervalMs: 60_000, readinessCacheMs: 0 },
    );
    expect(probes).toBe(1); // start() runs the first probe
    const health = healthClient(harness.port);
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => health.check({ service: '' })),
    );
    expect(answers.every((answer) => answer.status === ServingStatus.SERVING)).toBe(true);
    expect(probes).toBe(2);
  });
});

describe('health cache', () => {
  it('serves a cached answer while it is fresh', async () => {
    let probes = 0;
    harness = await startEchoServer(
      {},
      {
        readiness: () => {
          probes += 1;
          return Promise.resolve(true);
        },
        readinessIntervalMs: 60_000,
        readinessCacheMs: 60_000,
      },
    );
    const health = healthClient(harness.port);
    for (let index = 0; index < 3; index += 1) {
      await expect(health.check({ service: '' })).resolves.toEqual({
        status: ServingStatus.SERVING,
      });
    }
    expect(probes).toBe(1);
  });
});

describe('graceful shutdown', () => {
  it('health answers NOT_SERVING before in-flight calls finish, and those calls finish successfully', async () => {
    const events: string[] = [];
    let started = 0;
    const allStarted = deferred();
    harness = await startEchoServer({
      echo: async (request, context) => {
        started += 1;
        if (started === 3) allStarted.resolve();
        await sleep(1_500, context.signal);
        return { text: request.text };
      },
    });
    const client = harness.client();
    const health = healthClient(harness.port);
    const watcher = watch(health, '', (value) => events.push(`watch ${ServingStatus[value]}`));
    await watcher.until((seen) => seen.includes(ServingStatus.SERVING));

    const inFlight = ['a', 'b', 'c'].map((text) =>
      client.echo({ text }).then((response) => {
        events.push(`finished ${response.text}`);
        return response;
      }),
    );
    await allStarted.promise;
    const shutdown = harness.server.shutdown({ graceMs: 5_000, drainDelayMs: 500 });
    const check = await health.check({ service: '' });
    events.push(`check ${ServingStatus[check.status]}`);

    await expect(Promise.all(inFlight)).resolves.toEqual([
      { text: 'a' },
      { text: 'b' },
      { text: 'c' },
    ]);
    await shutdown;

    expect(events.slice(0, 3)).toEqual(['watch SERVING', 'watch NOT_SERVING', 'check NOT_SERVING']);
    expect(events.slice(3).sort()).toEqual(['finished a', 'finished b', 'finished c']);
    // The server ended the Watch cleanly so tryShutdown did not wait on it.
    await expect(watcher.ended).resolves.toBe(status.OK);
    expect(harness.logs.lines()).toContainEqual(
      expect.objectContaining({ msg: 'grpc server: stopped', drained: true }),
    );
    // Nothing is accepted any more.
    const late = await expectServiceError(client.echo({ text: 'late' }, { timeoutMs: 500 }));
    expect([status.UNAVAILABLE, status.DEADLINE_EXCEEDED]).toContain(late.code);
  });

  it('cancels calls that outlive the grace period (forceShutdown) and their handlers see it', async () => {
    const started = deferred();
    let handlerSaw: unknown;
    harness = await startEchoServer({
      // A handler that only stops when told to: tryShutdown alone would wait for it forever.
      echo: async (_request, context) => {
        started.resolve();
        await new Promise((resolve) =>
          context.signal.addEventListener('abort', resolve, { once: true }),
        );
        handlerSaw = context.signal.reason;
        return { text: 'stopped' };
      },
    });
    const client = harness.client({ retry: false });
    const call = expectServiceError(client.echo({ text: 'stuck' }, { timeoutMs: 10_000 }));
    await started.promise;

    const startedAt = Date.now();
    await harness.server.shutdown({ graceMs: 200 });
    expect(Date.now() - startedAt).toBeLessThan(2_000);

    const error = await call;
    expect([status.UNAVAILABLE, status.CANCELLED, status.INTERNAL]).toContain(error.code);
    await sleep(20);
    expect(handlerSaw).toBeDefined();
    expect(harness.logs.lines()).toContainEqual(
      expect.objectContaining({ msg: 'grpc server: stopped', drained: false }),
    );
  });
});

describe('connection age', () => {
  it('recycles connections after max_connection_age and lets running calls finish within the grace', async () => {
    harness = await startEchoServer(
      {
        echo: async (request, context) => {
          await sleep(Number(request.text), context.signal);
          return { text: request.text, peer: context.peer };
        },
      },
      { maxConnectionAgeMs: 600, maxConnectionAgeGraceMs: 3_000 },
    );
    const client = harness.client();
    const first = await client.echo({ text: '0' });
    // Outlives the connection's age: the GOAWAY arrives mid-call, the grace lets it finish.
    const long = await client.echo({ text: '1000' });
    expect(long.peer).toBe(first.peer);
    const later = await client.echo({ text: '0' });
    expect(later.peer).not.toBe(first.peer);
  });
});
