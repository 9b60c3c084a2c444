import { getMaxListeners, setMaxListeners } from 'node:events';
import { isMainThread } from 'node:worker_threads';
import { Child, type SandboxedOptions, UnrecoverableError, Worker, type Job } from 'bullmq';
import { type Logger, runWithContext } from '@strata/logger';
import { type QueueConnectionSettings, workerConnectionOptions } from './connection-options';
import { InvalidJobPayloadError, PermanentJobError } from './errors';
import { fromJobData } from './job-context';
import { type JobDefinition } from './job-definition';
import { type GroupItem, groupJobData, isGroupJobData, readGroupItems } from './job-group';

/** What a processor gets besides its payload. */
export interface ProcessorContext {
  readonly jobId: string;
  /**
   * Stable across retries and redeliveries of this job (for outbox jobs: the outbox row id).
   * Pass it to downstream systems (a payment provider, an SMTP dedup table) so the effect of a
   * job that runs twice happens once.
   */
  readonly idempotencyKey: string;
  /**
   * Whether this payload travels in a group (job-group.ts). `job` is then the group's job:
   * moving it (`moveToDelayed` + `DelayedError`) would act for every item, so a processor that
   * wants to come back later throws a plain error instead, and the group retries that item.
   */
  readonly inGroup: boolean;
  /** 1 on the first try. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** A logger carrying queue, job name and job id (the request id comes from the context). */
  readonly logger: Logger;
  /** Aborted when the job is cancelled through BullMQ (`worker.cancelJob`). */
  readonly signal: AbortSignal | undefined;
  /** The raw BullMQ job, for progress updates and logs. */
  readonly job: Job;
}

export type JobProcessor<Payload extends object, Result = unknown> = (
  payload: Payload,
  context: ProcessorContext,
) => Promise<Result>;

/** A processor that runs in a child process or worker thread (CPU-heavy work). */
export interface SandboxedProcessorFile {
  /**
   * Absolute path of a module whose default export (or `module.exports`) is the result of
   * {@link sandboxedProcessor}: the built `.js` file in production, or its `.ts` source under
   * jest and `node --import tsx` (the sandbox then gets the flags that load sources, see
   * {@link sandboxExecArgv}).
   */
  readonly file: string;
  /** Worker threads instead of child processes. */
  readonly useWorkerThreads?: boolean;
  /**
   * Variables set for the sandbox on top of this process's environment, from which the sandbox
   * parses its own config. Services derive them from their parsed config, so a sandbox sees the
   * same values as its worker even when the worker's config did not come from the environment
   * (tests).
   */
  readonly env?: Readonly<Record<string, string>>;
}

export interface WatchdogOptions {
  /** How often the connection is checked (default 5 s). */
  readonly checkIntervalMs?: number;
  /**
   * How long the connection may stay not ready before the BullMQ worker is closed and built
   * again with fresh connections (default 15 s, so a worker consumes again well within 30 s of
   * Redis coming back).
   */
  readonly reconnectBoundMs?: number;
  /** Bound of the PING-like probe that detects a connection that looks ready but hangs (2 s). */
  readonly probeTimeoutMs?: number;
}

export interface CreateWorkerOptions extends QueueConnectionSettings {
  readonly logger: Logger;
  /** Jobs processed in parallel by this process (default 1). From config in services. */
  readonly concurrency?: number;
  /** Lock held on an active job, renewed at half of it (BullMQ default 30 s). */
  readonly lockDurationMs?: number;
  /** How often stalled jobs are looked for (BullMQ default 30 s). */
  readonly stalledIntervalMs?: number;
  /** `false` disables the watchdog (tests of BullMQ's own behaviour only). */
  readonly watchdog?: WatchdogOptions | false;
  /** Shown in Redis CLIENT LIST and on processed jobs. */
  readonly workerName?: string;
  /**
   * Bound on `close()` (default 25 s, under Kubernetes' default 30 s grace period): active jobs
   * get this long to finish; then, or if Redis is gone and cannot take the results, the
   * connections are dropped and unfinished jobs are recovered by the stalled check.
   */
  readonly closeTimeoutMs?: number;
}

/** One finished attempt, for metrics. */
export interface JobAttemptFinished {
  readonly queue: string;
  readonly name: string;
  readonly jobId: string;
  readonly status: 'completed' | 'failed';
  readonly durationMs: number;
  /** For failures: whether BullMQ will try again. */
  readonly willRetry: boolean;
}

/** A BullMQ worker behind a watchdog, recreated when its Redis connection does not come back. */
export interface ManagedWorker {
  readonly queueName: string;
  /** The BullMQ worker currently running (changes when the watchdog recreates it). */
  readonly current: Worker;
  /** How many times the watchdog rebuilt the worker. */
  readonly recreations: number;
  /** Resolves when the current worker's connections are ready. */
  waitUntilReady(): Promise<void>;
  /** Subscribes to finished attempts (completed or failed); returns an unsubscribe function. */
  onAttemptFinished(listener: (event: JobAttemptFinished) => void): () => void;
  /**
   * Stops the watchdog and closes the worker, waiting for active jobs to finish (so nothing is
   * left to be reported stalled after a rolling restart). Call it on SIGTERM before exiting.
   */
  close(): Promise<void>;
}

function toUnrecoverable(error: unknown): unknown {
  if (error instanceof PermanentJobError) {
    const unrecoverable = new UnrecoverableError(`${error.name}: ${error.message}`);
    unrecoverable.cause = error;
    return unrecoverable;
  }
  return error;
}

function processorContext(
  job: Job,
  logger: Logger,
  signal: AbortSignal | undefined,
  groupItemId?: string,
): ProcessorContext {
  const jobId = job.id ?? '';
  return {
    jobId,
    // An item of a group is keyed by its own outbox row, not by the group it travelled in.
    idempotencyKey: groupItemId ?? jobId,
    inGroup: groupItemId !== undefined,
    attempt: job.attemptsMade + 1,
    maxAttempts: job.opts.attempts ?? 1,
    logger: logger.child({
      queue: job.queueName,
      jobName: job.name,
      jobId,
      ...(groupItemId === undefined ? {} : { groupItemId }),
    }),
    signal,
    job,
  };
}

/** `Promise.allSettled` of `work` over `items`, at most `limit` running at once, in item order. */
async function settleWithConcurrency<Item, Result>(
  items: readonly Item[],
  limit: number,
  work: (item: Item) => Promise<Result>,
): Promise<Array<PromiseSettledResult<Result>>> {
  if (limit >= items.length) return Promise.allSettled(items.map(work));
  const outcomes = new Array<PromiseSettledResult<Result>>(items.length);
  let next = 0;
  async function lane(): Promise<void> {
    while (next < items.length) {
      const index = next;
      next += 1;
      try {
        outcomes[index] = { status: 'fulfilled', value: await work(items[index]) };
      } catch (reason) {
        outcomes[index] = { status: 'rejected', reason };
      }
    }
  }
  await Promise.all(Array.from({ length: limit }, lane));
  return outcomes;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Wraps a typed processor for BullMQ: routes on the job name, restores the request context,
 * validates the payload (an invalid one fails permanently) and maps PermanentJobError to
 * UnrecoverableError. A grouped job (job-group.ts; only for definitions that set `grouping`)
 * runs the processor once per item, concurrently, and resolves to their results in item order.
 * When items fail, the job's data is narrowed to those items before the attempt fails, so a
 * retry runs only them; the attempt fails permanently only when every failure is permanent.
 */
export function wrapProcessor<Payload extends object, Result>(
  definition: JobDefinition<Payload>,
  processor: JobProcessor<Payload, Result>,
  logger: Logger,
): (job: Job, token?: string, signal?: AbortSignal) => Promise<Result | Result[]> {
  function runOne(
    job: Job,
    data: unknown,
    signal: AbortSignal | undefined,
    groupItemId?: string,
  ): Promise<Result> {
    const { payload, context } = fromJobData(data);
    return runWithContext(context, async () => {
      const parsed = await definition.parse(payload);
      return processor(parsed, processorContext(job, logger, signal, groupItemId));
    });
  }

  async function runGroup(
    job: Job,
    data: Record<string, unknown>,
    signal: AbortSignal | undefined,
  ): Promise<Result[]> {
    const read = readGroupItems(data);
    if ('invalid' in read) {
      throw new InvalidJobPayloadError(definition.queue, definition.name, [read.invalid]);
    }
    const { items } = read;
    const concurrency = definition.grouping?.concurrency ?? items.length;
    // The group's items share the job's one signal, and each running item may listen on it (a
    // provider call does): that many listeners is the design, not a leak, and Node warns past 10.
    if (signal) setMaxListeners(Math.max(getMaxListeners(signal), concurrency + 10), signal);
    const outcomes = await settleWithConcurrency(items, concurrency, (item) =>
      runOne(job, item.data, signal, item.id),
    );
    const failed: Array<{ item: GroupItem; error: unknown }> = [];
    outcomes.forEach((outcome, index) => {
      if (outcome.status === 'rejected') failed.push({ item: items[index], error: outcome.reason });
    });
    if (failed.length === 0) {
      return outcomes.map((outcome) => (outcome as PromiseFulfilledResult<Result>).value);
    }
    const jobId = job.id ?? '';
    for (const { item, error } of failed) {
      logger.warn(
        { err: error, queue: job.queueName, jobName: job.name, jobId, groupItemId: item.id },
        'grouped job item failed',
      );
    }
    if (failed.length < items.length) {
      // The others have had their effect: a retry runs only what failed. If Redis does not take
      // the narrower data, a retry runs every item again, which a grouped processor absorbs.
      try {
        await job.updateData(groupJobData(failed.map(({ item }) => item)));
      } catch (error) {
        logger.warn({ err: error, jobId }, 'could not narrow a failed group; a retry runs it all');
      }
    }
    const permanent = failed.every(({ error }) => error instanceof PermanentJobError);
    const first = failed[0].error;
    const message = `${failed.length} of ${items.length} grouped items failed${
      permanent ? ' permanently' : ''
    }, first: ${messageOf(first)}`;
    throw permanent
      ? new PermanentJobError(message, { cause: first })
      : new Error(message, { cause: first });
  }

  return async (job, _token, signal) => {
    try {
      if (job.name !== definition.name) {
        throw new PermanentJobError(
          `no processor for job "${job.name}" on queue ${definition.queue} (expects "${definition.name}")`,
        );
      }
      const data: unknown = job.data;
      // A definition without grouping never sees a group: its parse rejects the group key.
      if (definition.grouping !== undefined && isGroupJobData(data)) {
        return await runGroup(job, data, signal);
      }
      return await runOne(job, data, signal);
    } catch (error) {
      throw toUnrecoverable(error);
    }
  };
}

/**
 * The body of a sandboxed processor file:
 *
 * ```ts
 * // render-pdf.processor.ts (built to dist/render-pdf.processor.js)
 * export default sandboxedProcessor(renderPdf, createLogger({ name: 'pdf' }), async (payload) => …);
 * ```
 * Validation, context and error mapping then run in the child as they do in-process.
 */
export function sandboxedProcessor<Payload extends object, Result>(
  definition: JobDefinition<Payload>,
  logger: Logger,
  processor: JobProcessor<Payload, Result>,
): (job: Job, token?: string, signal?: AbortSignal) => Promise<Result | Result[]> {
  exitWithParent();
  return wrapProcessor(definition, processor, logger);
}

// The BullMQ sandbox entry (bullmq/dist/{cjs,esm}/classes/main.js) that forks run.
const BULLMQ_CHILD_MAIN = /[\\/]bullmq[\\/]dist[\\/](?:cjs|esm)[\\/]classes[\\/]main\.js$/;
let exitsWithParent = false;

/**
 * In a sandbox child process: exit when the worker process is gone. BullMQ stops its children
 * on `worker.close()`, but a worker that dies without closing (SIGKILL, the OOM killer, a close
 * that timed out) only closes the IPC channel, and a child holding a database pool or a Redis
 * client would then live on as an orphan. Its job is not lost: the lock expires and the stalled
 * check hands the job to a live worker.
 */
function exitWithParent(): void {
  if (exitsWithParent || !isMainThread || process.send === undefined) return;
  if (!BULLMQ_CHILD_MAIN.test(process.argv[1] ?? '')) return;
  exitsWithParent = true;
  process.once('disconnect', () => process.exit(1));
}

const TYPESCRIPT_FILE = /\.[cm]?ts$/;
const SOURCE_CONDITION = '@strata/source';

function hasFlag(execArgv: readonly string[], names: readonly string[], value: string): boolean {
  return execArgv.some(
    (argument, index) =>
      names.some((name) => argument === `${name}=${value}`) ||
      (names.includes(argument) && execArgv[index + 1] === value),
  );
}

/**
 * Node flags for a sandbox that runs `file`, or `undefined` to keep BullMQ's default (the
 * parent's own flags). A `.ts` file needs tsx and the `@strata/source` condition (internal
 * packages resolve to their sources, as under jest); flags the parent already has are not
 * repeated, and debugger flags are dropped (the child would compete for the parent's port).
 */
export function sandboxExecArgv(
  file: string,
  parentExecArgv: readonly string[] = process.execArgv,
): string[] | undefined {
  if (!TYPESCRIPT_FILE.test(file)) return undefined;
  const execArgv = parentExecArgv.filter((argument) => !argument.startsWith('--inspect'));
  if (!hasFlag(execArgv, ['--conditions', '-C'], SOURCE_CONDITION)) {
    execArgv.push(`--conditions=${SOURCE_CONDITION}`);
  }
  if (!hasFlag(execArgv, ['--import'], 'tsx')) execArgv.push('--import', 'tsx');
  return execArgv;
}

let sandboxInitGuarded = false;

/**
 * Works around a BullMQ 6.7 hang: a sandbox that exits before it has loaded the processor file
 * (`process.exit` or a native crash at import, the OOM killer) leaves `Child.init()` waiting
 * forever, because on 'exit' the Child drops every listener, including the one its init waits
 * on ('close' comes after 'exit'). The job then stays active with its lock renewed, its
 * concurrency slot is lost, and `worker.close()` waits for it until `closeTimeoutMs`. Here init
 * fails instead when the child exits first; BullMQ's pool then discards the child and fails the
 * attempt, which is retried in a fresh child. (Tested in sandboxed-processor.int-spec.ts.)
 */
function guardSandboxInit(): void {
  if (sandboxInitGuarded) return;
  sandboxInitGuarded = true;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with the child below
  const init = Child.prototype.init;
  Child.prototype.init = function guardedInit(this: Child): Promise<void> {
    let onExit: ((exitCode: number | null, signal: string | null) => void) | undefined;
    const exited = new Promise<never>((_, reject) => {
      onExit = (exitCode, signal) =>
        reject(
          new Error(
            `sandbox exited while loading ${this.processFile} (exit code ${exitCode}, signal ${signal})`,
          ),
        );
      this.once('exit', onExit);
    });
    return Promise.race([init.call(this), exited]).finally(() => {
      if (onExit) this.off('exit', onExit);
    });
  };
}

function sandboxOptions(sandbox: SandboxedProcessorFile): SandboxedOptions {
  guardSandboxInit();
  const execArgv = sandboxExecArgv(sandbox.file);
  const options = {
    ...(execArgv === undefined ? {} : { execArgv }),
    // A child process or thread gets this process's environment by default; `env` replaces it.
    ...(sandbox.env === undefined ? {} : { env: { ...process.env, ...sandbox.env } }),
  };
  return sandbox.useWorkerThreads === true
    ? { useWorkerThreads: true, workerThreadsOptions: options }
    : { useWorkerThreads: false, workerForkOptions: options };
}

async function withTimeout<Result>(work: Promise<Result>, timeoutMs: number): Promise<Result> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const ERROR_LOG_INTERVAL_MS = 5_000;

/**
 * Starts a worker for `definition` with the production settings: `maxRetriesPerRequest: null`,
 * concurrency from options, errors and failures logged, a watchdog that rebuilds the worker
 * when Redis does not come back, and a `close()` that drains active jobs.
 *
 * `processor` is either an async function (runs in this process) or a {@link
 * SandboxedProcessorFile} for CPU-heavy work.
 */
export function createWorker<Payload extends object, Result = unknown>(
  definition: JobDefinition<Payload>,
  processor: JobProcessor<Payload, Result> | SandboxedProcessorFile,
  options: CreateWorkerOptions,
): ManagedWorker {
  const logger = options.logger.child({ queue: definition.queue });
  const connection = workerConnectionOptions(options.connection);
  const listeners = new Set<(event: JobAttemptFinished) => void>();
  const watchdog =
    options.watchdog === false
      ? undefined
      : {
          checkIntervalMs: options.watchdog?.checkIntervalMs ?? 5_000,
          reconnectBoundMs: options.watchdog?.reconnectBoundMs ?? 15_000,
          probeTimeoutMs: options.watchdog?.probeTimeoutMs ?? 2_000,
        };
  const processFunction =
    typeof processor === 'function' ? wrapProcessor(definition, processor, logger) : undefined;

  let recreations = 0;
  let closing: Promise<void> | undefined;
  let recreating: Promise<void> | undefined;
  let unhealthySince: number | undefined;
  let lastErrorLog = 0;
  let suppressedErrors = 0;

  function emitFinished(event: JobAttemptFinished) {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        logger.error({ err: error }, 'attempt listener threw');
      }
    }
  }

  function build(): Worker {
    const startedAt = new Map<string, number>();
    const worker = new Worker(
      definition.queue,
      processFunction ?? (processor as SandboxedProcessorFile).file,
      {
        connection,
        concurrency: options.concurrency ?? 1,
        // After a connection error BullMQ waits this long before fetching again (default 15 s):
        // too long for "consuming again within seconds of Redis coming back".
        runRetryDelay: 2_000,
        ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
        ...(options.lockDurationMs === undefined ? {} : { lockDuration: options.lockDurationMs }),
        ...(options.stalledIntervalMs === undefined
          ? {}
          : { stalledInterval: options.stalledIntervalMs }),
        ...(options.workerName === undefined ? {} : { name: options.workerName }),
        ...(typeof processor === 'function' ? {} : sandboxOptions(processor)),
      },
    );
    worker.on('active', (job: Job) => {
      if (job.id !== undefined) startedAt.set(job.id, performance.now());
    });
    const finished = (job: Job, status: 'completed' | 'failed', willRetry: boolean) => {
      const jobId = job.id ?? '';
      const started = startedAt.get(jobId);
      startedAt.delete(jobId);
      emitFinished({
        queue: definition.queue,
        name: job.name,
        jobId,
        status,
        durationMs: started === undefined ? 0 : performance.now() - started,
        willRetry,
      });
    };
    worker.on('completed', (job: Job) => finished(job, 'completed', false));
    worker.on('failed', (job: Job | undefined, error: Error) => {
      if (!job) {
        logger.error({ err: error }, 'job failed outside of processing');
        return;
      }
      const final =
        error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
      const fields = {
        err: error,
        jobId: job.id,
        jobName: job.name,
        attempt: job.attemptsMade,
        maxAttempts: job.opts.attempts ?? 1,
      };
      if (final) logger.error(fields, 'job failed permanently, kept in the failed set');
      else logger.warn(fields, 'job attempt failed, will retry');
      finished(job, 'failed', !final);
    });
    worker.on('stalled', (jobId: string) =>
      logger.warn({ jobId }, 'job stalled, moved back to wait'),
    );
    worker.on('error', (error: Error) => {
      // A Redis outage produces an error per reconnect attempt: log the first, then at most one
      // line per interval with the number suppressed.
      const now = Date.now();
      if (now - lastErrorLog < ERROR_LOG_INTERVAL_MS) {
        suppressedErrors += 1;
        return;
      }
      logger.error({ err: error, suppressedErrors }, 'worker error');
      lastErrorLog = now;
      suppressedErrors = 0;
    });
    return worker;
  }

  let current = build();

  async function isHealthy(worker: Worker, probeTimeoutMs: number): Promise<boolean> {
    try {
      const backend = worker.getBackend();
      const client = await withTimeout(backend.client, probeTimeoutMs);
      const blocking = backend.blockingClient;
      const blockingClient = blocking ? await withTimeout(blocking, probeTimeoutMs) : undefined;
      if (client.status !== 'ready' || (blockingClient && blockingClient.status !== 'ready')) {
        return false;
      }
      // A connection can look ready while the server does not answer (frozen, partitioned).
      await withTimeout(client.get(`${worker.qualifiedName}:watchdog-probe`), probeTimeoutMs);
      return true;
    } catch {
      return false;
    }
  }

  async function recreate(reason: string) {
    const old = current;
    recreations += 1;
    logger.warn({ reason, recreations }, 'watchdog: recreating worker with fresh connections');
    // Jobs active on the old worker cannot be completed without Redis anyway; BullMQ's stalled
    // check hands them to a worker again once their lock expires.
    current = build();
    try {
      await withTimeout(old.close(true), 5_000);
    } catch (error) {
      logger.warn({ err: error }, 'watchdog: old worker did not close cleanly');
      await dropConnections(old);
    }
  }

  // Last resort when close() cannot finish (QUIT waits in the offline queue while Redis is down).
  // Not worker.disconnect(): it waits for an 'end' event ioredis does not emit between reconnects.
  async function dropConnections(worker: Worker) {
    const backend = worker.getBackend();
    for (const connection of [backend.connection, backend.blockingConnection]) {
      if (!connection) continue;
      await withTimeout(connection.disconnect(false), 1_000).catch(() => undefined);
    }
  }

  async function check(bounds: NonNullable<typeof watchdog>) {
    if (closing || recreating) return;
    const healthy = await isHealthy(current, bounds.probeTimeoutMs);
    if (closing) return;
    if (healthy) {
      if (unhealthySince !== undefined) logger.info('watchdog: Redis connection is ready again');
      unhealthySince = undefined;
      return;
    }
    const now = Date.now();
    unhealthySince ??= now;
    if (now - unhealthySince >= bounds.reconnectBoundMs) {
      unhealthySince = undefined;
      recreating = recreate(`connection not ready for ${bounds.reconnectBoundMs} ms`).finally(
        () => {
          recreating = undefined;
        },
      );
      await recreating;
    }
  }

  let timer: NodeJS.Timeout | undefined;
  if (watchdog) {
    timer = setInterval(() => {
      check(watchdog).catch((error: unknown) => logger.error({ err: error }, 'watchdog failed'));
    }, watchdog.checkIntervalMs);
  }

  return {
    queueName: definition.queue,
    get current() {
      return current;
    },
    get recreations() {
      return recreations;
    },
    waitUntilReady: () => current.waitUntilReady(),
    onAttemptFinished(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closing ??= (async () => {
        clearInterval(timer);
        await recreating;
        const worker = current;
        try {
          await withTimeout(worker.close(), options.closeTimeoutMs ?? 25_000);
        } catch (error) {
          logger.error({ err: error }, 'worker did not close in time, dropping its connections');
          await dropConnections(worker);
        }
      })();
      return closing;
    },
  };
}
