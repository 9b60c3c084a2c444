import { captureLogs, createLogger, type CapturedLogs, type Logger } from '@strata/logger';
import { createGrpcClient, type GrpcClient, type GrpcClientOptions } from '../grpc-client';
import { createGrpcServer, type GrpcServer, type GrpcServerOptions } from '../grpc-server';
import { unary, type UnaryHandler } from '../unary.handler';
import { createMetricsRegistry } from '../metrics';
import {
  EchoClient,
  EchoService,
  type EchoRequest,
  type EchoResponse,
  type EchoServer,
} from './echo.service';

export interface Harness {
  readonly server: GrpcServer;
  readonly port: number;
  readonly logs: CapturedLogs;
  readonly logger: Logger;
  client(options?: Partial<GrpcClientOptions>): GrpcClient<EchoClient>;
  /** Closes every client and stops the server (if the test did not already). */
  close(): Promise<void>;
}

type Handler = UnaryHandler<EchoRequest, EchoResponse>;

/** Starts an EchoService on 127.0.0.1:0 with the kit's server, and hands out kit clients. */
export async function startEchoServer(
  handlers: { echo?: Handler; relay?: Handler; ticks?: EchoServer['ticks'] },
  options: Partial<GrpcServerOptions> = {},
): Promise<Harness> {
  const logs = captureLogs();
  const logger = createLogger({ name: 'echo', level: 'debug', destination: logs.stream });
  const server = createGrpcServer({
    name: 'echo',
    logger,
    port: 0,
    host: '127.0.0.1',
    readiness: () => Promise.resolve(true),
    metricsRegistry: createMetricsRegistry({ defaultMetrics: false }),
    ...options,
  });
  const notImplemented: Handler = () => Promise.reject(new Error('not implemented in this test'));
  const implementation: EchoServer = {
    echo: unary(handlers.echo ?? notImplemented),
    relay: unary(handlers.relay ?? notImplemented),
    ticks: handlers.ticks ?? ((call) => call.end()),
  };
  server.addService(EchoService, implementation);
  const port = await server.start();
  const clients: Array<GrpcClient<EchoClient>> = [];
  return {
    server,
    port,
    logs,
    logger,
    client(clientOptions = {}) {
      const client = createGrpcClient(EchoClient, {
        target: `127.0.0.1:${port}`,
        ...clientOptions,
      });
      clients.push(client);
      return client;
    },
    async close() {
      for (const client of clients) client.close();
      await server.shutdown({ graceMs: 1_000 });
    },
  };
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      },
      { once: true },
    );
  });
}
