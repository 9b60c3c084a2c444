import { Queue, type JobsOptions } from 'bullmq';
import { type Logger } from '@strata/logger';
import { type QueueConnectionSettings, producerConnectionOptions } from './connection-options';
import { QueueUnavailableError } from './errors';
import { captureContext, toJobData } from './job-context';
import { type JobDefinition } from './job-definition';

export interface ProducerOptions extends QueueConnectionSettings {
  readonly logger: Logger;
  /**
   * How long `add` waits for a Redis connection that is not ready yet before failing with
   * QueueUnavailableError (default 2 s). Once connected, a dropped connection fails at once.
   */
  readonly readyTimeoutMs?: number;
}

/** Per-call options of {@link Producer.add}. */
export interface AddJobOptions {
  /**
   * Idempotency of the enqueue itself: BullMQ ignores an add whose job id already exists. Use a
   * business key (a payment id) when the caller may retry.
   */
  readonly jobId?: string;
  /** Milliseconds before the job becomes runnable. */
  readonly delay?: number;
  readonly priority?: number;
}

/** One job for {@link Producer.addRawBulk}. */
export interface RawJob {
  readonly name: string;
  readonly data: object;
  readonly options: JobsOptions;
}

/** Enqueues jobs of any definition; one BullMQ `Queue` (one connection) per queue name. */
export interface Producer {
  /**
   * Validates `payload`, stamps it with the current request context and enqueues it with the
   * definition's retry settings. Resolves to the job id.
   * @throws InvalidJobPayloadError when the payload does not match the schema.
   * @throws QueueUnavailableError when Redis is not reachable within `readyTimeoutMs`.
   */
  add<Payload extends object>(
    definition: JobDefinition<Payload>,
    payload: Payload,
    options?: AddJobOptions,
  ): Promise<string>;
  /**
   * Low level: enqueues already-built job data with explicit BullMQ options (no validation, no
   * context capture). Used by the outbox relay and operational tools.
   */
  addRaw(queueName: string, jobName: string, data: object, options: JobsOptions): Promise<string>;
  /**
   * Low level, like {@link Producer.addRaw} for many jobs of one queue in one round trip to Redis
   * (BullMQ's `addBulk`, a pipeline: not atomic). Resolves to the job ids in order; rejects if any
   * job was refused, in which case the others may have been added (callers that retry must use
   * job ids, so that a second add is a no-op).
   */
  addRawBulk(queueName: string, jobs: readonly RawJob[]): Promise<string[]>;
  /** The BullMQ queue behind `queueName` (created on first use), e.g. for metrics or Bull Board. */
  queue(queueName: string): Queue;
  /** Closes every queue this producer opened. */
  close(): Promise<void>;
}

/** BullMQ job options of `definition`, with per-call overrides. */
export function jobOptionsFor(
  definition: JobDefinition<object>,
  overrides: AddJobOptions = {},
): JobsOptions {
  const { defaults } = definition;
  const options: JobsOptions = {
    attempts: defaults.attempts,
    backoff: defaults.backoff,
    removeOnComplete: defaults.removeOnComplete,
    removeOnFail: defaults.removeOnFail,
  };
  const priority = overrides.priority ?? defaults.priority;
  if (priority !== undefined) options.priority = priority;
  if (overrides.delay !== undefined && overrides.delay > 0) options.delay = overrides.delay;
  if (overrides.jobId !== undefined) options.jobId = overrides.jobId;
  return options;
}

async function withTimeout<Result>(
  work: Promise<Result>,
  timeoutMs: number,
  onTimeout: () => Error,
): Promise<Result> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const CONNECTION_ERROR_PATTERN =
  /Stream isn't writeable|Connection is closed|Command timed out|max retries per request|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN/i;

function isConnectionError(error: unknown): boolean {
  return error instanceof Error && CONNECTION_ERROR_PATTERN.test(`${error.name} ${error.message}`);
}

/**
 * Closes a queue even when Redis is down: BullMQ's close() sends QUIT, which fails at once
 * without an offline queue and would leave the client reconnecting forever (and a test or a
 * shutting-down process hanging).
 */
async function closeQueue(queue: Queue, logger: Logger): Promise<void> {
  try {
    await queue.close();
  } catch (error) {
    logger.debug({ err: error, queue: queue.name }, 'queue close failed, disconnecting');
    // Not queue.disconnect(): it waits for an 'end' event that ioredis never emits for a
    // connection that is between reconnect attempts.
    await queue
      .getBackend()
      .connection.disconnect(false)
      .catch(() => undefined);
  }
}

/**
 * A producer with the production settings: no offline queue, one retry per command, bounded
 * wait for a connection, exponential backoff with jitter and bounded retention from the job
 * definitions.
 */
export function createProducer(options: ProducerOptions): Producer {
  const connection = producerConnectionOptions(options.connection);
  const readyTimeoutMs = options.readyTimeoutMs ?? 2_000;
  const queues = new Map<string, Queue>();
  let closing: Promise<void> | undefined;

  function queue(queueName: string): Queue {
    if (closing) throw new Error('producer is closed');
    let existing = queues.get(queueName);
    if (!existing) {
      existing = new Queue(queueName, {
        connection,
        ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
      });
      // Without a listener an 'error' event would crash the process; the failure itself reaches
      // the caller of add().
      existing.on('error', (error: Error) =>
        options.logger.debug({ err: error, queue: queueName }, 'queue connection error'),
      );
      queues.set(queueName, existing);
    }
    return existing;
  }

  /** The queue, once connected: BullMQ waits for the first connection indefinitely, a producer must not. */
  async function readyQueue(queueName: string): Promise<Queue> {
    const target = queue(queueName);
    // Waiting for readiness before issuing the add (rather than racing the add itself) means a
    // timed-out call has not queued a command that could still land later.
    await withTimeout(
      target.waitUntilReady(),
      readyTimeoutMs,
      () => new QueueUnavailableError(queueName),
    ).catch((error: unknown) => {
      throw error instanceof QueueUnavailableError
        ? error
        : new QueueUnavailableError(queueName, { cause: error });
    });
    return target;
  }

  // Callers handle "Redis is unavailable" in one place; anything else (an invalid option) is a
  // bug and keeps its own error.
  const mapAddError = (queueName: string, error: unknown) =>
    isConnectionError(error) ? new QueueUnavailableError(queueName, { cause: error }) : error;

  async function addRaw(
    queueName: string,
    jobName: string,
    data: object,
    jobOptions: JobsOptions,
  ): Promise<string> {
    const target = await readyQueue(queueName);
    try {
      const job = await target.add(jobName, data, jobOptions);
      if (job.id === undefined) throw new Error('BullMQ returned a job without id');
      return job.id;
    } catch (error) {
      throw mapAddError(queueName, error);
    }
  }

  async function addRawBulk(queueName: string, jobs: readonly RawJob[]): Promise<string[]> {
    if (jobs.length === 0) return [];
    const target = await readyQueue(queueName);
    try {
      const added = await target.addBulk(
        jobs.map((job) => ({ name: job.name, data: job.data, opts: job.options })),
      );
      return added.map((job) => {
        if (job.id === undefined) throw new Error('BullMQ returned a job without id');
        return job.id;
      });
    } catch (error) {
      throw mapAddError(queueName, error);
    }
  }

  return {
    queue,
    addRaw,
    addRawBulk,
    async add(definition, payload, addOptions) {
      await definition.parse(payload);
      const jobOptions = jobOptionsFor(definition, addOptions);
      return addRaw(
        definition.queue,
        definition.name,
        toJobData(payload, captureContext()),
        jobOptions,
      );
    },
    close() {
      closing ??= Promise.all(
        [...queues.values()].map((each) => closeQueue(each, options.logger)),
      ).then(() => {
        queues.clear();
      });
      return closing;
    },
  };
}
