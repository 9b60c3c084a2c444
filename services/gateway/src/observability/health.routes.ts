import { type Redis } from 'ioredis';
import { type FastifyInstance } from 'fastify';
import { type Registry } from 'prom-client';
import { type Downstream } from '../downstream/downstream';

export interface HealthRoutesOptions {
  readonly redis: Redis;
  readonly downstream: Downstream;
  readonly registry: Registry;
  /** True once shutdown began: readiness fails so the load balancer stops sending. */
  readonly isDraining: () => boolean;
  readonly probeTimeoutMs?: number;
}

const readinessSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['status', 'checks'],
  properties: {
    status: { type: 'string', enum: ['ready', 'not_ready'] },
    checks: { type: 'object', additionalProperties: { type: 'boolean' } },
  },
} as const;

async function redisReachable(redis: Redis, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const answer = await Promise.race([
      redis.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('redis ping timed out')), timeoutMs);
      }),
    ]);
    return answer === 'PONG';
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export function registerHealthRoutes(app: FastifyInstance, options: HealthRoutesOptions): void {
  const timeoutMs = options.probeTimeoutMs ?? 1_000;
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Liveness: the process answers',
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['status'],
            properties: { status: { type: 'string' } },
          },
        },
      },
      config: { rateLimit: false },
    },
    (_request, reply) => reply.send({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness: Redis and every downstream service answer',
        response: { 200: readinessSchema, 503: readinessSchema },
      },
      config: { rateLimit: false },
    },
    async (_request, reply) => {
      const [redis, services] = await Promise.all([
        redisReachable(options.redis, timeoutMs),
        options.downstream.healthy(timeoutMs),
      ]);
      const checks: Record<string, boolean> = {
        acceptingTraffic: !options.isDraining(),
        redis,
        ...services,
      };
      const ready = Object.values(checks).every(Boolean);
      reply.header('cache-control', 'no-store');
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics',
        produces: ['text/plain'],
        response: { 200: { type: 'string' } },
      },
      config: { rateLimit: false },
    },
    async (_request, reply) => {
      reply.type(options.registry.contentType);
      return options.registry.metrics();
    },
  );
}
