import { type Actor } from '@strata/contracts';

/** How a route treats the `Authorization` header. */
export type AuthMode = 'required' | 'optional' | 'none';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in user, from a verified access token; `undefined` for anonymous requests. */
    actor: Actor | undefined;
    /** Aborted when the client goes away before the response is sent. */
    cancellation: AbortController;
  }
  interface FastifyContextConfig {
    auth?: AuthMode;
  }
}
