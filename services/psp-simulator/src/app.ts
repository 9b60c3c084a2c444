import { timingSafeEqual } from 'node:crypto';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { type Logger } from '@strata/logger';
import { type PspConfig } from './config';
import { PspProcessor, errorResponse, type PspResponse } from './processor';
import { seededRandom } from './seeded-random';
import { WebhookDispatcher } from './webhook.dispatcher';

export type PspAppConfig = Pick<
  PspConfig,
  | 'PSP_API_KEY'
  | 'PSP_WEBHOOK_URL'
  | 'PSP_WEBHOOK_SECRET'
  | 'PSP_WEBHOOK_MAX_ATTEMPTS'
  | 'PSP_WEBHOOK_BACKOFF_MS'
  | 'PSP_LATENCY_MIN_MS'
  | 'PSP_LATENCY_MAX_MS'
  | 'PSP_DECLINE_RATE'
  | 'PSP_ERROR_RATE'
  | 'PSP_SEED'
> &
  Partial<Pick<PspConfig, 'PSP_REQUEST_LOGGING'>>;

export interface PspApp {
  readonly server: FastifyInstance;
  readonly processor: PspProcessor;
  readonly webhooks: WebhookDispatcher;
}

const CURRENCY = { type: 'string', pattern: '^[A-Z]{3}$' } as const;
const AMOUNT = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;
const REFERENCE = { type: 'string', minLength: 1, maxLength: 255 } as const;

interface ChargeBody {
  amount: number;
  currency: string;
  reference?: string;
  capture?: boolean;
}
interface RefundBody {
  charge: string;
  amount: number;
  reference?: string;
}

function send(reply: FastifyReply, response: PspResponse) {
  return reply.code(response.statusCode).send(response.body);
}

function idempotencyKey(request: FastifyRequest): string | undefined {
  const value = request.headers['idempotency-key'];
  return typeof value === 'string' ? value : undefined;
}

/** Builds the simulator without listening; `server.inject()` in tests, `listen()` in main.ts. */
export function buildPspApp(config: PspAppConfig, logger: Logger): PspApp {
  // Widened to Fastify's logger type so the instance keeps the plain FastifyInstance type.
  const fastifyLogger: FastifyBaseLogger = logger;
  const server = Fastify({
    loggerInstance: fastifyLogger,
    bodyLimit: 64 * 1024,
    // Through the log controller: the top-level option is deprecated (FSTDEP023).
    logController: new LogController({
      disableRequestLogging: config.PSP_REQUEST_LOGGING === false,
    }),
  });
  const random = seededRandom(config.PSP_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const latencySpan = Math.max(0, config.PSP_LATENCY_MAX_MS - config.PSP_LATENCY_MIN_MS);
  const webhooks = new WebhookDispatcher({
    url: config.PSP_WEBHOOK_URL,
    secret: config.PSP_WEBHOOK_SECRET.reveal(),
    maxAttempts: config.PSP_WEBHOOK_MAX_ATTEMPTS,
    backoffMs: config.PSP_WEBHOOK_BACKOFF_MS,
    logger,
  });
  const processor = new PspProcessor({
    declineRate: config.PSP_DECLINE_RATE,
    errorRate: config.PSP_ERROR_RATE,
    random,
    latency: async () => {
      const ms = config.PSP_LATENCY_MIN_MS + Math.floor(random() * (latencySpan + 1));
      if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
    },
    onEvent: (type, object) => void webhooks.publish(type, object),
  });
  const apiKey = Buffer.from(`Bearer ${config.PSP_API_KEY.reveal()}`);

  server.addHook('onRequest', async (request, reply) => {
    if (request.url === '/healthz') return;
    const presented = Buffer.from(request.headers.authorization ?? '');
    if (presented.length !== apiKey.length || !timingSafeEqual(presented, apiKey)) {
      await send(reply, errorResponse(401, 'unauthorized', 'invalid API key'));
    }
  });
  server.addHook('onClose', async () => webhooks.close());

  server.get('/healthz', (_request, reply) => reply.send({ status: 'ok' }));

  server.post<{ Body: ChargeBody }>(
    '/v1/charges',
    {
      schema: {
        body: {
          type: 'object',
          required: ['amount', 'currency'],
          additionalProperties: false,
          properties: {
            amount: AMOUNT,
            currency: CURRENCY,
            reference: REFERENCE,
            capture: { type: 'boolean' },
          },
        },
      },
    },
    async (request, reply) => {
      const key = idempotencyKey(request);
      const response = await processor.idempotent('charges', key, request.body, () =>
        processor.createCharge(
          {
            amount: request.body.amount,
            currency: request.body.currency,
            reference: request.body.reference ?? null,
            capture: request.body.capture ?? true,
          },
          key ?? '',
        ),
      );
      return send(reply, response);
    },
  );

  server.post<{ Params: { id: string } }>('/v1/charges/:id/capture', async (request, reply) => {
    const response = await processor.idempotent(
      `capture`,
      idempotencyKey(request),
      { charge: request.params.id },
      () => processor.capture(request.params.id),
    );
    return send(reply, response);
  });

  server.post<{ Body: RefundBody }>(
    '/v1/refunds',
    {
      schema: {
        body: {
          type: 'object',
          required: ['charge', 'amount'],
          additionalProperties: false,
          properties: {
            charge: { type: 'string', minLength: 1 },
            amount: AMOUNT,
            reference: REFERENCE,
          },
        },
      },
    },
    async (request, reply) => {
      const key = idempotencyKey(request);
      const response = await processor.idempotent('refunds', key, request.body, () =>
        processor.createRefund(
          {
            charge: request.body.charge,
            amount: request.body.amount,
            reference: request.body.reference ?? null,
          },
          key ?? '',
        ),
      );
      return send(reply, response);
    },
  );

  // Inspection, for tests and developers: "exactly one charge" is asserted against these.
  server.get<{ Querystring: { reference?: string } }>('/v1/charges', (request, reply) => {
    const reference = request.query.reference;
    const data = [...processor.charges.values()].filter(
      (charge) => reference === undefined || charge.reference === reference,
    );
    return reply.send({ data });
  });
  server.get<{ Params: { id: string } }>('/v1/charges/:id', (request, reply) => {
    const charge = processor.charges.get(request.params.id);
    return charge
      ? reply.send(charge)
      : send(reply, errorResponse(404, 'resource_missing', 'no such charge'));
  });
  server.get<{ Querystring: { reference?: string } }>('/v1/refunds', (request, reply) => {
    const reference = request.query.reference;
    return reply.send({
      data: [...processor.refunds.values()].filter(
        (refund) => reference === undefined || refund.reference === reference,
      ),
    });
  });
  server.get('/v1/events', (_request, reply) =>
    reply.send({ data: [...webhooks.deliveries.values()] }),
  );
  server.post<{ Params: { id: string } }>('/v1/events/:id/redeliver', (request, reply) =>
    webhooks.redeliver(request.params.id)
      ? reply.code(202).send({ redelivered: true })
      : send(reply, errorResponse(404, 'resource_missing', 'no such event')),
  );

  return { server, processor, webhooks };
}
