import { closeRedis, createRedisClient, waitUntilReady } from '@strata/cache';
import { UserServiceService } from '@strata/contracts';
import { createGrpcServer, createServerLifecycle } from '@strata/grpc';
import { type Logger } from '@strata/logger';
import { type Clock, systemClock } from './clock';
import { SERVICE_NAME, type UserServiceConfig } from './config';
import { openUserDatabase } from './database';
import { userServiceHandlers } from './grpc/user.handlers';
import { PasswordHasher } from './passwords/password-hasher';
import { loadCommonPasswords, PasswordPolicy } from './passwords/password-policy';
import { RedisProfileCache } from './profiles/profile-cache';
import { AccessTokenIssuer } from './tokens/access-token.issuer';
import { createUseCases } from './use-cases';

export const CACHE_KEY_PREFIX = 'strata:user';

export interface UserApp {
  /** Binds the gRPC server (and the metrics endpoint when configured). */
  start(): Promise<{ port: number }>;
  /** Health NOT_SERVING → drain gRPC → metrics → cache → database; safe to call twice. */
  close(): Promise<void>;
}

export interface BuildAppOptions {
  /** Tests move time with it; production uses the system clock. */
  readonly clock?: Clock;
  /** Tests give each suite its own Redis key prefix. */
  readonly cacheKeyPrefix?: string;
  /** How long in-flight calls get on shutdown. */
  readonly shutdownGraceMs?: number;
}

/**
 * Builds the whole service without touching the network: pools and clients connect lazily and the
 * server binds in `start()`, so tests build it in-process on port 0 exactly as production does.
 */
export function buildApp(
  config: UserServiceConfig,
  logger: Logger,
  options: BuildAppOptions = {},
): UserApp {
  const database = openUserDatabase({
    url: config.DATABASE_URL,
    poolMax: config.DB_POOL_MAX,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    applicationName: SERVICE_NAME,
    logger,
  });
  const redis = createRedisClient({
    url: config.REDIS_CACHE_URL,
    logger,
    name: 'user-cache',
    lazyConnect: true,
  });
  const profileCache = new RedisProfileCache({
    redis,
    logger,
    keyPrefix: options.cacheKeyPrefix ?? CACHE_KEY_PREFIX,
  });
  const passwordHasher = new PasswordHasher();
  const accessTokens = new AccessTokenIssuer({
    privateKeyPem: config.JWT_PRIVATE_KEY.reveal(),
    keyId: config.JWT_KEY_ID,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
  });
  const useCases = createUseCases({
    database: database.prisma,
    profileCache,
    passwordPolicy: new PasswordPolicy(loadCommonPasswords()),
    passwordHasher,
    accessTokens,
    refreshTokenTtlDays: config.REFRESH_TOKEN_TTL_DAYS,
    clock: options.clock ?? systemClock,
    logger,
  });

  const server = createGrpcServer({
    name: SERVICE_NAME,
    logger,
    host: config.USER_GRPC_HOST,
    port: config.USER_GRPC_PORT,
    // Only PostgreSQL decides readiness: the profile cache fails open, so a Redis outage slows
    // reads down but must not take the service out of the load balancer.
    readiness: () => database.ping(),
  });
  server.addService(UserServiceService, userServiceHandlers(useCases));

  const lifecycle = createServerLifecycle(server, {
    metricsPort: config.METRICS_PORT,
    shutdownGraceMs: options.shutdownGraceMs,
  });
  let closing: Promise<void> | undefined;

  return {
    async start() {
      // Neither is fatal: a cold cache is only slower, and the dummy hash is made lazily otherwise.
      await Promise.all([waitUntilReady(redis, 1_000), passwordHasher.warmUp()]);
      return { port: await lifecycle.start() };
    },
    close() {
      closing ??= (async () => {
        await lifecycle.stop();
        await profileCache.drain();
        await closeRedis(redis);
        await database.close();
      })();
      return closing;
    },
  };
}
