import { type Actor } from '@strata/contracts';
import { type FastifyInstance, type FastifyRequest } from 'fastify';
import { ApiError, unauthorized } from '../errors/api-error';
import { type AccessTokenVerifier, bearerToken } from './access-token.verifier';
import '../http/fastify-augment';

/**
 * Verifies the bearer token of routes whose config says `auth: 'required' | 'optional'`. Runs in
 * `onRequest`, before the body is read, so anonymous uploads are refused without reading them.
 * An invalid token on an optional route is still a 401: silently downgrading to anonymous would
 * hide a client bug and show the wrong page.
 */
export function installAuthentication(app: FastifyInstance, verifier: AccessTokenVerifier): void {
  app.decorateRequest('actor', undefined);
  app.addHook('onRequest', async (request) => {
    const mode = request.routeOptions.config.auth ?? 'none';
    if (mode === 'none') return;
    const token = bearerToken(headerValue(request.headers.authorization));
    if (token === undefined) {
      if (mode === 'required') throw unauthorized();
      return;
    }
    request.actor = (await verifier.verify(token)).actor;
  });
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The actor of a route declared `auth: 'required'` (the hook guarantees it is set). */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new ApiError(401, 'UNAUTHENTICATED', 'authentication required');
  return request.actor;
}
