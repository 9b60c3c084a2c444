// Child process: WebSocket fan-out. Opens N sockets spread evenly over the gateway replicas
// (several sockets per user, as a user with several tabs and devices), then publishes real-time
// events through the real event path: the same envelope and channel the services publish with
// (`serializeRealtimeEvent` / `realtimeEventChannel` on the events Redis) → each replica's Redis
// subscriber → every socket of that user. Counts deliveries per second and publish-to-receive
// latency. A bounded number of events is in flight, so the rate found is what the path sustains.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { eventsV1, realtimeEventChannel, serializeRealtimeEvent } from '@strata/contracts';
import { childArguments, sendToParent } from './child-process';
import { latencySummary, round2 } from './latency-summary';

interface FanoutOptions {
  readonly gatewayOrigins: readonly string[];
  readonly eventsRedisUrl: string;
  readonly users: ReadonlyArray<{ id: string; token: string }>;
  readonly socketsPerUser: number;
  readonly durationSeconds: number;
  readonly maxEventsInFlight: number;
}

export interface FanoutResult {
  readonly sockets: number;
  readonly eventsPublished: number;
  readonly deliveries: number;
  readonly deliveriesPerSecond: number;
  readonly latencyMs: { p50: number; p90: number; p99: number; max: number };
  readonly errors: number;
  readonly errorDetail: { missingDeliveries: number; socketsClosed: number };
  readonly durationSeconds: number;
}

const OPEN_BATCH = 50;
const DRAIN_TIMEOUT_MS = 10_000;

interface PendingEvent {
  readonly publishedAt: number;
  remaining: number;
}

async function main(): Promise<void> {
  const options = childArguments<FanoutOptions>();
  const pending = new Map<string, PendingEvent>();
  const latencies: number[] = [];
  let socketsClosed = 0;
  let measuring = false;
  let onComplete: () => void = () => undefined;

  const receive = (data: WebSocket.RawData): void => {
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString()
      : Buffer.isBuffer(data)
        ? data.toString()
        : Buffer.from(new Uint8Array(data)).toString();
    const envelope = JSON.parse(text) as { data?: { commentId?: string } };
    const id = envelope.data?.commentId;
    const event = id === undefined ? undefined : pending.get(id);
    if (!event || id === undefined) return;
    if (measuring) latencies.push(performance.now() - event.publishedAt);
    event.remaining -= 1;
    if (event.remaining === 0) {
      pending.delete(id);
      onComplete();
    }
  };

  const sockets: WebSocket[] = [];
  const plan = options.users.flatMap((user) =>
    Array.from({ length: options.socketsPerUser }, () => user),
  );
  for (let start = 0; start < plan.length; start += OPEN_BATCH) {
    await Promise.all(
      plan.slice(start, start + OPEN_BATCH).map(
        (user, offset) =>
          new Promise<void>((resolve, reject) => {
            const origin = options.gatewayOrigins[(start + offset) % options.gatewayOrigins.length];
            const socket = new WebSocket(`${origin.replace(/^http/, 'ws')}/v1/events`, {
              headers: { authorization: `Bearer ${user.token}` },
            });
            socket.once('open', () => {
              sockets.push(socket);
              socket.on('message', receive);
              socket.once('close', () => (socketsClosed += 1));
              resolve();
            });
            socket.once('error', reject);
          }),
      ),
    );
  }

  const redis = new Redis(options.eventsRedisUrl);
  const publish = (userIndex: number): Promise<number> => {
    const user = options.users[userIndex % options.users.length];
    const commentId = randomUUID();
    pending.set(commentId, {
      publishedAt: performance.now(),
      remaining: options.socketsPerUser,
    });
    const message = serializeRealtimeEvent({
      type: 'comment.created',
      data: eventsV1.CommentCreatedEvent.fromPartial({
        commentId,
        articleId: randomUUID(),
        articleSlug: 'bench-article',
        articleTitle: 'Bench article',
        commenterId: randomUUID(),
        commenterDisplayName: 'Bench',
        excerpt: 'A comment published by the fan-out benchmark.',
      }),
      at: new Date(),
    });
    return redis.publish(realtimeEventChannel(user.id), message);
  };

  const waitUntilDrained = async (): Promise<void> => {
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (pending.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  // Warm-up: one event per user until every socket has one. Proves each replica's subscriptions
  // are live before the clock starts (SUBSCRIBE is asynchronous after the upgrade).
  for (let attempt = 0; attempt < 50; attempt += 1) {
    pending.clear();
    await Promise.all(options.users.map((_, index) => publish(index)));
    await new Promise((resolve) => setTimeout(resolve, 200));
    if (pending.size === 0) break;
  }
  if (pending.size > 0) throw new Error(`${pending.size} users' sockets never got an event`);

  measuring = true;
  let published = 0;
  let next = 0;
  const started = performance.now();
  const end = started + options.durationSeconds * 1_000;
  await new Promise<void>((resolve) => {
    const refill = (): void => {
      if (performance.now() >= end) {
        if (pending.size === 0) resolve();
        return;
      }
      while (pending.size < options.maxEventsInFlight) {
        published += 1;
        void publish(next++);
      }
    };
    onComplete = refill;
    refill();
    // Ends the run even if the last in-flight events never arrive.
    setTimeout(resolve, options.durationSeconds * 1_000 + DRAIN_TIMEOUT_MS);
  });
  const seconds = (performance.now() - started) / 1_000;
  await waitUntilDrained();
  const missingDeliveries = [...pending.values()].reduce((sum, event) => sum + event.remaining, 0);
  measuring = false;
  const closedDuringRun = socketsClosed;
  for (const socket of sockets) socket.close();
  await redis.quit();
  latencies.sort((a, b) => a - b);
  const result: FanoutResult = {
    sockets: sockets.length,
    eventsPublished: published,
    deliveries: latencies.length,
    deliveriesPerSecond: Math.round(latencies.length / seconds),
    latencyMs: latencySummary(latencies),
    errors: missingDeliveries + closedDuringRun,
    errorDetail: { missingDeliveries, socketsClosed: closedDuringRun },
    durationSeconds: round2(seconds),
  };
  sendToParent({ type: 'result', result });
  // Sockets and Redis are closed; give the close frames a moment, then leave.
  setTimeout(() => process.exit(0), 200).unref();
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
