import { baseConfigShape, env, z } from '@strata/config';

const MIB = 1024 * 1024;

/** The gateway's whole configuration; `main.ts` parses it once, everything else receives it. */
export const gatewayConfigSchema = z.object({
  ...baseConfigShape,
  GATEWAY_PORT: env.port().default(8081),
  GATEWAY_HOST: env.string().default('0.0.0.0'),
  /** Rate limits, page cache, login-failure counters. */
  REDIS_GATEWAY_URL: env.url('redis', 'rediss').default('redis://127.0.0.1:6379'),
  /** Where services publish real-time events; defaults to REDIS_GATEWAY_URL. */
  REDIS_EVENTS_URL: env.url('redis', 'rediss').optional(),
  /** Prefix of every key the gateway writes, so several deployments can share one Redis. */
  REDIS_KEY_PREFIX: env.string().default('strata:gateway'),
  USER_SERVICE_URL: env.string().default('dns:///127.0.0.1:50051'),
  PAYMENT_SERVICE_URL: env.string().default('dns:///127.0.0.1:50052'),
  CONTENT_SERVICE_URL: env.string().default('dns:///127.0.0.1:50053'),
  JWT_ISSUER: env.string().default('strata'),
  JWT_AUDIENCE: env.string().default('strata-api'),
  /** How long fetched signing keys are trusted before a background refetch. */
  JWT_KEYS_TTL_SECONDS: env.int(1, 86_400).default(300),
  /** General per-client limit; generous by default, raised further for load tests. */
  RATE_LIMIT_MAX: env.int(1, 10_000_000).default(1_000),
  RATE_LIMIT_WINDOW_MS: env.int(100, 86_400_000).default(60_000),
  /** Failed logins per account and client within LOGIN_FAILURE_WINDOW_MS. */
  LOGIN_FAILURE_LIMIT: env.int(1, 10_000).default(10),
  LOGIN_FAILURE_WINDOW_MS: env.int(1_000, 86_400_000).default(15 * 60_000),
  /** Password-reset requests per email and client within PASSWORD_RESET_WINDOW_MS. */
  PASSWORD_RESET_LIMIT: env.int(1, 10_000).default(5),
  PASSWORD_RESET_WINDOW_MS: env.int(1_000, 86_400_000).default(60 * 60_000),
  BODY_LIMIT_BYTES: env.int(1_024, 100 * MIB).default(MIB),
  MEDIA_MAX_BYTES: env.int(1_024, 100 * MIB).default(10 * MIB),
  PAGE_CACHE_TTL_SECONDS: env.int(1, 86_400).default(30),
  /** Fastify `trustProxy`: `true`, `false` or a comma-separated list of addresses/CIDRs (Nginx's). */
  TRUST_PROXY: env.string().default('127.0.0.1/8,::1/128'),
  DOWNSTREAM_DEADLINE_MS: env.int(50, 120_000).default(3_000),
  WS_HEARTBEAT_INTERVAL_MS: env.int(100, 600_000).default(30_000),
  /** Bytes a socket may have queued before it is closed as too slow. */
  WS_MAX_BUFFERED_BYTES: env.int(1_024, 64 * MIB).default(MIB),
  /** How long graceful shutdown waits for requests and sockets. */
  SHUTDOWN_GRACE_MS: env.int(0, 120_000).default(10_000),
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

/** `TRUST_PROXY` as Fastify wants it. */
export function trustProxyOption(value: string): boolean | string[] {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}
