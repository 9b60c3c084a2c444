// Child process: closed-loop load on ContentService.GetArticle over gRPC (autocannon speaks HTTP
// only). The cold read and its raw-pg baseline are both driven by this same generator, with the
// same ids in the same order, so their ratio compares the two servers and nothing else.
import { ContentServiceClient } from '@strata/contracts';
import { createGrpcClient } from '@strata/grpc';
import { childArguments, sendToParent } from './child-process';
import { type HttpLoadResult } from './http-load';
import { latencySummary, round2 } from './latency-summary';

interface GrpcLoadOptions {
  readonly target: string;
  readonly ids: readonly string[];
  readonly concurrency: number;
  readonly durationSeconds: number;
  /** Keep going past `durationSeconds` until every id was asked for at least once (warm-ups). */
  readonly everyIdOnce?: boolean;
}

async function main(): Promise<void> {
  const options = childArguments<GrpcLoadOptions>();
  const client = createGrpcClient(ContentServiceClient, {
    target: options.target,
    defaultDeadlineMs: 5_000,
  });
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const end = started + options.durationSeconds * 1_000;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (
        performance.now() < end ||
        (options.everyIdOnce === true && next < options.ids.length)
      ) {
        const idOrSlug = options.ids[next % options.ids.length];
        next += 1;
        const callStarted = performance.now();
        try {
          await client.getArticle({ idOrSlug });
          latencies.push(performance.now() - callStarted);
        } catch {
          errors += 1;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1_000;
  client.close();
  latencies.sort((a, b) => a - b);
  const result: HttpLoadResult = {
    requests: latencies.length + errors,
    requestsPerSecond: Math.round(latencies.length / seconds),
    latencyMs: latencySummary(latencies),
    errors,
    errorDetail: { connection: errors, timeouts: 0, non2xx: 0 },
    durationSeconds: round2(seconds),
  };
  sendToParent({ type: 'result', result });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
