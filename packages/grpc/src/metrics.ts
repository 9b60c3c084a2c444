import { createServer, type Server as HttpServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsRegistryOptions {
  /** Process metrics (CPU, memory, event-loop lag, GC): on by default. */
  defaultMetrics?: boolean;
  /** Labels added to every series, e.g. `{ service: 'user' }`. */
  defaultLabels?: Record<string, string>;
}

/** A fresh prom-client registry (never the global one, so tests and several servers can coexist). */
export function createMetricsRegistry(options: MetricsRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

type ServerLabel = 'grpc_service' | 'grpc_method' | 'grpc_code';

export interface ServerMetrics {
  readonly handlingSeconds: Histogram<ServerLabel>;
  readonly handledTotal: Counter<ServerLabel>;
}

const HANDLING_SECONDS = 'grpc_server_handling_seconds';
const HANDLED_TOTAL = 'grpc_server_handled_total';
const LABELS: ServerLabel[] = ['grpc_service', 'grpc_method', 'grpc_code'];

/** The server-side gRPC metrics in `registry` (created once, reused if already registered). */
export function createServerMetrics(registry: Registry): ServerMetrics {
  const existingHistogram = registry.getSingleMetric(HANDLING_SECONDS);
  const existingCounter = registry.getSingleMetric(HANDLED_TOTAL);
  if (existingHistogram instanceof Histogram && existingCounter instanceof Counter) {
    return {
      handlingSeconds: existingHistogram,
      handledTotal: existingCounter,
    };
  }
  return {
    handlingSeconds: new Histogram({
      name: HANDLING_SECONDS,
      help: 'Time from receiving a gRPC call to sending its status, in seconds.',
      labelNames: LABELS,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    handledTotal: new Counter({
      name: HANDLED_TOTAL,
      help: 'gRPC calls completed on the server, by status code.',
      labelNames: LABELS,
      registers: [registry],
    }),
  };
}

export interface MetricsServerOptions {
  port: number;
  /** Defaults to 0.0.0.0 (scraped from outside the pod); tests pass 127.0.0.1. */
  host?: string;
  registry: Registry;
}

export interface MetricsServer {
  /** The bound port (useful with `port: 0`). */
  readonly port: number;
  close(): Promise<void>;
}

/** A tiny HTTP server answering `GET /metrics` in the Prometheus text format; 404 elsewhere. */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server: HttpServer = createServer((request, response) => {
    if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    options.registry.metrics().then(
      (body) => response.writeHead(200, { 'content-type': options.registry.contentType }).end(body),
      () => response.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Scrapers keep connections alive; do not wait for them to time out.
        server.closeAllConnections();
      }),
  };
}
