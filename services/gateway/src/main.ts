import { setTimeout as delay } from 'node:timers/promises';
import { loadConfigOrExit } from '@strata/config';
import { createLogger } from '@strata/logger';
import { runProcess } from '@strata/runtime';
import { buildApp } from './app';
import { gatewayConfigSchema } from './config';

const config = loadConfigOrExit(gatewayConfigSchema, 'gateway');
const logger = createLogger({ name: 'gateway', level: config.LOG_LEVEL });
let app: Awaited<ReturnType<typeof buildApp>> | undefined;

void runProcess({
  logger,
  readyMessage: 'gateway ready',
  app: {
    start: async () => {
      app = await buildApp({ config, logger });
      await app.listen({ port: config.GATEWAY_PORT, host: config.GATEWAY_HOST });
      return { port: config.GATEWAY_PORT };
    },
    // Readiness turns off first, then requests and sockets drain; a drain that outlives the grace
    // period fails the stop (exit 1) rather than hanging the rollout.
    close: async () => {
      if (!app) return;
      const closing = app.close();
      const outcome = await Promise.race([
        closing.then(() => 'closed' as const),
        delay(config.SHUTDOWN_GRACE_MS, 'timed-out' as const, { ref: false }),
      ]);
      if (outcome === 'timed-out') throw new Error('shutdown grace period exceeded');
    },
  },
});
