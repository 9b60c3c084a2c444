import rateLimit from '@fastify/rate-limit';
import websocket from '@fastify/websocket';
import { closeRedis, createRedisClient, waitUntilReady } from '@strata/cache';
import { type Logger } from '@strata/logger';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { AccessTokenVerifier } from './auth/access-token.verifier';
import { installAuthentication } from './auth/authenticate.hook';
import { SigningKeyStore } from './auth/signing-keys';
import { registerArticleRoutes } from './articles/articles.routes';
import { trustProxyOption, type GatewayConfig } from './config';
import { createDownstream, type Downstream } from './downstream/downstream';
import { ApiError } from './errors/api-error';
import { installErrorHandling } from './errors/error-handler';
import { EventHub } from './events/event-hub';
import { registerEventsRoute, selectSubprotocol } from './events/events.routes';
import { type GatewayContext } from './gateway-context';
import { installRequestLifecycle, requestIdFor } from './http/request-id';
import { errorResponseSchema } from './http/schemas';
import { mediaRoutes } from './media/media.routes';
import { registerHealthRoutes } from './observability/health.routes';
import { installHttpMetrics } from './observability/metrics';
import { registerOpenApi } from './openapi/openapi';
import { PageCache } from './page-cache/page-cache';
import { registerPaymentRoutes } from './payments/payments.routes';
import { webhookRoutes } from './payments/webhooks.routes';
import { batchedRedisStore } from './rate-limit/batched-redis-store';
import { LoginFailureLimiter } from './rate-limit/login-failures';
import { registerUserRoutes } from './users/users.routes';

export interface BuildAppOptions {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  /** Tests may pass their own clients (e.g. pointing at fake services); closed by the app anyway. */
  readonly downstream?: Downstream;
}

// Header and URL bounds: a request bigger than this is refused before any work.
const MAX_PARAM_LENGTH = 200;
const REDIS_COMMAND_TIMEOUT_MS = 100;

/**
 * Builds the gateway: no I/O at import or build time; connections open on `ready()`/`listen()`
 * and close on `close()` in reverse order.
 */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const app: FastifyInstance = createFastify(options.config, options.logger);
  return configure(app, options);
}

function createFastify(config: GatewayConfig, logger: Logger): FastifyInstance {
  // pino's Logger is a FastifyBaseLogger; typed as such so the instance has the default type.
  const loggerInstance: FastifyBaseLogger = logger;
  return Fastify({
    loggerInstance,
    trustProxy: trustProxyOption(config.TRUST_PROXY),
    bodyLimit: config.BODY_LIMIT_BYTES,
    requestIdHeader: false,
    genReqId: requestIdFor,
    // The platform's one log key for it (gRPC services and jobs write `requestId`), not `reqId`.
    // Given to the LogController: the top-level `requestIdLogLabel` is deprecated (FSTDEP024).
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH, ignoreTrailingSlash: false },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: {
      customOptions: {
        // Unknown body fields are an error (400), not silently dropped.
        removeAdditional: false,
        coerceTypes: true,
        useDefaults: true,
        allErrors: false,
      },
    },
  });
}

async function configure(app: FastifyInstance, options: BuildAppOptions): Promise<FastifyInstance> {
  const { config, logger } = options;

  const redis = createRedisClient({
    url: config.REDIS_GATEWAY_URL,
    logger,
    name: 'gateway',
    lazyConnect: true,
    commandTimeoutMs: REDIS_COMMAND_TIMEOUT_MS,
  });
  const downstream =
    options.downstream ??
    createDownstream({
      targets: {
        user: config.USER_SERVICE_URL,
        payment: config.PAYMENT_SERVICE_URL,
        content: config.CONTENT_SERVICE_URL,
      },
      deadlineMs: config.DOWNSTREAM_DEADLINE_MS,
      mediaMaxBytes: config.MEDIA_MAX_BYTES,
    });
  const pageCache = new PageCache({
    redis,
    logger,
    keyPrefix: config.REDIS_KEY_PREFIX,
    ttlSeconds: config.PAGE_CACHE_TTL_SECONDS,
  });
  const loginFailures = new LoginFailureLimiter({
    redis,
    logger,
    keyPrefix: config.REDIS_KEY_PREFIX,
    limit: config.LOGIN_FAILURE_LIMIT,
    windowMs: config.LOGIN_FAILURE_WINDOW_MS,
  });
  const keys = new SigningKeyStore({
    downstream,
    logger,
    ttlMs: config.JWT_KEYS_TTL_SECONDS * 1000,
  });
  const verifier = new AccessTokenVerifier({
    keys,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
  });
  const hub = new EventHub({
    url: config.REDIS_EVENTS_URL ?? config.REDIS_GATEWAY_URL,
    logger,
    maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
  });
  const context: GatewayContext = { config, logger, redis, downstream, pageCache, loginFailures };
  let draining = false;

  // Opened on ready, closed in reverse order on close.
  app.addHook('onReady', async () => {
    if (!(await waitUntilReady(redis, 2_000)))
      logger.warn('gateway redis not reachable at start; failing open');
    await hub.start();
  });
  app.addHook('preClose', async () => {
    draining = true;
    await hub.close();
  });
  app.addHook('onClose', async () => {
    await pageCache.drain();
    downstream.close();
    await closeRedis(redis);
  });

  installErrorHandling(app);
  installRequestLifecycle(app);
  const metrics = installHttpMetrics(app);
  app.addSchema(errorResponseSchema);
  await registerOpenApi(app);

  await app.register(rateLimit, {
    global: true,
    max: config.RATE_LIMIT_MAX,
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    store: batchedRedisStore({ redis, keyPrefix: `${config.REDIS_KEY_PREFIX}:rate-limit:` }),
    // A Redis outage must not take the API down with it.
    skipOnError: true,
    keyGenerator: (request) => request.ip,
    errorResponseBuilder: (_request, limit) =>
      new ApiError(
        limit.statusCode,
        'RESOURCE_EXHAUSTED',
        `rate limit exceeded, retry in ${limit.after}`,
        {
          'retry-after': String(Math.max(1, Math.ceil(limit.ttl / 1000))),
        },
      ),
  });
  installAuthentication(app, verifier);
  await app.register(websocket, {
    options: { maxPayload: 4 * 1024, handleProtocols: selectSubprotocol },
  });

  registerHealthRoutes(app, {
    redis,
    downstream,
    registry: metrics.registry,
    isDraining: () => draining,
  });
  registerUserRoutes(app, context);
  registerArticleRoutes(app, context);
  registerPaymentRoutes(app, context);
  await app.register((scope) => webhookRoutes(scope, context));
  await app.register((scope) => mediaRoutes(scope, context));
  registerEventsRoute(app, { hub, verifier, heartbeatIntervalMs: config.WS_HEARTBEAT_INTERVAL_MS });
  return app;
}
