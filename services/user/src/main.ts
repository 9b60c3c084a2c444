import { loadConfigOrExit } from '@strata/config';
import { createLogger } from '@strata/logger';
import { buildApp } from './app';
import { SERVICE_NAME, userServiceConfigSchema } from './config';

const config = loadConfigOrExit(userServiceConfigSchema, SERVICE_NAME);
const logger = createLogger({ name: SERVICE_NAME, level: config.LOG_LEVEL });
const app = buildApp(config, logger);

let stopping: Promise<void> | undefined;
/** Closes in reverse order of opening (inside app.close), flushes the log, exits. */
function stop(code: number): Promise<void> {
  stopping ??= app
    .close()
    .catch((error: unknown) => {
      logger.error({ err: error }, 'shutdown failed');
      code = 1;
    })
    .then(() => logger.flush(() => process.exit(code)));
  return stopping;
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'shutting down');
    void stop(0);
  });
}

app.start().then(
  ({ port }) => logger.info({ port }, 'user service ready'),
  (error: unknown) => {
    logger.fatal({ err: error }, 'user service failed to start');
    void stop(1);
  },
);
