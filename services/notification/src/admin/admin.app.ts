import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { type Queue } from 'bullmq';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { type Logger } from '@strata/logger';
import { type AdminCredentials, isAuthorized } from './admin-auth';

export const DASHBOARD_PATH = '/queues';

export interface AdminAppOptions {
  /** Every queue shown in the dashboard. */
  readonly queues: readonly Queue[];
  readonly credentials: AdminCredentials;
  readonly logger: Logger;
  /** Liveness of the process for `/healthz` (the only route without credentials). */
  readonly healthy?: () => boolean;
}

/**
 * The operators' app: Bull Board for every queue at {@link DASHBOARD_PATH}, behind an admin token
 * or Basic auth. It listens on its own port (ADMIN_PORT), which the public Nginx never routes to.
 * Building it does no I/O; `listen` does.
 */
export function buildAdminApp(options: AdminAppOptions): FastifyInstance {
  // pino's Logger is a FastifyBaseLogger; typed as such so the instance has the default type.
  const loggerInstance: FastifyBaseLogger = options.logger.child({ component: 'admin' });
  const app = Fastify({
    loggerInstance,
    // The dashboard polls every few seconds; a line per poll would drown the worker's logs.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const basicRealm =
    options.credentials.password !== undefined || options.credentials.token !== undefined;

  app.get('/healthz', async (_request, reply) => {
    const healthy = options.healthy?.() ?? true;
    return reply.code(healthy ? 200 : 503).send({ status: healthy ? 'ok' : 'unhealthy' });
  });

  // Registered before the dashboard so that it guards every one of its routes, static files
  // and JSON API included.
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.url === '/healthz') return;
    if (isAuthorized(request.headers.authorization, options.credentials)) return;
    if (basicRealm) reply.header('www-authenticate', 'Basic realm="strata-admin", charset="UTF-8"');
    return reply.code(401).send({
      error: {
        code: 'UNAUTHENTICATED',
        message: 'admin credentials required',
        requestId: request.id,
      },
    });
  });

  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: options.queues.map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Strata queues' } },
  });
  void app.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH });
  app.get('/', async (_request, reply) => reply.redirect(DASHBOARD_PATH));
  return app;
}
