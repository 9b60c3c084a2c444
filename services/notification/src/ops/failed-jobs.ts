import { open } from 'node:fs/promises';
import { type Job, type Queue } from 'bullmq';

/** A failed job as listed and exported. */
export interface FailedJobRecord {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  readonly data: unknown;
  readonly opts: unknown;
  readonly attemptsMade: number;
  readonly failedReason: string;
  readonly stacktrace: readonly string[];
  readonly createdAt: string;
  readonly failedAt: string | undefined;
}

export interface BulkResult {
  /** Jobs acted on. */
  readonly done: number;
  /** Jobs that were no longer failed when their turn came (retried or removed by someone else). */
  readonly skipped: number;
  /** Jobs the action failed for, with the reason. */
  readonly errors: ReadonlyArray<{ readonly id: string; readonly message: string }>;
}

const PAGE_SIZE = 500;

export function toRecord(job: Job): FailedJobRecord {
  return {
    id: job.id ?? '',
    name: job.name,
    queue: job.queueName,
    data: job.data,
    opts: job.opts,
    attemptsMade: job.attemptsMade,
    failedReason: job.failedReason,
    stacktrace: job.stacktrace ?? [],
    createdAt: new Date(job.timestamp).toISOString(),
    failedAt: job.finishedOn === undefined ? undefined : new Date(job.finishedOn).toISOString(),
  };
}

/** The newest `limit` failed jobs, newest first. */
export async function listFailed(queue: Queue, limit: number): Promise<FailedJobRecord[]> {
  const jobs = await queue.getFailed(0, limit - 1);
  return jobs.map(toRecord);
}

/**
 * The ids of every job failed right now. Taken before acting, so that a job that fails again
 * while a bulk retry runs is not retried a second time in the same run (which could loop forever
 * on a job that fails at once).
 */
export async function failedJobIds(queue: Queue): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; ; start += PAGE_SIZE) {
    const page = await queue.getRanges(['failed'], start, start + PAGE_SIZE - 1);
    ids.push(...page);
    if (page.length < PAGE_SIZE) break;
  }
  return [...new Set(ids)];
}

async function forEachFailed(
  queue: Queue,
  ids: readonly string[],
  action: (job: Job) => Promise<void>,
  onProgress: () => void,
): Promise<BulkResult> {
  let done = 0;
  let skipped = 0;
  const errors: Array<{ id: string; message: string }> = [];
  for (const id of ids) {
    try {
      const job = await queue.getJob(id);
      if (!job || !(await job.isFailed())) {
        skipped += 1;
      } else {
        await action(job);
        done += 1;
      }
    } catch (error) {
      errors.push({ id, message: error instanceof Error ? error.message : String(error) });
    }
    onProgress();
  }
  return { done, skipped, errors };
}

/** Moves every failed job back to waiting with a fresh set of attempts. */
export async function retryFailed(
  queue: Queue,
  ids: readonly string[],
  onProgress: () => void = () => undefined,
): Promise<BulkResult> {
  return forEachFailed(
    queue,
    ids,
    (job) => job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true }),
    onProgress,
  );
}

/**
 * Moves failed jobs aside: writes them to `file` (a JSON array, flushed to disk before anything
 * is removed), then removes each from the queue. Nothing is lost if the process dies half-way:
 * every removed job is in the file, and the rest are still in the failed set.
 */
export async function moveAside(
  queue: Queue,
  ids: readonly string[],
  file: string,
  onProgress: () => void = () => undefined,
): Promise<BulkResult & { readonly exported: number }> {
  const records: FailedJobRecord[] = [];
  for (const id of ids) {
    const job = await queue.getJob(id);
    if (job && (await job.isFailed())) records.push(toRecord(job));
  }
  // 'wx': never overwrite an earlier export.
  const handle = await open(file, 'wx');
  try {
    await handle.writeFile(`${JSON.stringify(records, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  const exportedIds = records.map((record) => record.id);
  const skippedBeforeExport = ids.length - exportedIds.length;
  for (let index = 0; index < skippedBeforeExport; index += 1) onProgress();
  const result = await forEachFailed(queue, exportedIds, (job) => job.remove(), onProgress);
  return {
    ...result,
    skipped: result.skipped + skippedBeforeExport,
    exported: records.length,
  };
}
