// A tiny entry point for run-process.int-spec.ts: `runProcess` wired to the real `process`,
// `process.exit` and an asynchronous pino destination, as in a service's main.ts.
// argv[2] picks the scenario: `serve` (runs until a signal) or `crash` (throws once started).
import { createLogger } from '@strata/logger';
import { runProcess } from '../run-process';

const scenario = process.argv[2] ?? 'serve';
const logger = createLogger({ name: 'runtime-fixture' });
let keepAlive: NodeJS.Timeout | undefined;

void runProcess({
  logger,
  readyMessage: 'fixture ready',
  app: {
    start: () => {
      keepAlive = setInterval(() => undefined, 60_000);
      if (scenario === 'crash')
        setTimeout(() => {
          throw new Error('boom from a timer');
        }, 10);
      return Promise.resolve({ scenario });
    },
    close: async () => {
      clearInterval(keepAlive);
      // Many lines right before exit: all of them must reach stdout (the log is flushed first).
      for (let line = 0; line < 2_000; line += 1) logger.info({ line }, 'draining');
      await Promise.resolve();
    },
  },
});
