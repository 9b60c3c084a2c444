// Child process: one autocannon run against one URL, result sent to the parent as a message.
// Run apart from the bench's main process (and pinned to a CPU when the machine allows it), so the
// load generator's own work never shares an event loop with the orchestration or the servers.
import autocannon from 'autocannon';
import { childArguments, sendToParent } from './child-process';

export interface HttpLoadOptions {
  readonly origin: string;
  /** Paths requested in turn (one path: every request the same). */
  readonly paths: readonly string[];
  readonly connections: number;
  readonly durationSeconds: number;
  readonly headers?: Record<string, string>;
  /** Open-loop rate over all connections (requests/s); absent = as fast as answers come. */
  readonly overallRate?: number;
}

export interface HttpLoadResult {
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** Connection errors + timeouts + non-2xx answers. */
  readonly errors: number;
  readonly errorDetail: { connection: number; timeouts: number; non2xx: number };
  readonly durationSeconds: number;
}

async function main(): Promise<void> {
  const options = childArguments<HttpLoadOptions>();
  let next = 0;
  const result = await autocannon({
    url: options.origin,
    connections: options.connections,
    duration: options.durationSeconds,
    ...(options.overallRate === undefined ? {} : { overallRate: options.overallRate }),
    headers: options.headers ?? {},
    requests: [
      {
        method: 'GET',
        setupRequest: (request) => {
          const path = options.paths[next % options.paths.length];
          next += 1;
          return { ...request, path };
        },
      },
    ],
  });
  const completed = result['2xx'] + result.non2xx;
  const summary: HttpLoadResult = {
    requests: completed,
    requestsPerSecond: Math.round(completed / result.duration),
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    errors: result.errors + result.non2xx,
    errorDetail: { connection: result.errors, timeouts: result.timeouts, non2xx: result.non2xx },
    durationSeconds: result.duration,
  };
  sendToParent({ type: 'result', result: summary });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
