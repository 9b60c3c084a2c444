import { loadConfigOrExit } from '@strata/config';
import { createLogger } from '@strata/logger';
import { buildPspApp } from './app';
import { SERVICE_NAME, pspConfigSchema } from './config';

async function main(): Promise<void> {
  const config = loadConfigOrExit(pspConfigSchema, SERVICE_NAME);
  const logger = createLogger({ name: SERVICE_NAME, level: config.LOG_LEVEL });
  const { server } = buildPspApp(config, logger);

  let closing: Promise<void> | undefined;
  const close = (signal: NodeJS.Signals) => {
    closing ??= (async () => {
      logger.info({ signal }, 'psp-simulator: closing');
      await server.close();
    })();
  };
  process.once('SIGTERM', close);
  process.once('SIGINT', close);

  await server.listen({ host: config.PSP_HOST, port: config.PSP_PORT });
  const address = server.server.address();
  logger.info({ port: typeof address === 'object' && address ? address.port : config.PSP_PORT }, 'psp-simulator listening');
}

main().catch((error: unknown) => {
  process.stderr.write(`${JSON.stringify({ level: 'fatal', msg: 'psp-simulator failed to start', err: String(error) })}\n`);
  process.exitCode = 1;
});
