import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { type FastifyInstance } from 'fastify';
import { ERROR_SCHEMA_ID } from '../http/schemas';

// @fastify/websocket hides WebSocket routes from @fastify/swagger (it forces `schema.hide`), so
// the one WebSocket operation is written into the document here.
const EVENTS_PATH = {
  get: {
    tags: ['events'],
    summary: "WebSocket of the signed-in user's real-time events",
    description:
      'Upgrade to a WebSocket. Token in `Authorization: Bearer …` or, from browsers, as the ' +
      'subprotocols `strata.v1, bearer.<token>` (the server answers `strata.v1`). Messages are JSON ' +
      '`{type, data, at}`; types: payment.settled, payment.failed, comment.created, media.ready, ' +
      'media.failed (ignore unknown types). Pings every 30 s; slow consumers are closed with 1013; ' +
      'the socket closes with 4001 when the token expires.',
    security: [{ bearerAuth: [] }],
    responses: {
      101: { description: 'Switching protocols' },
      401: {
        description: 'No or invalid token',
        content: {
          'application/json': { schema: { $ref: `#/components/schemas/${ERROR_SCHEMA_ID}` } },
        },
      },
    },
  },
};

/**
 * OpenAPI 3.1 generated from the route schemas (`@fastify/swagger`, dynamic mode), served at
 * `/openapi.json`, with Swagger UI at `/docs` (its assets ship inside the package: no CDN).
 * Must be registered before the routes so it sees them.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Strata API',
        version: '1.0.0',
        description:
          'Public REST API of Strata. Errors are always `{"error":{"code","message","requestId"}}`. ' +
          'Every response carries `X-Request-Id`.',
      },
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, index) =>
        typeof json.$id === 'string' ? json.$id : `def-${index}`,
    },
    transformObject: (documentObject) => {
      const document =
        'openapiObject' in documentObject
          ? documentObject.openapiObject
          : documentObject.swaggerObject;
      return { ...document, paths: { ...document.paths, '/v1/events': EVENTS_PATH } };
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get(
    '/openapi.json',
    { schema: { hide: true }, config: { rateLimit: false } },
    (_request, reply) => reply.send(app.swagger()),
  );
}
