// The gRPC server and its metrics endpoint started and stopped together, on 127.0.0.1.
import { HealthCheckResponse_ServingStatus as ServingStatus } from '@strata/contracts';
import { createServerLifecycle } from './index';
import { startEchoServer, type Harness } from './testing/harness';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function metricsUrl(port: number | undefined): string {
  if (port === undefined) throw new Error('metrics endpoint not started');
  return `http://127.0.0.1:${port}/metrics`;
}

describe('createServerLifecycle', () => {
  it('starts the metrics endpoint after the gRPC server and closes it only after the drain', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered!: () => void;
    const handlerEntered = new Promise<void>((resolve) => {
      entered = resolve;
    });
    harness = await startEchoServer({
      echo: async (request) => {
        entered();
        await released;
        return request;
      },
    });
    const lifecycle = createServerLifecycle(harness.server, {
      metricsPort: 0,
      metricsHost: '127.0.0.1',
      shutdownGraceMs: 5_000,
    });
    expect(lifecycle.metricsPort).toBeUndefined();
    await expect(lifecycle.start()).resolves.toBe(harness.port);
    const url = metricsUrl(lifecycle.metricsPort);
    expect((await fetch(url)).status).toBe(200);

    const inFlight = harness.client().echo({ text: 'slow' });
    await handlerEntered;
    const stopped = lifecycle.stop();
    // Draining: Health already says NOT_SERVING, and the endpoint still answers scrapes.
    expect(harness.server.servingStatus()).toBe(ServingStatus.NOT_SERVING);
    const duringDrain = await fetch(url);
    expect(duringDrain.status).toBe(200);
    expect(await duringDrain.text()).toContain('grpc_server_handling_seconds');

    release();
    await expect(inFlight).resolves.toEqual({ text: 'slow' });
    await stopped;
    await expect(fetch(url)).rejects.toThrow();
    await expect(lifecycle.stop()).resolves.toBeUndefined(); // a second stop is harmless
  });

  it('opens no metrics endpoint without a metrics port', async () => {
    harness = await startEchoServer({});
    const lifecycle = createServerLifecycle(harness.server);
    await lifecycle.start();
    expect(lifecycle.metricsPort).toBeUndefined();
    await lifecycle.stop();
    expect(harness.server.servingStatus()).toBe(ServingStatus.NOT_SERVING);
  });
});
