import { loadConfigOrExit } from '@strata/config';
import { createLogger } from '@strata/logger';
import { runProcess } from '@strata/runtime';
import { buildApp } from './app';
import { SERVICE_NAME, userServiceConfigSchema } from './config';

const config = loadConfigOrExit(userServiceConfigSchema, SERVICE_NAME);
const logger = createLogger({ name: SERVICE_NAME, level: config.LOG_LEVEL });
// Stops once on SIGTERM/SIGINT: app.close() closes in reverse order of opening, then the log flushes.
void runProcess({ logger, app: buildApp(config, logger), readyMessage: 'user service ready' });
