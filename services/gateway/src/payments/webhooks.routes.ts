import { type FastifyInstance } from 'fastify';
import { callOptionsFor } from '../downstream/downstream';
import { errorResponses } from '../http/schemas';
import { type GatewayContext } from '../gateway-context';

export const PSP_SIGNATURE_HEADER = 'psp-signature';
export const PSP_TIMESTAMP_HEADER = 'psp-timestamp';
// payment.proto: the service refuses payloads over 64 KiB; refusing them here saves the hop.
const WEBHOOK_BODY_LIMIT_BYTES = 64 * 1024;

/**
 * Provider webhooks are forwarded unparsed: the payment service verifies the HMAC over the exact
 * bytes, so this scope keeps every body as a Buffer instead of parsing JSON.
 */
export function webhookRoutes(scope: FastifyInstance, context: GatewayContext): Promise<void> {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser(
    '*',
    { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT_BYTES },
    (_request, body, done) => {
      done(null, body);
    },
  );

  scope.post(
    '/v1/webhooks/psp',
    {
      bodyLimit: WEBHOOK_BODY_LIMIT_BYTES,
      schema: {
        tags: ['webhooks'],
        summary: 'Provider events (HMAC-verified by the payment service)',
        headers: {
          type: 'object',
          required: [PSP_SIGNATURE_HEADER, PSP_TIMESTAMP_HEADER],
          properties: {
            [PSP_SIGNATURE_HEADER]: { type: 'string', minLength: 1, maxLength: 512 },
            [PSP_TIMESTAMP_HEADER]: { type: 'string', minLength: 1, maxLength: 32 },
          },
        },
        response: { 204: { type: 'null' }, ...errorResponses(400, 401, 413) },
      },
    },
    async (request, reply) => {
      const payload = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      await context.downstream.payments.handleProviderWebhook(
        {
          payload,
          signature: String(request.headers[PSP_SIGNATURE_HEADER]),
          timestamp: String(request.headers[PSP_TIMESTAMP_HEADER]),
        },
        callOptionsFor(request),
      );
      return reply.code(204).send();
    },
  );
  return Promise.resolve();
}
