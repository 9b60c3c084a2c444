import { loadConfigOrExit } from '@strata/config';
import { createLogger } from '@strata/logger';
import { runProcess } from '@strata/runtime';
import { buildPspApp } from './app';
import { SERVICE_NAME, pspConfigSchema } from './config';

const config = loadConfigOrExit(pspConfigSchema, SERVICE_NAME);
const logger = createLogger({ name: SERVICE_NAME, level: config.LOG_LEVEL });
const { server } = buildPspApp(config, logger);

void runProcess({
  logger,
  app: {
    start: async () => {
      await server.listen({ host: config.PSP_HOST, port: config.PSP_PORT });
      const address = server.server.address();
      return { port: typeof address === 'object' && address ? address.port : config.PSP_PORT };
    },
    close: () => server.close(),
  },
  // The payment service's tests wait for this line and read `port` from it.
  readyMessage: 'psp-simulator listening',
});
