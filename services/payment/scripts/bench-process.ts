// One process of the benchmark (scripts/bench.ts spawns it): BENCH_ROLE=`server` runs the gRPC API, `worker`
// the settlement/refund workers and the outbox relay, each in its own Node process as in
// production, so that the load generator, the API and the worker do not share one event loop.
// Configuration comes from the environment (loadConfig), plus BENCH_QUEUE_PREFIX /
// BENCH_CACHE_PREFIX for the benchmark's private Redis key space. Prints one JSON line
// `{"msg":"bench process ready","port":…}` on stdout, stops cleanly on SIGTERM.
import { loadConfig } from '@strata/config';
import { createLogger } from '@strata/logger';
import { buildApp } from '../src/app';
import { paymentServiceConfigSchema } from '../src/config';
import { buildWorker } from '../src/worker-app';

async function main(): Promise<void> {
  const role = process.env.BENCH_ROLE;
  const config = loadConfig(paymentServiceConfigSchema);
  const logger = createLogger({
    name: `payment-bench-${role ?? 'unknown'}`,
    level: config.LOG_LEVEL,
  });
  const cacheKeyPrefix = process.env.BENCH_CACHE_PREFIX ?? 'bench:payment';
  let close: () => Promise<void>;
  let port = 0;
  if (role === 'server') {
    const app = buildApp(config, logger, { cacheKeyPrefix });
    ({ port } = await app.start());
    close = () => app.close();
  } else if (role === 'worker') {
    const worker = buildWorker(config, logger, {
      queuePrefix: process.env.BENCH_QUEUE_PREFIX ?? 'bull',
      cacheKeyPrefix,
    });
    worker.start();
    close = () => worker.close();
  } else {
    throw new Error(`usage: BENCH_ROLE=server|worker bench-process.ts (got ${String(role)})`);
  }
  process.once('SIGTERM', () => {
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`close failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  });
  process.stdout.write(`${JSON.stringify({ msg: 'bench process ready', role, port })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench process failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
