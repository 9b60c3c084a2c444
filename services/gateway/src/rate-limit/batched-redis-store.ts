import { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { groupCommit } from '@strata/runtime';
import { type Redis } from 'ioredis';

/**
 * KEYS: the counters of one batch, each once. ARGV: per key, the batch's increments and the window
 * in ms. Per key: INCRBY the increments; a counter this call created, or one without an expiry,
 * gets the window as its expiry, any other answers its remaining PTTL (the rule of
 * @fastify/rate-limit's RedisStore, without its `continueExceeding` and `exponentialBackoff`,
 * which the gateway does not use). Replies value, ttl per key.
 *
 * All keys of a batch go to one Redis in one script: on Redis Cluster they would have to share a
 * hash slot (the gateway's Redis is one primary).
 */
const INCREMENT_COUNTERS_SCRIPT = `
local reply = {}
for index, key in ipairs(KEYS) do
  local increments = tonumber(ARGV[index * 2 - 1])
  local window = tonumber(ARGV[index * 2])
  local current = redis.call('INCRBY', key, increments)
  local ttl = window
  if current == increments then
    redis.call('PEXPIRE', key, window)
  else
    ttl = redis.call('PTTL', key)
    if ttl < 0 then
      redis.call('PEXPIRE', key, window)
      ttl = window
    end
  end
  reply[#reply + 1] = current
  reply[#reply + 1] = ttl
end
return reply
`;

export interface CounterIncrement {
  readonly key: string;
  readonly windowMs: number;
}

export interface CounterState {
  /** This request's place in the window: the counter's value right after its increment. */
  readonly current: number;
  readonly ttl: number;
}

/**
 * Increments a batch of counters in one round trip. Increments of one key in a batch are added
 * with one INCRBY and handed out in call order, so every caller gets the value it would have got
 * from its own INCR: the count stays exact, only the number of round trips changes.
 */
export function incrementCounters(redis: Redis) {
  return async (increments: readonly CounterIncrement[]): Promise<CounterState[]> => {
    const byKey = new Map<string, { windowMs: number; callers: number[] }>();
    increments.forEach((increment, index) => {
      const counter = byKey.get(increment.key);
      if (counter) counter.callers.push(index);
      else byKey.set(increment.key, { windowMs: increment.windowMs, callers: [index] });
    });
    const keys = [...byKey.keys()];
    const counters = [...byKey.values()];
    const args = counters.flatMap((counter) => [counter.callers.length, counter.windowMs]);
    const reply = await redis.eval(INCREMENT_COUNTERS_SCRIPT, keys.length, ...keys, ...args);
    if (!Array.isArray(reply) || reply.length !== keys.length * 2) {
      throw new Error('unexpected reply from the rate-limit counter script');
    }
    const states = new Array<CounterState>(increments.length);
    counters.forEach((counter, keyIndex) => {
      const current = Number(reply[keyIndex * 2]);
      const ttl = Number(reply[keyIndex * 2 + 1]);
      const first = current - counter.callers.length + 1;
      counter.callers.forEach((caller, order) => {
        states[caller] = { current: first + order, ttl };
      });
    });
    return states;
  };
}

export interface BatchedRedisStoreOptions {
  readonly redis: Redis;
  /** Prefix of every counter key; the same as RedisStore's `nameSpace`, so both count together. */
  readonly keyPrefix: string;
  /** Counters incremented by one script call at most. */
  readonly maxBatchSize?: number;
}

/**
 * A Redis store for @fastify/rate-limit that group-commits its counters: an increment made while
 * the previous batch is in flight waits and goes with the next one, so under load one round trip
 * (one script, one socket write and read on each side) serves many requests, whatever their
 * clients. An idle gateway sends each increment at once, as the plugin's RedisStore does. The
 * limits stay exact and shared by every replica; keys are RedisStore's, so replicas running either
 * store during a rolling update count together.
 *
 * A failed batch fails every request in it (no retry: the error is Redis's, not a request's), and
 * the plugin's `skipOnError` lets them through, as with RedisStore.
 */
export function batchedRedisStore(options: BatchedRedisStoreOptions): FastifyRateLimitStoreCtor {
  const increment = groupCommit(incrementCounters(options.redis), {
    maxBatchSize: options.maxBatchSize ?? 256,
    maxConcurrentBatches: 1,
    retryFailedBatchInputsAlone: false,
  });

  class BatchedRedisStore implements FastifyRateLimitStore {
    constructor(
      _pluginOrRouteOptions: unknown,
      private readonly prefix: string = options.keyPrefix,
    ) {}

    incr(
      key: string,
      callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
    ): void {
      increment({ key: this.prefix + key, windowMs: timeWindow }).then(
        (state) => callback(null, state),
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
      );
    }

    /** A route with limits of its own counts apart, under RedisStore's key for that route. */
    child(routeOptions: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
      // The plugin passes its merged parameters with the route under `routeInfo`; the published
      // type names the route options themselves.
      const route = (routeOptions as { routeInfo?: { method?: unknown; url?: unknown } }).routeInfo;
      return new BatchedRedisStore(
        routeOptions,
        `${this.prefix}${String(route?.method)}${String(route?.url)}-`,
      );
    }
  }
  return BatchedRedisStore;
}
