// A worker process with the sandbox fixture, for tests that stop or kill the worker process
// itself: run with `node --conditions=@strata/source --import tsx` (the kit must then not repeat
// those flags for the sandbox). Prints READY once consuming; on SIGTERM closes the worker (which
// stops its sandbox children) and exits 0.
import { join } from 'node:path';
import { createLogger } from '@strata/logger';
import { createWorker } from '../job-worker';
import { sandboxProbe } from './sandbox-probe.job';

const redisUrl = process.env['CHILD_REDIS_URL'];
const worker = createWorker(
  sandboxProbe,
  { file: join(__dirname, 'sandbox-probe.processor.ts') },
  {
    connection: redisUrl ? { url: redisUrl } : { host: '127.0.0.1', port: 6379 },
    prefix: process.env['CHILD_PREFIX'] ?? '',
    logger: createLogger({ name: 'sandbox-worker-process', level: 'warn' }),
  },
);
process.once('SIGTERM', () => {
  void worker.close().then(() => process.exit(0));
});
void worker.waitUntilReady().then(() => process.stdout.write('READY\n'));
