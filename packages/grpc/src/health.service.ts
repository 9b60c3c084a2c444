import { status, type ServerWritableStream } from '@grpc/grpc-js';
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthServer,
} from '@strata/contracts';
import { type Logger } from '@strata/logger';
import { GRPC_DEFAULTS } from './defaults';
import { DomainError } from './domain-error';
import { unary } from './unary.handler';

export { ServingStatus };

export interface HealthOptions {
  /** Resolves true when the service can do its job (its database and Redis answer). */
  readiness: () => Promise<boolean>;
  logger: Logger;
  intervalMs?: number;
  cacheMs?: number;
  timeoutMs?: number;
}

interface Watcher {
  push(): void;
  end(): void;
}

/**
 * `grpc.health.v1.Health` tied to a real readiness probe. The probe runs every `intervalMs`
 * and on a Check whose cached answer is older than `cacheMs` (single-flight: a burst of probes
 * runs it once); a probe that throws or takes longer than `timeoutMs` means NOT_SERVING. Once
 * shutdown starts, every service answers NOT_SERVING for good.
 */
export class HealthReporter {
  private ready = false;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<boolean> | undefined;
  private shuttingDown = false;
  private timer: NodeJS.Timeout | undefined;
  // '' is the whole server, as the protocol defines.
  private readonly services = new Set<string>(['']);
  private readonly watchers = new Set<Watcher>();
  private readonly intervalMs: number;
  private readonly cacheMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly options: HealthOptions) {
    this.intervalMs = options.intervalMs ?? GRPC_DEFAULTS.readinessIntervalMs;
    this.cacheMs = options.cacheMs ?? GRPC_DEFAULTS.readinessCacheMs;
    this.timeoutMs = options.timeoutMs ?? GRPC_DEFAULTS.readinessTimeoutMs;
  }

  /** Makes `name` (e.g. `user.v1.UserService`) known to Check and Watch. */
  addService(name: string): void {
    this.services.add(name);
  }

  /** Runs the first probe, then keeps probing in the background. */
  async start(): Promise<void> {
    await this.refresh();
    if (this.shuttingDown || this.timer) return;
    this.timer = setInterval(() => void this.refresh(), this.intervalMs);
    // Shutdown clears it; unref so a forgotten server never keeps a process alive on its own.
    this.timer.unref();
  }

  /** The status of `service` right now, without probing. */
  status(service = ''): ServingStatus {
    if (!this.services.has(service)) return ServingStatus.SERVICE_UNKNOWN;
    return this.ready && !this.shuttingDown ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
  }

  /** Re-runs the probe (or joins the one in flight) and returns the whole server's status. */
  async refresh(): Promise<ServingStatus> {
    if (!this.shuttingDown) {
      this.inflight ??= this.probe().finally(() => {
        this.inflight = undefined;
      });
      await this.inflight;
    }
    return this.status();
  }

  /** Flips every service to NOT_SERVING for good and tells the watchers. */
  enterShutdown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    clearInterval(this.timer);
    this.timer = undefined;
    this.options.logger.info({ healthStatus: 'NOT_SERVING' }, 'health: shutting down');
    this.notify();
  }

  /** Ends every Watch stream (they would otherwise hold `tryShutdown` until its deadline). */
  endWatches(): void {
    for (const watcher of this.watchers) watcher.end();
    this.watchers.clear();
  }

  /** The service implementation to register under `HealthService`. */
  implementation(): HealthServer {
    return {
      check: unary<HealthCheckRequest, HealthCheckResponse>(
        async (request) => {
          if (!this.services.has(request.service)) {
            throw new DomainError(status.NOT_FOUND, `unknown service ${request.service}`);
          }
          if (performance.now() - this.checkedAt > this.cacheMs) await this.refresh();
          return { status: this.status(request.service) };
        },
        { logger: this.options.logger },
      ),
      watch: (call) => this.watch(call),
    };
  }

  private watch(call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>): void {
    const service = call.request.service;
    let last: ServingStatus | undefined;
    const watcher: Watcher = {
      push: () => {
        const current = this.status(service);
        if (current === last) return;
        last = current;
        call.write({ status: current });
      },
      end: () => call.end(),
    };
    const forget = () => this.watchers.delete(watcher);
    call.on('cancelled', forget);
    // A write racing a disconnect errors the stream; unhandled, that would crash the process.
    call.on('error', forget);
    watcher.push();
    if (this.shuttingDown) {
      call.end();
      return;
    }
    this.watchers.add(watcher);
  }

  private notify(): void {
    for (const watcher of this.watchers) watcher.push();
  }

  private async probe(): Promise<boolean> {
    let timeout: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timeout = setTimeout(() => resolve(false), this.timeoutMs);
    });
    let ready: boolean;
    try {
      ready = await Promise.race([this.options.readiness(), timedOut]);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'health: readiness probe failed');
      ready = false;
    } finally {
      clearTimeout(timeout);
    }
    this.checkedAt = performance.now();
    if (ready !== this.ready) {
      this.ready = ready;
      const level = ready ? 'info' : 'warn';
      this.options.logger[level](
        { healthStatus: ready ? 'SERVING' : 'NOT_SERVING' },
        'health: status changed',
      );
      this.notify();
    }
    return ready;
  }
}
