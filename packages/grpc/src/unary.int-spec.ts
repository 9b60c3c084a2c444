// The server kit and the client kit together, over real HTTP/2 on 127.0.0.1.
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { HealthClient, HealthCheckResponse_ServingStatus } from '@strata/contracts';
import { runWithContext } from '@strata/logger';
import {
  DomainError,
  INTERNAL_ERROR_MESSAGE,
  createGrpcClient,
  createMetricsRegistry,
  failedPrecondition,
  grpcErrorField,
  grpcErrorReason,
  invalidArgument,
  startMetricsServer,
  type GrpcClient,
} from './index';
import { type EchoClient, type EchoResponse } from './testing/echo.service';
import { expectServiceError } from './testing/expect-error';
import { sleep, startEchoServer, type Harness } from './testing/harness';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** Fails with `message` instead of hanging until jest's timeout. */
function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function callLines(h: Harness, method: string) {
  return h.logs
    .lines()
    .filter(
      (line) =>
        typeof line.msg === 'string' &&
        line.msg.startsWith('grpc call') &&
        line.grpcMethod === method,
    );
}

describe('deadlines and cancellation', () => {
  it('a handler slower than the deadline: DEADLINE_EXCEEDED on the client, a cancelled context on the server', async () => {
    const started = deferred<void>();
    const seen = deferred<{ aborted: boolean; reason: unknown; afterMs: number }>();
    harness = await startEchoServer({
      echo: async (request, context) => {
        if (request.text === 'warm-up') return request;
        const handlerStartedAt = Date.now();
        started.resolve();
        await sleep(10_000, context.signal).catch(() => undefined);
        seen.resolve({
          aborted: context.signal.aborted,
          reason: context.signal.reason,
          afterMs: Date.now() - handlerStartedAt,
        });
        return { text: 'too late' };
      },
    });
    const client = harness.client();
    // Connect first, so the deadline below is spent in the handler, not in the TCP handshake.
    await client.echo({ text: 'warm-up' });

    const error = await expectServiceError(client.echo({ text: 'slow' }, { timeoutMs: 500 }));

    expect(error.code).toBe(status.DEADLINE_EXCEEDED);
    await within(started.promise, 1_000, 'the handler never started');
    const server = await within(seen.promise, 2_000, 'the handler never saw the cancellation');
    expect(server.aborted).toBe(true);
    expect(server.reason).toBeInstanceOf(DomainError);
    expect((server.reason as DomainError).code).toBe(status.DEADLINE_EXCEEDED);
    // The handler stopped at the deadline, not after its 10 s sleep.
    expect(server.afterMs).toBeLessThan(2_000);
    await sleep(20);
    expect(callLines(harness, 'Echo').map((line) => [line.grpcCode, line.level])).toEqual([
      ['OK', 'info'],
      ['DEADLINE_EXCEEDED', 'warn'],
    ]);
  });

  it('aborting the caller signal cancels the call and aborts the handler signal', async () => {
    const started = deferred<void>();
    const seen = deferred<unknown>();
    harness = await startEchoServer({
      echo: async (_request, context) => {
        started.resolve();
        await sleep(3_000, context.signal).catch(() => undefined);
        seen.resolve(context.signal.reason);
        return { text: 'unused' };
      },
    });
    const client = harness.client();
    const controller = new AbortController();
    const call = client.echo({ text: 'hi' }, { signal: controller.signal });
    await started.promise;
    controller.abort();

    const error = await expectServiceError(call);
    expect(error.code).toBe(status.CANCELLED);
    const reason = await seen.promise;
    expect((reason as DomainError).code).toBe(status.CANCELLED);
    // An already-aborted signal never starts a call.
    const early = await expectServiceError(
      client.echo({ text: 'hi' }, { signal: AbortSignal.abort() }),
    );
    expect(early.code).toBe(status.CANCELLED);
  });

  it('a signal first read after the deadline passed is already aborted, with the reason', async () => {
    // The call's AbortController is made on first use (unary.handler.ts): a handler that reads
    // the signal only late must still see the cancellation that happened before.
    const seen = deferred<{ aborted: boolean; reason: unknown }>();
    harness = await startEchoServer({
      echo: async (request, context) => {
        if (request.text === 'warm-up') return request;
        await sleep(800);
        const { signal } = context;
        seen.resolve({ aborted: signal.aborted, reason: signal.reason });
        return { text: 'too late' };
      },
    });
    const client = harness.client();
    await client.echo({ text: 'warm-up' });

    const error = await expectServiceError(client.echo({ text: 'slow' }, { timeoutMs: 200 }));

    expect(error.code).toBe(status.DEADLINE_EXCEEDED);
    const server = await within(seen.promise, 2_000, 'the handler never read its signal');
    expect(server.aborted).toBe(true);
    expect(server.reason).toBeInstanceOf(DomainError);
    expect((server.reason as DomainError).code).toBe(status.DEADLINE_EXCEEDED);
  });

  it('rejects a call without a deadline with INVALID_ARGUMENT before the handler runs; health is exempt', async () => {
    let handled = 0;
    harness = await startEchoServer({
      echo: (request) => {
        handled += 1;
        return Promise.resolve({ text: request.text });
      },
    });
    const client = harness.client();
    const error = await new Promise<ServiceError | null>((resolve) => {
      client.raw.echo({ text: 'hi' }, new Metadata(), {}, (callError) => resolve(callError));
    });
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
    expect(grpcErrorReason(error)).toBe('DEADLINE_REQUIRED');
    expect(handled).toBe(0);

    const health = createGrpcClient(HealthClient, { target: `127.0.0.1:${harness.port}` });
    try {
      const answer = await new Promise<HealthCheckResponse_ServingStatus | undefined>(
        (resolve, reject) => {
          health.raw.check({ service: '' }, (checkError, response) =>
            checkError ? reject(checkError) : resolve(response.status),
          );
        },
      );
      expect(answer).toBe(HealthCheckResponse_ServingStatus.SERVING);
    } finally {
      health.close();
    }
    // With a deadline the same call goes through.
    await expect(client.echo({ text: 'ok' })).resolves.toEqual({ text: 'ok' });
    expect(handled).toBe(1);
  });

  it('an outgoing call made by a handler inherits its deadline and request id', async () => {
    const downstream: { client?: GrpcClient<EchoClient> } = {};
    harness = await startEchoServer({
      echo: (request, context) =>
        Promise.resolve({
          text: request.text,
          requestId: context.requestId,
          deadlineMs: context.deadline?.getTime(),
        }),
      // The downstream client's default deadline is 30 s; the relay's own deadline must win.
      relay: (request) => downstream.client!.echo(request),
    });
    downstream.client = harness.client({ defaultDeadlineMs: 30_000 });
    const client = harness.client();
    const startedAt = Date.now();
    const response: EchoResponse = await runWithContext({ requestId: 'req-relay-1' }, () =>
      client.relay({ text: 'hop' }, { timeoutMs: 800 }),
    );
    expect(response.requestId).toBe('req-relay-1');
    // Each hop recomputes the deadline from grpc-timeout on arrival, so allow transit time; what
    // matters is that it is the relay's 800 ms, not the downstream client's 30 s default.
    expect(response.deadlineMs).toBeLessThan(startedAt + 800 + 2_000);
  });
});

describe('errors become statuses in one place', () => {
  it('a thrown plain Error becomes INTERNAL with a generic message; the details are logged with the request id', async () => {
    harness = await startEchoServer({
      echo: () => Promise.reject(new Error('connection to ledger db lost at row 42')),
    });
    const client = harness.client();
    const error = await runWithContext({ requestId: 'req-internal-1' }, () =>
      expectServiceError(client.echo({ text: 'hi' })),
    );
    expect(error.code).toBe(status.INTERNAL);
    expect(error.details).toBe(INTERNAL_ERROR_MESSAGE);
    expect(error.message).not.toContain('ledger');
    expect(grpcErrorReason(error)).toBeUndefined();

    await sleep(20);
    const [line, ...others] = callLines(harness, 'Echo');
    expect(others).toEqual([]);
    expect(line).toMatchObject({
      level: 'error',
      grpcCode: 'INTERNAL',
      grpcService: 'test.v1.EchoService',
      requestId: 'req-internal-1',
      err: { message: 'connection to ledger db lost at row 42' },
    });
    expect(String((line?.err as { stack?: string }).stack)).toContain('unary.int-spec.ts');
  });

  it('a DomainError keeps its code, message, reason and field', async () => {
    harness = await startEchoServer({
      echo: (request) =>
        Promise.reject(
          request.text === 'funds'
            ? failedPrecondition('INSUFFICIENT_FUNDS', 'balance too low')
            : invalidArgument('text', 'must not be empty'),
        ),
    });
    const client = harness.client();
    const funds = await expectServiceError(client.echo({ text: 'funds' }));
    expect(funds.code).toBe(status.FAILED_PRECONDITION);
    expect(funds.details).toBe('balance too low');
    expect(grpcErrorReason(funds)).toBe('INSUFFICIENT_FUNDS');

    const invalid = await expectServiceError(client.echo({ text: '' }));
    expect(invalid.code).toBe(status.INVALID_ARGUMENT);
    expect(invalid.details).toBe('text: must not be empty');
    expect(grpcErrorField(invalid)).toBe('text');

    await sleep(20);
    expect(callLines(harness, 'Echo').map((line) => [line.level, line.grpcCode, line.err])).toEqual(
      [
        ['info', 'FAILED_PRECONDITION', undefined],
        ['info', 'INVALID_ARGUMENT', undefined],
      ],
    );
  });
});

describe('request context', () => {
  it('carries the caller request id into the server handler logs and the call line', async () => {
    harness = await startEchoServer({
      echo: (request, context) => {
        harness!.logger.info('inside handler');
        return Promise.resolve({ text: request.text, requestId: context.requestId });
      },
    });
    const client = harness.client();
    const response = await runWithContext({ requestId: 'req-propagated-1' }, () =>
      client.echo({ text: 'hi' }),
    );
    expect(response.requestId).toBe('req-propagated-1');
    await sleep(20);
    const lines = harness.logs.lines();
    expect(lines.find((line) => line.msg === 'inside handler')).toMatchObject({
      requestId: 'req-propagated-1',
    });
    expect(callLines(harness, 'Echo')).toEqual([
      expect.objectContaining({ requestId: 'req-propagated-1', grpcCode: 'OK', level: 'info' }),
    ]);
    // Payloads never reach the log.
    expect(harness.logs.text()).not.toContain('"text"');
  });

  it('replaces a forged request id and invents one when none is sent', async () => {
    harness = await startEchoServer({
      echo: (request, context) =>
        Promise.resolve({ text: request.text, requestId: context.requestId }),
    });
    const client = harness.client();
    const metadata = new Metadata();
    metadata.set('x-request-id', 'evil"} {"level":"fatal');
    const forged = await client.echo({ text: 'a' }, { metadata });
    expect(forged.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const fresh = await client.echo({ text: 'b' });
    expect(fresh.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(fresh.requestId).not.toBe(forged.requestId);
  });
});

describe('metrics', () => {
  it('records handled calls and durations by service, method and code, and serves them over HTTP', async () => {
    harness = await startEchoServer({
      echo: (request) =>
        request.text === 'missing'
          ? Promise.reject(new DomainError(status.NOT_FOUND, 'no such thing'))
          : Promise.resolve(request),
    });
    const client = harness.client();
    await client.echo({ text: 'a' });
    await client.echo({ text: 'b' });
    await expectServiceError(client.echo({ text: 'missing' }));
    await sleep(20);

    const registry = harness.server.metricsRegistry;
    const handled = await registry.getSingleMetricAsString('grpc_server_handled_total');
    expect(handled).toContain(
      'grpc_server_handled_total{grpc_service="test.v1.EchoService",grpc_method="Echo",grpc_code="OK"} 2',
    );
    expect(handled).toContain(
      'grpc_server_handled_total{grpc_service="test.v1.EchoService",grpc_method="Echo",grpc_code="NOT_FOUND"} 1',
    );
    const seconds = await registry.getSingleMetricAsString('grpc_server_handling_seconds');
    expect(seconds).toContain(
      'grpc_server_handling_seconds_count{grpc_service="test.v1.EchoService",grpc_method="Echo",grpc_code="OK"} 2',
    );

    const metricsServer = await startMetricsServer({ port: 0, host: '127.0.0.1', registry });
    try {
      const response = await fetch(`http://127.0.0.1:${metricsServer.port}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/plain');
      expect(await response.text()).toContain('grpc_server_handled_total{');
      expect((await fetch(`http://127.0.0.1:${metricsServer.port}/`)).status).toBe(404);
    } finally {
      await metricsServer.close();
    }
  });

  it('createMetricsRegistry includes process metrics by default', async () => {
    const registry = createMetricsRegistry({ defaultLabels: { service: 'echo' } });
    const text = await registry.metrics();
    expect(text).toMatch(/process_cpu_user_seconds_total\{service="echo"\}/);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });
});
