import { loadConfigOrExit } from '@strata/config';
import { createLogger } from '@strata/logger';
import { opsConfigSchema } from './config';
import { runOpsCommand } from './ops/ops.command';

// Operations CLI (`npm run queue:ops -- <command> <queue>`): output for people on stdout/stderr,
// diagnostics as JSON log lines at warn and above.
const config = loadConfigOrExit(opsConfigSchema, 'queue-ops');
const logger = createLogger({ name: 'queue-ops', level: 'warn', destination: process.stderr });

runOpsCommand(process.argv.slice(2), {
  config,
  stdout: process.stdout,
  stderr: process.stderr,
  logger,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    logger.fatal({ err: error }, 'queue:ops failed');
    process.exitCode = 1;
  },
);
