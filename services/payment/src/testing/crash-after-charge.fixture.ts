// A settlement worker process that freezes right after the provider charge succeeds and before
// the ledger transaction, so a test can SIGKILL it at exactly that point. Test-only: it reads
// process.env itself, as test files may.
import { loadConfig } from '@strata/config';
import { createLogger } from '@strata/logger';
import { paymentServiceConfigSchema } from '../config';
import { type PaymentProvider } from '../provider/payment-provider';
import { PspHttpProvider } from '../provider/psp-http.provider';
import { buildWorker } from '../worker-app';

const config = loadConfig(paymentServiceConfigSchema);
const logger = createLogger({ name: 'crash-fixture', level: 'info' });
const http = new PspHttpProvider({
  baseUrl: config.PSP_URL,
  apiKey: config.PSP_API_KEY.reveal(),
  timeoutMs: 5_000,
});
const provider: PaymentProvider = {
  async charge(request) {
    const outcome = await http.charge(request);
    logger.info(
      { paymentId: request.reference, outcome: outcome.status },
      'charged, freezing before completion',
    );
    return new Promise<never>(() => undefined);
  },
  refund: (request) => http.refund(request),
};
const worker = buildWorker(config, logger, {
  provider,
  queuePrefix: process.env.TEST_QUEUE_PREFIX ?? 'bull',
  cacheKeyPrefix: process.env.TEST_CACHE_PREFIX ?? 'crash',
  lockDurationMs: 2_000,
  stalledIntervalMs: 1_000,
});
worker.start();
logger.info('crash fixture ready');
