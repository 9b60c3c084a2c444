import { loadConfigOrExit } from '@strata/config';
import { createLogger } from '@strata/logger';
import { runProcess } from '@strata/runtime';
import { SERVICE_NAME, paymentServiceConfigSchema } from './config';
import { buildWorker } from './worker-app';

const WORKER_NAME = `${SERVICE_NAME}-worker`;

const config = loadConfigOrExit(paymentServiceConfigSchema, WORKER_NAME);
const logger = createLogger({ name: WORKER_NAME, level: config.LOG_LEVEL });
// Workers finish their active jobs (no job left stalled), then the relay, then connections.
void runProcess({
  logger,
  app: buildWorker(config, logger),
  readyMessage: 'settlement and refund workers and outbox relay started',
});
