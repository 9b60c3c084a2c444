import { contextFrom, REQUEST_ID_HEADER } from '@strata/logger';
import { type FastifyInstance } from 'fastify';
import { type IncomingMessage } from 'node:http';
import './fastify-augment';

/**
 * Fastify `genReqId`: the client's (or Nginx's) `X-Request-Id` when it is well formed, else a
 * fresh UUID, so a forged id can neither break log lines nor headers.
 */
export function requestIdFor(raw: IncomingMessage): string {
  const header = raw.headers[REQUEST_ID_HEADER];
  return contextFrom({ requestId: Array.isArray(header) ? header[0] : header }).requestId;
}

/** Echoes the request id and wires client disconnects to `request.cancellation`. */
export function installRequestLifecycle(app: FastifyInstance): void {
  // Fastify 5 refuses object defaults on decorators (they would be shared); each request gets its own below.
  app.decorateRequest('cancellation', null as unknown as AbortController);
  app.addHook('onRequest', (request, reply, done) => {
    const controller = new AbortController();
    request.cancellation = controller;
    reply.header(REQUEST_ID_HEADER, request.id);
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) controller.abort();
    });
    done();
  });
}
