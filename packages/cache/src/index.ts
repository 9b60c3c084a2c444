export {
  Cache,
  DEFAULT_COOLDOWN_MS,
  DEFAULT_FAILURE_THRESHOLD,
  DEFAULT_JITTER_RATIO,
  DEFAULT_LEASE_POLL_INTERVAL_MS,
  DEFAULT_LEASE_TTL_MS,
  DEFAULT_LEASE_WAIT_MS,
  DEFAULT_WARN_INTERVAL_MS,
  MAX_PENDING_INVALIDATIONS,
  type CacheLeaseOptions,
  type CacheMetric,
  type CacheMetricEvent,
  type CacheOptions,
  type CacheWriteOptions,
} from './cache';
export { jsonCodec, type CacheCodec } from './cache-codec';
export {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_RECONNECT_DELAY_MS,
  closeRedis,
  createRedisClient,
  reconnectDelayMs,
  waitUntilReady,
  type RedisClientOptions,
} from './redis-client';
export { RedisUnavailableError } from './redis-guard';
export { jitteredTtlMs } from './ttl-jitter';
