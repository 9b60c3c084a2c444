import { loadConfigOrExit } from '@strata/config';
import { createLogger } from '@strata/logger';
import { runProcess } from '@strata/runtime';
import { SERVICE_NAME, userServiceConfigSchema } from './config';
import { buildWorker } from './worker-app';

const WORKER_NAME = `${SERVICE_NAME}-worker`;

const config = loadConfigOrExit(userServiceConfigSchema, WORKER_NAME);
const logger = createLogger({ name: WORKER_NAME, level: config.LOG_LEVEL });
// On SIGTERM/SIGINT the relay stops and connections close, then the log flushes.
void runProcess({ logger, app: buildWorker(config, logger), readyMessage: 'outbox relay started' });
