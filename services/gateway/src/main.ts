import { loadConfigOrExit } from '@strata/config';
import { createLogger } from '@strata/logger';
import { buildApp } from './app';
import { gatewayConfigSchema } from './config';

async function main(): Promise<void> {
  const config = loadConfigOrExit(gatewayConfigSchema, 'gateway');
  const logger = createLogger({ name: 'gateway', level: config.LOG_LEVEL });
  const app = await buildApp({ config, logger });

  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down: readiness off, draining requests and sockets');
    // Hard stop if draining takes longer than the grace period.
    const timer = setTimeout(() => {
      logger.error('shutdown grace period exceeded; exiting');
      process.exit(1);
    }, config.SHUTDOWN_GRACE_MS);
    timer.unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'error while closing');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

  await app.listen({ port: config.GATEWAY_PORT, host: config.GATEWAY_HOST });
}

main().catch((error: unknown) => {
  // The logger may not exist yet; this is the process's last word.
  process.stderr.write(
    `${JSON.stringify({ level: 'fatal', msg: 'gateway failed to start', err: String(error) })}\n`,
  );
  process.exit(1);
});
