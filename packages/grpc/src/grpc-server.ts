import {
  Server,
  ServerCredentials,
  type ChannelOptions,
  type ServerInterceptor,
  type ServerOptions,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { HealthService } from '@strata/contracts';
import { type Logger } from '@strata/logger';
import { type Registry } from 'prom-client';
import { splitMethodPath } from './call-scope';
import { GRPC_DEFAULTS, HEALTH_SERVICE_NAME } from './defaults';
import { HealthReporter, type ServingStatus } from './health.service';
import { deadlineRequiredInterceptor } from './interceptors/deadline-required.interceptor';
import { loggingInterceptor } from './interceptors/logging.interceptor';
import { metricsInterceptor } from './interceptors/metrics.interceptor';
import { requestContextInterceptor } from './interceptors/request-context.interceptor';
import { createMetricsRegistry, createServerMetrics } from './metrics';

/** The server's keepalive behaviour and the ping policy it declares to clients. */
export interface ServerKeepaliveOptions {
  /** Server → client ping interval. */
  timeMs?: number;
  /** How long a ping may go unanswered before the connection is dropped. */
  timeoutMs?: number;
  /** Whether clients may ping while no call is in flight (ours do, to keep idle channels warm). */
  permitWithoutCalls?: boolean;
  /** Shortest client ping interval the policy allows; client keepalive must be ≥ this. */
  minPingIntervalWithoutDataMs?: number;
}

export interface GrpcServerOptions {
  /** Service name, used in logs. */
  name: string;
  logger: Logger;
  port: number;
  /** Defaults to `0.0.0.0`; tests use `127.0.0.1`. */
  host?: string;
  /** Resolves true when the dependencies the service needs (DB, Redis) answer. Drives Health. */
  readiness: () => Promise<boolean>;
  readinessIntervalMs?: number;
  readinessCacheMs?: number;
  readinessTimeoutMs?: number;
  maxConnectionAgeMs?: number;
  maxConnectionAgeGraceMs?: number;
  keepalive?: ServerKeepaliveOptions;
  maxReceiveMessageLength?: number;
  /** Where `grpc_server_*` metrics go; a fresh registry with process metrics if omitted. */
  metricsRegistry?: Registry;
  /** Reject calls without a deadline (default true; health is always exempt). */
  requireDeadline?: boolean;
  /** Extra interceptors, run after the kit's own (closest to the handler). */
  interceptors?: ServerInterceptor[];
}

export interface ShutdownOptions {
  /** How long in-flight calls get to finish before they are cancelled. */
  graceMs?: number;
  /**
   * Time between flipping Health to NOT_SERVING and refusing new calls, for probes and
   * load balancers that need to see NOT_SERVING first. 0 by default: in Kubernetes the
   * `preStop` sleep already did that before SIGTERM arrived.
   */
  drainDelayMs?: number;
}

export interface GrpcServer {
  /** The underlying grpc-js server (for what the kit does not wrap). */
  readonly server: Server;
  readonly metricsRegistry: Registry;
  readonly health: HealthReporter;
  /** Registers a service (and makes its name known to Health). Call before {@link start}. */
  addService<Implementation extends UntypedServiceImplementation>(
    definition: ServiceDefinition<Implementation>,
    implementation: Implementation,
  ): void;
  /** Binds, runs the first readiness probe, and resolves with the bound port. */
  start(): Promise<number>;
  /** Health NOT_SERVING → (drain delay) → `tryShutdown` until `graceMs` → `forceShutdown`. */
  shutdown(options?: ShutdownOptions): Promise<void>;
  /** The whole server's health status right now. */
  servingStatus(): ServingStatus;
}

/** The grpc-js server options the kit sets (exported so tests and docs can show them). */
export function serverChannelOptions(
  options: Omit<GrpcServerOptions, 'name' | 'logger' | 'port' | 'readiness'>,
): ChannelOptions {
  const keepalive = options.keepalive ?? {};
  return {
    'grpc.max_connection_age_ms': options.maxConnectionAgeMs ?? GRPC_DEFAULTS.maxConnectionAgeMs,
    'grpc.max_connection_age_grace_ms':
      options.maxConnectionAgeGraceMs ?? GRPC_DEFAULTS.maxConnectionAgeGraceMs,
    'grpc.keepalive_time_ms': keepalive.timeMs ?? GRPC_DEFAULTS.serverKeepaliveTimeMs,
    'grpc.keepalive_timeout_ms': keepalive.timeoutMs ?? GRPC_DEFAULTS.serverKeepaliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': (keepalive.permitWithoutCalls ?? true) ? 1 : 0,
    'grpc.http2.min_ping_interval_without_data_ms':
      keepalive.minPingIntervalWithoutDataMs ?? GRPC_DEFAULTS.minPingIntervalWithoutDataMs,
    'grpc.max_receive_message_length':
      options.maxReceiveMessageLength ?? GRPC_DEFAULTS.maxReceiveMessageLength,
  };
}

/**
 * A grpc-js server with the platform's defaults: request context, one log line and metrics per
 * call, a deadline required on every call, `grpc.health.v1.Health` tied to `readiness`,
 * connection age limits (so `dns:///` clients re-resolve) and a graceful shutdown.
 */
export function createGrpcServer(options: GrpcServerOptions): GrpcServer {
  const logger = options.logger;
  const metricsRegistry = options.metricsRegistry ?? createMetricsRegistry();
  const health = new HealthReporter({
    readiness: options.readiness,
    logger,
    intervalMs: options.readinessIntervalMs,
    cacheMs: options.readinessCacheMs,
    timeoutMs: options.readinessTimeoutMs,
  });

  // Order matters: incoming events pass through these first to last, statuses last to first.
  // The context comes first so every later step (and the handler) runs inside it; the deadline
  // check comes after logging and metrics so its rejections are logged and counted.
  const interceptors: ServerInterceptor[] = [
    requestContextInterceptor(),
    loggingInterceptor(logger),
    metricsInterceptor(createServerMetrics(metricsRegistry)),
    ...(options.requireDeadline === false ? [] : [deadlineRequiredInterceptor()]),
    ...(options.interceptors ?? []),
  ];
  const serverOptions: ServerOptions = { ...serverChannelOptions(options), interceptors };
  const server = new Server(serverOptions);
  server.addService(HealthService, health.implementation());
  health.addService(HEALTH_SERVICE_NAME);

  let started: Promise<number> | undefined;
  let stopping: Promise<void> | undefined;

  const bind = () =>
    new Promise<number>((resolve, reject) => {
      server.bindAsync(
        `${options.host ?? '0.0.0.0'}:${options.port}`,
        ServerCredentials.createInsecure(),
        (error, port) => (error ? reject(error) : resolve(port)),
      );
    });

  async function stop(shutdownOptions: ShutdownOptions): Promise<void> {
    const graceMs = shutdownOptions.graceMs ?? GRPC_DEFAULTS.shutdownGraceMs;
    logger.info(
      { graceMs, drainDelayMs: shutdownOptions.drainDelayMs ?? 0 },
      'grpc server: shutting down',
    );
    health.enterShutdown();
    if (shutdownOptions.drainDelayMs) await delay(shutdownOptions.drainDelayMs);
    health.endWatches();
    const drained = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), graceMs);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!drained) {
      logger.warn(
        { graceMs },
        'grpc server: in-flight calls outlived the grace period; cancelling them',
      );
      server.forceShutdown();
    }
    logger.info({ drained }, 'grpc server: stopped');
  }

  return {
    server,
    metricsRegistry,
    health,
    addService(definition, implementation) {
      if (started) throw new Error('addService must be called before start()');
      server.addService(definition, implementation);
      const [firstMethod] = Object.values(definition);
      if (firstMethod) health.addService(splitMethodPath(firstMethod.path).service);
    },
    start() {
      started ??= (async () => {
        const port = await bind();
        await health.start();
        logger.info(
          { port, server: options.name, healthStatus: health.status() },
          'grpc server: listening',
        );
        return port;
      })();
      return started;
    },
    shutdown(shutdownOptions = {}) {
      stopping ??= stop(shutdownOptions);
      return stopping;
    },
    servingStatus: () => health.status(),
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
