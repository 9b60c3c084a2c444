import { paymentV1 } from '@strata/contracts';
import { type FastifyInstance, type FastifyRequest } from 'fastify';
import { actorOf } from '../auth/authenticate.hook';
import { callOptionsFor } from '../downstream/downstream';
import { badRequest } from '../errors/api-error';
import {
  cursorOrNull,
  errorResponses,
  idParams,
  pageQueryProperties,
  securityBearer,
  uuidString,
  type IdParams,
  type PageQuery,
} from '../http/schemas';
import { type GatewayContext } from '../gateway-context';
import {
  balanceSchema,
  paymentPageSchema,
  paymentSchema,
  paymentWithRefundsSchema,
  refundSchema,
  toPayment,
  toRefund,
} from './payment.mapper';

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
// payment.proto: 1 to 255 printable ASCII characters.
const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

const idempotencyHeaders = {
  type: 'object',
  required: [IDEMPOTENCY_KEY_HEADER],
  properties: {
    [IDEMPOTENCY_KEY_HEADER]: {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x21-\\x7e]+$',
    },
  },
} as const;

const MAX_AMOUNT_MINOR = Number.MAX_SAFE_INTEGER;

interface CreatePaymentBody {
  payeeId: string;
  amount: number;
  currency: string;
  articleId?: string;
  note?: string;
}
interface ListPaymentsQuery extends PageQuery {
  direction: 'sent' | 'received';
}

function idempotencyKey(request: FastifyRequest): string {
  const value = request.headers[IDEMPOTENCY_KEY_HEADER];
  if (typeof value !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(value)) {
    throw badRequest('Idempotency-Key header: 1 to 255 printable ASCII characters required');
  }
  return value;
}

export function registerPaymentRoutes(app: FastifyInstance, context: GatewayContext): void {
  const { payments } = context.downstream;

  app.post<{ Body: CreatePaymentBody }>(
    '/v1/payments',
    {
      schema: {
        tags: ['payments'],
        summary: 'Tip a user (Idempotency-Key required)',
        security: securityBearer,
        headers: idempotencyHeaders,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['payeeId', 'amount', 'currency'],
          properties: {
            payeeId: uuidString,
            amount: { type: 'integer', minimum: 1, maximum: MAX_AMOUNT_MINOR },
            currency: { type: 'string', pattern: '^[A-Z]{3}$' },
            articleId: { type: 'string', minLength: 1, maxLength: 64 },
            note: { type: 'string', maxLength: 280 },
          },
        },
        response: { 201: paymentSchema, ...errorResponses(400, 401, 409, 422) },
      },
      config: { auth: 'required' },
    },
    async (request, reply) => {
      const createRequest: Parameters<typeof payments.createPayment>[0] = {
        idempotencyKey: idempotencyKey(request),
        actor: actorOf(request),
        payeeId: request.body.payeeId,
        amount: { amountMinor: request.body.amount, currency: request.body.currency },
      };
      if (request.body.articleId !== undefined) createRequest.articleId = request.body.articleId;
      if (request.body.note !== undefined) createRequest.note = request.body.note;
      const response = await payments.createPayment(createRequest, callOptionsFor(request));
      return reply.code(201).send(toPayment(response.payment));
    },
  );

  app.get<{ Querystring: ListPaymentsQuery }>(
    '/v1/payments',
    {
      schema: {
        tags: ['payments'],
        summary: 'Own payments, sent or received, newest first',
        security: securityBearer,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...pageQueryProperties,
            direction: { type: 'string', enum: ['sent', 'received'], default: 'sent' },
          },
        },
        response: { 200: paymentPageSchema, ...errorResponses(400, 401) },
      },
      config: { auth: 'required' },
    },
    async (request) => {
      const response = await payments.listPayments(
        {
          actor: actorOf(request),
          direction:
            request.query.direction === 'received'
              ? paymentV1.PaymentDirection.RECEIVED
              : paymentV1.PaymentDirection.SENT,
          pageSize: request.query.limit,
          pageToken: request.query.cursor ?? '',
        },
        callOptionsFor(request),
      );
      return {
        items: response.payments.map(toPayment),
        nextCursor: cursorOrNull(response.nextPageToken),
      };
    },
  );

  app.get<{ Params: IdParams }>(
    '/v1/payments/:id',
    {
      schema: {
        tags: ['payments'],
        summary: 'One payment and its refunds (payer or payee only)',
        security: securityBearer,
        params: idParams,
        response: { 200: paymentWithRefundsSchema, ...errorResponses(400, 401, 404) },
      },
      config: { auth: 'required' },
    },
    async (request) => {
      const response = await payments.getPayment(
        { actor: actorOf(request), paymentId: request.params.id },
        callOptionsFor(request),
      );
      return { ...toPayment(response.payment), refunds: response.refunds.map(toRefund) };
    },
  );

  app.post<{ Params: IdParams; Body: { amount: number } }>(
    '/v1/payments/:id/refunds',
    {
      schema: {
        tags: ['payments'],
        summary: 'Refund part or all of a settled payment (payee only; Idempotency-Key required)',
        security: securityBearer,
        headers: idempotencyHeaders,
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['amount'],
          properties: { amount: { type: 'integer', minimum: 1, maximum: MAX_AMOUNT_MINOR } },
        },
        response: { 201: refundSchema, ...errorResponses(400, 401, 403, 404, 409, 422) },
      },
      config: { auth: 'required' },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const key = idempotencyKey(request);
      // The refund is in the payment's currency; reading the payment first also answers 404 to
      // anyone who is neither payer nor payee before anything is attempted.
      const { payment } = await payments.getPayment(
        { actor, paymentId: request.params.id },
        callOptionsFor(request),
      );
      const response = await payments.createRefund(
        {
          idempotencyKey: key,
          actor,
          paymentId: request.params.id,
          amount: { amountMinor: request.body.amount, currency: payment?.amount?.currency ?? '' },
        },
        callOptionsFor(request),
      );
      return reply.code(201).send(toRefund(response.refund));
    },
  );

  app.get(
    '/v1/users/me/balance',
    {
      schema: {
        tags: ['payments'],
        summary: 'Own ledger balance per currency',
        security: securityBearer,
        response: { 200: balanceSchema, ...errorResponses(401) },
      },
      config: { auth: 'required' },
    },
    async (request) => {
      const actor = actorOf(request);
      const response = await payments.getBalance(
        { actor, userId: actor.userId },
        callOptionsFor(request),
      );
      return {
        balances: response.balances.map((money) => ({
          amount: money.amountMinor,
          currency: money.currency,
        })),
      };
    },
  );
}
