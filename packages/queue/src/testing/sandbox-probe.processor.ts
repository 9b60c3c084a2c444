// Sandboxed processor fixture in TypeScript: BullMQ forks a child process and loads this file in
// it (with tsx and the source condition, added by the kit for `.ts` files). Reads its settings
// from the environment the worker hands it (`env` of the sandbox), as a service's sandbox reads
// its config.
import { appendFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { createLogger, currentContext } from '@strata/logger';
import { PermanentJobError } from '../errors';
import { sandboxedProcessor } from '../job-worker';
import { sandboxProbe, type SandboxProbeReport } from './sandbox-probe.job';

const logFile = process.env['SANDBOX_PROBE_LOG_FILE'];
const logger = createLogger({
  name: 'sandbox-probe',
  level: 'info',
  // Synchronous appends: nothing is lost when BullMQ ends the child with process.exit.
  destination: { write: (line: string) => (logFile ? appendFileSync(logFile, line) : undefined) },
});

// Stands for the database pool or Redis client a real sandbox keeps open between jobs: such a
// handle keeps the child alive after its IPC channel closes unless the kit makes it exit.
setInterval(() => undefined, 60_000);

export default sandboxedProcessor(
  sandboxProbe,
  logger,
  // eslint-disable-next-line @typescript-eslint/require-await -- processors are async by contract
  async (payload, context): Promise<SandboxProbeReport> => {
    switch (payload.action) {
      case 'exit':
        process.exit(3);
      case 'throw':
        throw new Error('transient failure in the sandbox');
      case 'permanent':
        throw new PermanentJobError('this probe never works');
      case 'report':
        context.logger.info('probe ran');
        return {
          pid: process.pid,
          threadId,
          requestId: currentContext()?.requestId ?? null,
          attempt: context.attempt,
          probeValue: process.env['SANDBOX_PROBE_VALUE'] ?? null,
        };
    }
  },
);
