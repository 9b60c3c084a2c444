// Sandboxed processor fixture that exits while BullMQ loads it, as a sandbox does when its
// config is invalid (loadConfigOrExit), a native module crashes at import, or the OOM killer
// strikes before the first job.
import { createLogger } from '@strata/logger';
import { sandboxedProcessor } from '../job-worker';
import { sandboxProbe } from './sandbox-probe.job';

process.exit(78);

export default sandboxedProcessor(
  sandboxProbe,
  createLogger({ name: 'exit-on-import', level: 'silent' }),
  () => Promise.resolve(null),
);
