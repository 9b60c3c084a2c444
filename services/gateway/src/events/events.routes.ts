import { type FastifyInstance, type FastifyRequest } from 'fastify';
import { type WebSocket } from 'ws';
import { type AccessTokenVerifier, bearerToken } from '../auth/access-token.verifier';
import { unauthorized } from '../errors/api-error';
import { errorResponses, securityBearer } from '../http/schemas';
import { type EventHub } from './event-hub';

/** Browsers cannot set headers on a WebSocket: they offer `strata.v1` and `bearer.<token>` as subprotocols. */
export const EVENTS_SUBPROTOCOL = 'strata.v1';
const BEARER_SUBPROTOCOL_PREFIX = 'bearer.';
export const CLOSE_TOKEN_EXPIRED = 4001;

export interface EventsRouteOptions {
  readonly hub: EventHub;
  readonly verifier: AccessTokenVerifier;
  readonly heartbeatIntervalMs: number;
}

function tokenFrom(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) return bearerToken(header);
  const offered = request.headers['sec-websocket-protocol'];
  if (typeof offered !== 'string') return undefined;
  const entry = offered
    .split(',')
    .map((value) => value.trim())
    .find((value) => value.startsWith(BEARER_SUBPROTOCOL_PREFIX));
  return entry?.slice(BEARER_SUBPROTOCOL_PREFIX.length);
}

/** ws `handleProtocols`: answer with our protocol, never echo the token back. */
export function selectSubprotocol(protocols: Set<string>): string | false {
  return protocols.has(EVENTS_SUBPROTOCOL) ? EVENTS_SUBPROTOCOL : false;
}

export function registerEventsRoute(app: FastifyInstance, options: EventsRouteOptions): void {
  const expiries = new WeakMap<FastifyRequest, number>();
  app.get(
    '/v1/events',
    {
      websocket: true,
      schema: {
        tags: ['events'],
        summary: "WebSocket (101) of the signed-in user's real-time events {type,data,at}",
        description:
          'Token in `Authorization: Bearer …` or, from browsers, as subprotocols `strata.v1, bearer.<token>`. ' +
          'Event types: payment.settled, payment.failed, comment.created, media.ready, media.failed.',
        security: securityBearer,
        response: {
          101: { type: 'null', description: 'Switching protocols' },
          ...errorResponses(401),
        },
      },
      // Verified here rather than by the generic hook: the token may come in a subprotocol.
      preValidation: async (request) => {
        const token = tokenFrom(request);
        if (token === undefined) throw unauthorized();
        const verified = await options.verifier.verify(token);
        request.actor = verified.actor;
        expiries.set(request, verified.expiresAtMs);
      },
    },
    (socket: WebSocket, request) => {
      const actor = request.actor;
      if (!actor) {
        socket.close(1008, 'unauthenticated');
        return;
      }
      let alive = true;
      socket.on('pong', () => {
        alive = true;
      });
      const heartbeat = setInterval(() => {
        // No pong since the last ping: the peer is gone without a close frame.
        if (!alive) {
          socket.terminate();
          return;
        }
        alive = false;
        socket.ping();
      }, options.heartbeatIntervalMs);
      const expiresInMs = (expiries.get(request) ?? Date.now()) - Date.now();
      // The socket lives no longer than the token that opened it; the client reconnects with a fresh one.
      const expiry = setTimeout(
        () => socket.close(CLOSE_TOKEN_EXPIRED, 'token expired'),
        Math.max(0, Math.min(expiresInMs, 2_147_000_000)),
      );
      socket.once('close', () => {
        clearInterval(heartbeat);
        clearTimeout(expiry);
      });
      // Clients only listen; anything they send is ignored.
      socket.on('message', () => undefined);
      options.hub.add(actor.userId, socket).catch((error: unknown) => {
        request.log.warn({ err: error }, 'could not subscribe to events');
        socket.close(1011, 'events unavailable');
      });
    },
  );
}
