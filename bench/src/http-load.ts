// Child process: one HTTP load run against one origin, result sent to the parent as a message.
// Run apart from the bench's main process (and pinned to a CPU when the machine allows it), so the
// load generator's own work never shares an event loop with the orchestration or the servers.
// Closed loop (as fast as answers come): autocannon. Open loop at a rate: a paced generator of our
// own (see pacedLoad), because autocannon's `overallRate` sends each connection's quota for the
// second back to back at the start of every second and then idles: 100 connections at half the
// maximum rate are a burst at full speed twice a second, and the p99 measured the burst.
import { Agent, request as httpRequest } from 'node:http';
import autocannon from 'autocannon';
import { childArguments, sendToParent } from './child-process';
import { latencySummary, round2 } from './latency-summary';

export interface HttpLoadOptions {
  readonly origin: string;
  /** Paths requested in turn (one path: every request the same). */
  readonly paths: readonly string[];
  readonly connections: number;
  readonly durationSeconds: number;
  readonly headers?: Record<string, string>;
  /**
   * Open-loop rate over all connections (requests/s), requests evenly spaced; absent = as fast as
   * answers come. Latency is then measured from each request's scheduled time (no coordinated
   * omission: a late send counts against the server, as a user's wait would).
   */
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
  /**
   * Open loop only: how late the generator sent requests against their schedule. The latency
   * above counts from the schedule, so a late generator (sharing a CPU with the servers) shows up
   * there too; this says how much of the tail is the generator's own.
   */
  readonly sendLagMs?: { p50: number; p99: number; max: number };
}

const REQUEST_TIMEOUT_MS = 10_000;

/** GETs at `overallRate`/s, evenly spaced, over at most `connections` keep-alive sockets. */
async function pacedLoad(
  options: HttpLoadOptions & { overallRate: number },
): Promise<HttpLoadResult> {
  const origin = new URL(options.origin);
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const latencies: number[] = [];
  const errorDetail = { connection: 0, timeouts: 0, non2xx: 0 };
  const total = Math.max(1, Math.round(options.overallRate * options.durationSeconds));
  const intervalMs = 1_000 / options.overallRate;
  const pending: Array<Promise<void>> = [];
  const sendLags: number[] = [];
  const get = (path: string, dueAt: number): Promise<void> =>
    new Promise((resolvePromise) => {
      let settled = false;
      const settle = (outcome: 'ok' | 'non2xx' | 'timeout' | 'connection'): void => {
        if (settled) return;
        settled = true;
        if (outcome === 'ok') latencies.push(performance.now() - dueAt);
        else if (outcome === 'non2xx') errorDetail.non2xx += 1;
        else if (outcome === 'timeout') errorDetail.timeouts += 1;
        else errorDetail.connection += 1;
        resolvePromise();
      };
      const outgoing = httpRequest(
        {
          agent,
          host: origin.hostname,
          port: origin.port,
          path,
          method: 'GET',
          headers: options.headers ?? {},
          timeout: REQUEST_TIMEOUT_MS,
        },
        (response) => {
          response.resume();
          response.once('end', () => settle((response.statusCode ?? 0) < 300 ? 'ok' : 'non2xx'));
          response.once('aborted', () => settle('connection'));
        },
      );
      outgoing.once('timeout', () => {
        settle('timeout');
        outgoing.destroy();
      });
      outgoing.once('error', () => settle('connection'));
      // Whatever else ends the exchange (a socket closed mid-response) is a failed request.
      outgoing.once('close', () => settle('connection'));
      outgoing.end();
    });
  const started = performance.now();
  for (let index = 0; index < total; index += 1) {
    const dueAt = started + index * intervalMs;
    const wait = dueAt - performance.now();
    if (wait >= 1) await new Promise((resolvePromise) => setTimeout(resolvePromise, wait));
    sendLags.push(Math.max(0, performance.now() - dueAt));
    pending.push(get(options.paths[index % options.paths.length] ?? '/', dueAt));
  }
  await Promise.all(pending);
  const durationSeconds = (performance.now() - started) / 1_000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  sendLags.sort((a, b) => a - b);
  const requests = latencies.length + errorDetail.non2xx;
  const sendLag = latencySummary(sendLags);
  return {
    requests,
    requestsPerSecond: Math.round(requests / durationSeconds),
    latencyMs: latencySummary(latencies),
    errors: errorDetail.connection + errorDetail.timeouts + errorDetail.non2xx,
    errorDetail,
    durationSeconds: round2(durationSeconds),
    sendLagMs: { p50: sendLag.p50, p99: sendLag.p99, max: sendLag.max },
  };
}

/** Below Nginx's default `keepalive_requests` (1,000): see the autocannon call. */
const RECONNECT_EVERY_REQUESTS = 500;

async function main(): Promise<void> {
  const options = childArguments<HttpLoadOptions>();
  if (options.overallRate !== undefined) {
    const result = await pacedLoad({ ...options, overallRate: options.overallRate });
    sendToParent({ type: 'result', result });
    return;
  }
  let next = 0;
  const result = await autocannon({
    url: options.origin,
    connections: options.connections,
    duration: options.durationSeconds,
    // Nginx closes a client connection after its 1,000th request (`keepalive_requests`), and
    // autocannon ignores the `Connection: close` of that answer: it writes the next request at
    // once and, when the close wins the race, counts a connection error (seen: 1 to 37 in a
    // 10-s run at ~18,000 req/s). Reconnecting first, every 500 requests, keeps the errors the
    // servers' own; autocannon leaves the answer that triggers a reconnect uncounted (0.2 %).
    reconnectRate: RECONNECT_EVERY_REQUESTS,
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
