import { loadConfigOrExit } from '@strata/config';
import { createLogger } from '@strata/logger';
import { SERVICE_NAME, userServiceConfigSchema } from './config';
import { buildWorker } from './worker-app';

const WORKER_NAME = `${SERVICE_NAME}-worker`;

const config = loadConfigOrExit(userServiceConfigSchema, WORKER_NAME);
const logger = createLogger({ name: WORKER_NAME, level: config.LOG_LEVEL });
const worker = buildWorker(config, logger);

let stopping: Promise<void> | undefined;
function stop(code: number): Promise<void> {
  stopping ??= worker
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

worker.start();
logger.info('outbox relay started');
