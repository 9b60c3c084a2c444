import { loadConfigOrExit } from '@strata/config';
import { createLogger } from '@strata/logger';
import { runProcess } from '@strata/runtime';
import { SERVICE_NAME, notificationConfigSchema } from './config';
import { buildNotificationApp } from './notification-app';

const config = loadConfigOrExit(notificationConfigSchema, SERVICE_NAME);
const logger = createLogger({ name: SERVICE_NAME, level: config.LOG_LEVEL });
// On SIGTERM: stop taking jobs, let active ones finish (worker.close), close the admin app,
// metrics and connections, flush the log, exit 0.
void runProcess({
  logger,
  app: buildNotificationApp(config, logger),
  readyMessage: 'email worker, admin app and metrics started',
});
