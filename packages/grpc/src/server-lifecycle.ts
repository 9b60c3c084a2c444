import { type GrpcServer } from './grpc-server';
import { startMetricsServer, type MetricsServer } from './metrics';

export interface ServerLifecycleOptions {
  /** Serves `GET /metrics` (the server's `metricsRegistry`) on this port; no endpoint if unset. */
  metricsPort?: number | undefined;
  /** Defaults to 0.0.0.0 (scraped from outside the pod); tests pass 127.0.0.1. */
  metricsHost?: string | undefined;
  /** How long in-flight calls get on `stop()`; the server's default (10 s) if unset. */
  shutdownGraceMs?: number | undefined;
}

export interface ServerLifecycle {
  /** Binds the gRPC server, then the metrics endpoint; resolves with the gRPC port. Idempotent. */
  start(): Promise<number>;
  /**
   * Health NOT_SERVING → drain gRPC → close the metrics endpoint. Idempotent; a service closes
   * its own clients, caches and database after this resolves.
   */
  stop(): Promise<void>;
  /** The metrics endpoint's bound port once started (useful with `metricsPort: 0`). */
  readonly metricsPort: number | undefined;
}

/**
 * Starts and stops a service's gRPC server together with its optional Prometheus endpoint, in
 * the order every service needs: the endpoint closes only after the drain, so a scrape during
 * shutdown still sees the calls that were finishing.
 */
export function createServerLifecycle(
  server: GrpcServer,
  options: ServerLifecycleOptions = {},
): ServerLifecycle {
  let starting: Promise<number> | undefined;
  let stopping: Promise<void> | undefined;
  let metrics: MetricsServer | undefined;

  return {
    start() {
      starting ??= (async () => {
        const port = await server.start();
        if (options.metricsPort !== undefined) {
          metrics = await startMetricsServer({
            port: options.metricsPort,
            registry: server.metricsRegistry,
            ...(options.metricsHost === undefined ? {} : { host: options.metricsHost }),
          });
        }
        return port;
      })();
      return starting;
    },
    stop() {
      stopping ??= (async () => {
        await server.shutdown(
          options.shutdownGraceMs === undefined ? {} : { graceMs: options.shutdownGraceMs },
        );
        // A start() still binding the endpoint would otherwise open it after we looked; its own
        // failure was already reported to whoever called start().
        await starting?.catch(() => undefined);
        await metrics?.close();
      })();
      return stopping;
    },
    get metricsPort() {
      return metrics?.port;
    },
  };
}
