import { type Queue } from 'bullmq';
import { Gauge, Histogram, type Registry } from 'prom-client';
import { type Logger } from '@strata/logger';
import { type ManagedWorker } from './job-worker';

/** Job states exported as gauges. */
export const QUEUE_METRIC_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

export interface QueueMetricsOptions {
  readonly registry: Registry;
  readonly logger: Logger;
  /** Queues whose counts are exported (producer.queue(name) gives them). */
  readonly queues?: readonly Queue[];
  /** Workers whose attempt durations feed the histogram. */
  readonly workers?: readonly ManagedWorker[];
  /** Metric name prefix (default `strata_queue_`). */
  readonly prefix?: string;
  /** Histogram buckets in seconds. */
  readonly buckets?: readonly number[];
  /** Bound on counting one queue during a scrape (default 1 s): a scrape must not hang on Redis. */
  readonly countTimeoutMs?: number;
}

export interface QueueMetrics {
  trackQueue(queue: Queue): void;
  trackWorker(worker: ManagedWorker): void;
  /** Stops observing workers (the metrics stay registered until the registry is cleared). */
  stop(): void;
}

const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

async function countsWithin(queue: Queue, timeoutMs: number) {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      queue.getJobCounts(...QUEUE_METRIC_STATES),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('job counts timed out')), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Registers, in `registry`:
 * - `strata_queue_jobs{queue,state}`: waiting / active / delayed / failed counts, read from Redis
 *   at scrape time (`queue.getJobCounts`);
 * - `strata_queue_up{queue}`: 1 when the counts could be read, else 0 (and the counts are
 *   dropped rather than reported stale);
 * - `strata_queue_job_duration_seconds{queue,name,status}`: time from a job becoming active to
 *   the end of that attempt, per worker process.
 */
export function registerQueueMetrics(options: QueueMetricsOptions): QueueMetrics {
  const prefix = options.prefix ?? 'strata_queue_';
  const countTimeoutMs = options.countTimeoutMs ?? 1_000;
  const queues = new Set<Queue>(options.queues ?? []);
  const unsubscribers: Array<() => void> = [];

  type Snapshot = Map<string, Record<string, number> | undefined>;
  // Both gauges are filled from one read of Redis per scrape: the registry collects them one
  // after the other, and they must agree.
  let snapshot: { at: number; value: Promise<Snapshot> } | undefined;
  function readCounts(): Promise<Snapshot> {
    if (snapshot && Date.now() - snapshot.at < 500) return snapshot.value;
    const value = Promise.all(
      [...queues].map(async (queue): Promise<[string, Record<string, number> | undefined]> => {
        try {
          return [queue.name, await countsWithin(queue, countTimeoutMs)];
        } catch (error) {
          options.logger.warn({ err: error, queue: queue.name }, 'queue metrics unavailable');
          return [queue.name, undefined];
        }
      }),
    ).then((entries) => new Map(entries));
    snapshot = { at: Date.now(), value };
    return value;
  }

  new Gauge({
    name: `${prefix}jobs`,
    help: 'Jobs per queue and state (waiting, active, delayed, failed).',
    labelNames: ['queue', 'state'],
    registers: [options.registry],
    async collect() {
      for (const [queue, counts] of await readCounts()) {
        for (const state of QUEUE_METRIC_STATES) {
          // Unknown counts are dropped rather than reported stale.
          if (counts) this.set({ queue, state }, counts[state] ?? 0);
          else this.remove({ queue, state });
        }
      }
    },
  });
  new Gauge({
    name: `${prefix}up`,
    help: 'Whether the job counts of the queue could be read from Redis at the last scrape.',
    labelNames: ['queue'],
    registers: [options.registry],
    async collect() {
      for (const [queue, counts] of await readCounts()) this.set({ queue }, counts ? 1 : 0);
    },
  });
  const duration = new Histogram({
    name: `${prefix}job_duration_seconds`,
    help: 'Processing time of one job attempt, by outcome.',
    labelNames: ['queue', 'name', 'status'],
    buckets: [...(options.buckets ?? DEFAULT_BUCKETS)],
    registers: [options.registry],
  });

  function trackWorker(worker: ManagedWorker) {
    unsubscribers.push(
      worker.onAttemptFinished((event) => {
        duration.observe(
          { queue: event.queue, name: event.name, status: event.status },
          event.durationMs / 1_000,
        );
      }),
    );
  }
  for (const worker of options.workers ?? []) trackWorker(worker);

  return {
    trackQueue: (queue) => void queues.add(queue),
    trackWorker,
    stop() {
      for (const unsubscribe of unsubscribers.splice(0)) unsubscribe();
      queues.clear();
    },
  };
}
