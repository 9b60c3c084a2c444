import { loadConfigOrExit } from '@strata/config';
import { createLogger } from '@strata/logger';
import { runProcess } from '@strata/runtime';
import { SERVICE_NAME, contentServiceConfigSchema } from './config';
import { buildWorker } from './worker-app';

const WORKER_NAME = `${SERVICE_NAME}-worker`;

const config = loadConfigOrExit(contentServiceConfigSchema, WORKER_NAME);
const logger = createLogger({ name: WORKER_NAME, level: config.LOG_LEVEL });
// Stops taking jobs, lets active ones finish, closes connections, then the log flushes.
void runProcess({
  logger,
  app: buildWorker(config, logger),
  readyMessage: 'media worker and outbox relay started',
});
