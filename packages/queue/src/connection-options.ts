import { type RedisOptions } from 'ioredis';

/**
 * Where the queues live: ioredis options, optionally with a `url` (`redis://host:6379/0`), as
 * BullMQ accepts them. Always options, never a client instance: BullMQ only closes connections it
 * created itself, and a shared instance would also lose the per-role settings below.
 */
export type QueueConnectionOptions = Omit<RedisOptions, 'retryStrategy'> & {
  readonly url?: string;
  /** Delay before reconnect attempt `times`; `null` stops reconnecting (ioredis semantics). */
  readonly retryStrategy?: (times: number) => number | null;
};

/** Connection settings common to producers, workers and the relay. */
export interface QueueConnectionSettings {
  readonly connection: QueueConnectionOptions;
  /**
   * Prefix of every BullMQ key (default `bull`). Tests use a unique one per test; in production
   * every process that touches a queue must use the same prefix.
   */
  readonly prefix?: string;
}

// How long a closing socket may wait for the server's FIN before it is destroyed (ioredis: 2 s).
// Only a dead peer ever takes that long, and the timer would keep a stopping process alive.
const DISCONNECT_TIMEOUT_MS = 500;

// Reconnect quickly but not in a tight loop: 0.25 s, 0.5 s, 1 s, 2 s, then every 2 s (±20 %).
function reconnectDelay(maxDelayMs: number) {
  return (times: number): number => {
    const base = Math.min(250 * 2 ** (times - 1), maxDelayMs);
    return Math.round(base * (0.8 + Math.random() * 0.4));
  };
}

/**
 * Producer side (HTTP/gRPC handlers, the outbox relay): fail fast. Without an offline queue a
 * command issued while Redis is down fails at once instead of piling up in memory, one retry
 * at most per command, and a short connect timeout.
 */
export function producerConnectionOptions(base: QueueConnectionOptions): QueueConnectionOptions {
  return {
    connectTimeout: 2_000,
    commandTimeout: 5_000,
    disconnectTimeout: DISCONNECT_TIMEOUT_MS,
    retryStrategy: reconnectDelay(2_000),
    ...base,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
  };
}

/**
 * Worker side: BullMQ requires `maxRetriesPerRequest: null` on the blocking connection (a
 * BZPOPMIN must wait, not fail after N retries). Reconnect delays are capped at 2 s so a worker
 * picks work up again within seconds of Redis coming back; the watchdog covers the rest.
 */
export function workerConnectionOptions(base: QueueConnectionOptions): QueueConnectionOptions {
  return {
    connectTimeout: 5_000,
    disconnectTimeout: DISCONNECT_TIMEOUT_MS,
    retryStrategy: reconnectDelay(2_000),
    ...base,
    maxRetriesPerRequest: null,
  };
}
