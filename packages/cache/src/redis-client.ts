import { once } from 'node:events';
import { type Logger } from '@strata/logger';
import { type Command, Redis, type RedisStatus } from 'ioredis';
import { LogThrottle } from './log-throttle';

/** A cache read that waits longer than this is slower than going to the database. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 50;
export const DEFAULT_CONNECT_TIMEOUT_MS = 1_000;
export const DEFAULT_MAX_RECONNECT_DELAY_MS = 2_000;
export const DEFAULT_CLOSE_TIMEOUT_MS = 1_000;
const DEFAULT_ERROR_LOG_INTERVAL_MS = 10_000;
const DISCONNECT_TIMEOUT_MS = 200;

export interface RedisClientOptions {
  /** `redis://[[user]:password@]host[:port][/db]` (or `rediss://` for TLS). Never logged. */
  readonly url: string;
  readonly logger: Logger;
  /** Shown in `CLIENT LIST` and in log lines; e.g. `user-cache`. */
  readonly name?: string;
  /** Per-command deadline; default {@link DEFAULT_COMMAND_TIMEOUT_MS}. */
  readonly commandTimeoutMs?: number;
  /** TCP connect deadline of one attempt; default {@link DEFAULT_CONNECT_TIMEOUT_MS}. */
  readonly connectTimeoutMs?: number;
  /** Cap of the exponential reconnect backoff; default {@link DEFAULT_MAX_RECONNECT_DELAY_MS}. */
  readonly maxReconnectDelayMs?: number;
  /**
   * Do not connect until first used (default false: connect at once). A lazy client's first
   * cache call only starts the connection and bypasses the cache; see {@link waitUntilReady}.
   */
  readonly lazyConnect?: boolean;
  /** At most one connection-error line per interval (reconnects fail every few seconds in an outage). */
  readonly errorLogIntervalMs?: number;
}

/**
 * Exponential backoff from 100 ms, capped, with up to 100 ms of jitter so that replicas do not
 * reconnect in lockstep after a Redis restart. It never gives up: a cache client that stopped
 * retrying would leave the service running without its cache until the next deploy.
 */
export function reconnectDelayMs(
  attempt: number,
  maxDelayMs: number,
  random: () => number = Math.random,
): number {
  const exponential = 100 * 2 ** Math.min(Math.max(attempt - 1, 0), 16);
  return Math.min(exponential, maxDelayMs) + Math.floor(random() * 100);
}

/**
 * An ioredis client with settings for a cache (fail fast, never queue):
 * - `commandTimeout` 50 ms by default: a slow cache must not make requests slow;
 * - `enableOfflineQueue: false`: while disconnected, commands fail at once instead of piling up;
 * - `maxRetriesPerRequest: 0` and `autoResendUnfulfilledCommands: false`: commands in flight when
 *   the connection drops fail instead of being replayed after reconnect (a replayed fill could
 *   land after a later invalidation);
 * - reconnects forever with capped backoff ({@link reconnectDelayMs});
 * - `error` events are always handled (logged at warn, at most one line per interval), so an
 *   outage never crashes the process or floods the log.
 *
 * Close it with {@link closeRedis}.
 */
export function createRedisClient(options: RedisClientOptions): Redis {
  const name = options.name ?? 'cache';
  const maxReconnectDelayMs = options.maxReconnectDelayMs ?? DEFAULT_MAX_RECONNECT_DELAY_MS;
  const log = options.logger.child({ component: 'redis', redisClient: name });
  const client = new Redis(options.url, {
    connectionName: name,
    // No ioredis `commandTimeout`: see armCommandTimeouts (same deadline, but lag-tolerant).
    connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt) => reconnectDelayMs(attempt, maxReconnectDelayMs),
    lazyConnect: options.lazyConnect ?? false,
    // How long ioredis waits for a closing socket before destroying it. Its 2 s default also
    // applies when disconnect() is called while waiting to reconnect (the socket is already
    // gone), leaving a 2 s timer that holds the process (and jest) open after closeRedis.
    disconnectTimeout: DISCONNECT_TIMEOUT_MS,
  });

  armCommandTimeouts(client, options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS);

  const errorThrottle = new LogThrottle(
    options.errorLogIntervalMs ?? DEFAULT_ERROR_LOG_INTERVAL_MS,
  );
  let wasReady = false;
  client.on('error', (error: unknown) => {
    const suppressed = errorThrottle.take();
    if (suppressed !== undefined) log.warn({ err: error, suppressed }, 'redis connection error');
  });
  client.on('ready', () => {
    if (wasReady) log.info('redis reconnected');
    wasReady = true;
  });
  return client;
}

/**
 * The per-command deadline, as ioredis' `commandTimeout` would set it, with one difference: when
 * the deadline passes, the command gets one more turn of the event loop's poll phase before it
 * fails. Timers run before the poll phase, so after any stretch of synchronous work longer than
 * the deadline (a burst of requests, or a process starved of CPU on a loaded machine) a plain
 * timer fails a command whose reply is already waiting in the socket: the deadline then measures
 * this process's own lag, not Redis, and the cache fails open (to the database) exactly when the
 * process has the least CPU to spare. That was measured in the end-to-end benchmark (bench/README.md).
 */
function armCommandTimeouts(client: Redis, timeoutMs: number): void {
  const send = client.sendCommand.bind(client);
  client.sendCommand = (command: Command, ...rest) => {
    const timer = setTimeout(
      () =>
        setImmediate(() => {
          if (!command.isSettled) command.reject(new Error('Command timed out'));
        }),
      timeoutMs,
    );
    command.promise.then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    );
    return send(command, ...rest);
  };
}

/**
 * Waits until the client is ready (connecting it if it is lazy), for boot sequences and tests.
 * Resolves `false` after `timeoutMs` instead of throwing: a cache being down is not fatal.
 */
export async function waitUntilReady(client: Redis, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return true;
  if (client.status === 'end') return false;
  if (client.status === 'wait') client.connect().catch(() => undefined);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    await once(client, 'ready', { signal: controller.signal });
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

// Read through a function: TypeScript would otherwise keep the narrowing from the checks above
// across disconnect(), which changes the status.
function currentStatus(client: Redis): RedisStatus {
  return client.status;
}

/**
 * Closes a client: `QUIT` (lets replies in flight arrive) bounded by `timeoutMs`, then
 * `disconnect()` in every case, which also stops reconnect timers. Never throws.
 */
export async function closeRedis(
  client: Redis,
  timeoutMs: number = DEFAULT_CLOSE_TIMEOUT_MS,
): Promise<void> {
  if (client.status === 'end') return;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  // Subscribed before QUIT: the socket may close (and 'end' fire) before QUIT's reply is handled.
  const ended = once(client, 'end', { signal: controller.signal }).then(
    () => undefined,
    () => undefined,
  );
  try {
    if (client.status === 'ready') {
      // A failed QUIT (connection dropped meanwhile) is settled by the disconnect below.
      const quitting = client.quit().then(
        () => undefined,
        () => undefined,
      );
      await Promise.race([quitting, ended]);
    }
    client.disconnect();
    // A client waiting to reconnect has no socket left: disconnect() only cancelled its timer,
    // and it emits no further 'end'. Otherwise wait (bounded) until the socket is really closed.
    const status = currentStatus(client);
    if (status !== 'end' && status !== 'reconnecting') await ended;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}
