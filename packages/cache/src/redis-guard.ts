import { type Redis } from 'ioredis';

/**
 * Why the cache did not use Redis for an operation (not ready, circuit open, timed out). An
 * expected condition, raised per request during an outage, so it carries no stack trace: the
 * capture was the costliest part of a bypassed cache read (2 % of the content service's CPU with
 * its cache Redis down, bench/FINDINGS.md), and the message says all there is to say.
 */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';

  constructor(message: string) {
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(message);
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
  }
}

export interface RedisGuardOptions {
  /** Upper bound on one Redis call, whatever the client's own settings. */
  readonly timeoutMs: number;
  /** Consecutive failures after which calls are skipped for `cooldownMs`. */
  readonly failureThreshold: number;
  readonly cooldownMs: number;
}

export interface RedisCallOptions {
  /** Attempt the call even while the circuit is open (still not when the client is not ready). */
  readonly ignoreCircuit?: boolean;
}

interface ClientHealth {
  consecutiveFailures: number;
  openUntil: number;
}

// Health is shared by every cache over the same client: when Redis is slow, the profile cache
// learning it also spares the article cache its 50 ms timeouts.
const healthByClient = new WeakMap<Redis, ClientHealth>();

function healthOf(client: Redis): ClientHealth {
  let health = healthByClient.get(client);
  if (!health) {
    health = { consecutiveFailures: 0, openUntil: 0 };
    healthByClient.set(client, health);
  }
  return health;
}

/**
 * Runs Redis calls so that they fail fast instead of waiting:
 * - a client that is not `ready` is not even asked (with `enableOfflineQueue: false` it would
 *   reject anyway; checking first avoids building an error per request during an outage),
 * - every call races a timer, so a client without `commandTimeout` is bounded too,
 * - after `failureThreshold` consecutive failures, calls are skipped for `cooldownMs` (a small
 *   circuit breaker), so a Redis that answers slowly costs one timeout per cooldown, not one per
 *   request. The next failure after the cooldown re-opens it at once.
 */
export class RedisGuard {
  private readonly health: ClientHealth;

  constructor(
    readonly client: Redis,
    private readonly options: RedisGuardOptions,
  ) {
    this.health = healthOf(client);
  }

  /** Whether a call would be attempted now; `reason` says why not. */
  availability(
    options: RedisCallOptions = {},
  ): { readonly available: true } | { readonly available: false; readonly reason: string } {
    const status = this.client.status;
    if (status !== 'ready') {
      if (status === 'wait') {
        // A lazyConnect client nobody connected yet: start connecting; this call still bypasses.
        this.client.connect().catch(() => undefined);
      }
      return { available: false, reason: `redis not ready (status ${status})` };
    }
    if (!options.ignoreCircuit && Date.now() < this.health.openUntil) {
      return {
        available: false,
        reason: `redis skipped after ${this.health.consecutiveFailures} consecutive failures`,
      };
    }
    return { available: true };
  }

  /** Runs `call` within the time limit; throws {@link RedisUnavailableError} or the call's error. */
  async run<Result>(
    call: (client: Redis) => Promise<Result>,
    options: RedisCallOptions = {},
  ): Promise<Result> {
    const availability = this.availability(options);
    if (!availability.available) throw new RedisUnavailableError(availability.reason);

    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      // Rejects one poll phase after the deadline, not at it: a reply already waiting in the
      // socket after a long synchronous stretch (timers run before I/O) is still taken, so the
      // deadline measures Redis and not this process's own event-loop lag.
      timer = setTimeout(
        () =>
          setImmediate(() =>
            reject(
              new RedisUnavailableError(`redis call timed out after ${this.options.timeoutMs} ms`),
            ),
          ),
        this.options.timeoutMs,
      );
    });
    const pending = call(this.client);
    // If the timer wins, the call may still reject later: keep that from becoming unhandled.
    pending.catch(() => undefined);
    try {
      const result = await Promise.race([pending, timeout]);
      this.health.consecutiveFailures = 0;
      this.health.openUntil = 0;
      return result;
    } catch (error) {
      this.health.consecutiveFailures += 1;
      if (this.health.consecutiveFailures >= this.options.failureThreshold) {
        this.health.openUntil = Date.now() + this.options.cooldownMs;
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}
