/**
 * Every tuning number of the kit in one place, so the README, the server and the client agree.
 * Each value is a default: services override it through their own config when they must.
 */
export const GRPC_DEFAULTS = {
  /** Deadline applied to an outgoing unary call whose caller gave none. */
  deadlineMs: 5_000,

  /**
   * Servers close every connection after about this long (grpc-js adds ±10 % jitter) with a
   * GOAWAY, so `dns:///` clients re-resolve and start using pods added by a scale-up.
   */
  maxConnectionAgeMs: 60_000,
  /** After the GOAWAY, calls already running on the old connection get this long to finish. */
  maxConnectionAgeGraceMs: 30_000,

  /** Server → client pings, to drop connections of clients that vanished without a FIN/RST. */
  serverKeepaliveTimeMs: 60_000,
  serverKeepaliveTimeoutMs: 20_000,
  /**
   * The server's ping policy: clients may ping (even with no call in flight) at most this often.
   * Client keepalive must stay at or above it (C-core and Go servers answer faster pings with
   * GOAWAY `too_many_pings`; grpc-js 1.14 servers do not enforce it, but the policy is declared
   * so a proxy or a server in another language in front of us behaves the same).
   */
  minPingIntervalWithoutDataMs: 10_000,

  /** Client → server pings: notice a dead pod (node lost, no RST) in ~40 s, not TCP's ~15 min. */
  clientKeepaliveTimeMs: 30_000,
  clientKeepaliveTimeoutMs: 10_000,

  /** gRFC A6 retry policy, applied only to UNAVAILABLE (the call never reached a handler, or the
   * server asked to be retried), never to codes where the handler may have had effects. */
  retry: {
    maxAttempts: 4,
    initialBackoffMs: 100,
    maxBackoffMs: 1_000,
    backoffMultiplier: 2,
  },
  /** Token bucket per target: retries stop when more than half the tokens are spent, so a
   * struggling service is not hit by a retry storm (each failure costs 1, each success refunds 0.1). */
  retryThrottling: { maxTokens: 10, tokenRatio: 0.1 },

  /** How often the server re-runs the readiness probe (DB + Redis) for Health. */
  readinessIntervalMs: 5_000,
  /** A Health Check re-runs the probe only if the cached answer is older than this. */
  readinessCacheMs: 1_000,
  /** A probe that takes longer than this counts as "not ready". */
  readinessTimeoutMs: 2_000,

  /** `shutdown()`: how long in-flight calls get before `forceShutdown`. */
  shutdownGraceMs: 10_000,

  /** Largest request message accepted (grpc-js's own default, made explicit). */
  maxReceiveMessageLength: 4 * 1024 * 1024,
} as const;

/** Trailing-metadata key carrying a {@link DomainError}'s machine-readable reason. */
export const ERROR_REASON_METADATA_KEY = 'strata-error-reason';
/** Trailing-metadata key naming the request field an INVALID_ARGUMENT is about. */
export const ERROR_FIELD_METADATA_KEY = 'strata-error-field';
/** Reason sent with the INVALID_ARGUMENT that rejects a call without a deadline. */
export const DEADLINE_REQUIRED_REASON = 'DEADLINE_REQUIRED';
/** Full-method prefix of the standard health service (exempt from the deadline rule). */
export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';
