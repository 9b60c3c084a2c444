import { resolve } from 'node:path';
import { type Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { type Logger } from '@strata/logger';
import { createProducer } from '@strata/queue';
import { type OpsConfig } from '../config';
import { failedJobIds, listFailed, moveAside, retryFailed, type BulkResult } from './failed-jobs';
import { createProgressBar } from './progress-bar';

export const OPS_USAGE = `Usage: npm run queue:ops -- <command> <queue> [options]

Commands:
  list-failed <queue>   newest failed jobs: id, name, attempts, failed at, reason
      --limit <n>       how many (default 20)
      --json            one JSON document instead of a table
  retry-failed <queue>  move every failed job back to waiting, with a fresh set of attempts
  move-aside <queue>    export every failed job to a JSON file, then remove them from Redis
      --out <file>      export file (default ./<queue>-failed-<timestamp>.json; never overwritten)
  --dry-run             (retry-failed, move-aside) only say how many jobs would be touched

Environment: REDIS_QUEUE_URL, QUEUE_PREFIX (default bull).
`;

export interface OpsIo {
  readonly config: OpsConfig;
  readonly stdout: Writable;
  readonly stderr: Writable & { isTTY?: boolean };
  readonly logger: Logger;
  readonly now?: () => Date;
}

const REDIS_READY_TIMEOUT_MS = 5_000;

async function withTimeout<Result>(work: Promise<Result>, timeoutMs: number): Promise<Result> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no connection within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function describeError(error: unknown): string {
  // Not `instanceof Error`: errors from other realms (node:fs under a test runner) fail it.
  if (typeof error === 'object' && error !== null && 'message' in error) {
    return String(error.message);
  }
  return String(error);
}

function summary(action: string, result: BulkResult): string {
  const lines = [`${action}: ${result.done} done, ${result.skipped} skipped (no longer failed)`];
  for (const error of result.errors) lines.push(`  job ${error.id}: ${error.message}`);
  if (result.errors.length > 0) lines.push(`${result.errors.length} error(s)`);
  return `${lines.join('\n')}\n`;
}

function table(rows: ReadonlyArray<readonly string[]>): string {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) =>
          column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0),
        )
        .join('  '),
    )
    .join('\n');
}

/**
 * Runs one operations command; resolves with the process exit code (0 ok, 1 some jobs failed,
 * 2 usage error, 3 Redis unreachable).
 */
export async function runOpsCommand(argv: readonly string[], io: OpsIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        limit: { type: 'string', default: '20' },
        json: { type: 'boolean', default: false },
        out: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    io.stderr.write(`${describeError(error)}\n\n${OPS_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, queueName] = positionals;
  if (values.help) {
    io.stdout.write(OPS_USAGE);
    return 0;
  }
  const limit = Number(values.limit);
  if (
    !command ||
    !queueName ||
    positionals.length > 2 ||
    !['list-failed', 'retry-failed', 'move-aside'].includes(command) ||
    !Number.isInteger(limit) ||
    limit < 1
  ) {
    io.stderr.write(OPS_USAGE);
    return 2;
  }

  const producer = createProducer({
    connection: { url: io.config.REDIS_QUEUE_URL },
    prefix: io.config.QUEUE_PREFIX,
    logger: io.logger,
  });
  try {
    const queue = producer.queue(queueName);
    try {
      // BullMQ waits for a first connection forever; an operator wants an answer.
      await withTimeout(queue.waitUntilReady(), REDIS_READY_TIMEOUT_MS);
    } catch (error) {
      io.stderr.write(`cannot reach Redis at REDIS_QUEUE_URL: ${describeError(error)}\n`);
      return 3;
    }

    try {
      if (command === 'list-failed') {
        const [records, total] = await Promise.all([
          listFailed(queue, limit),
          queue.getFailedCount(),
        ]);
        if (values.json) {
          io.stdout.write(
            `${JSON.stringify({ queue: queueName, total, jobs: records }, null, 2)}\n`,
          );
          return 0;
        }
        const rows = [
          ['ID', 'NAME', 'ATTEMPTS', 'FAILED AT', 'REASON'],
          ...records.map((record) => [
            record.id,
            record.name,
            String(record.attemptsMade),
            record.failedAt ?? '-',
            record.failedReason.replace(/\s+/g, ' ').slice(0, 120),
          ]),
        ];
        io.stdout.write(
          `${table(rows)}\n${records.length} of ${total} failed job(s) in ${queueName}\n`,
        );
        return 0;
      }

      const ids = await failedJobIds(queue);
      if (values['dry-run']) {
        io.stdout.write(
          `${command} ${queueName}: ${ids.length} failed job(s) would be touched (dry run)\n`,
        );
        return 0;
      }
      const bar = createProgressBar(io.stderr, `${command} ${queueName}`, ids.length);
      if (command === 'retry-failed') {
        const result = await retryFailed(queue, ids, () => bar.tick());
        bar.done();
        io.stdout.write(summary(`retried in ${queueName}`, result));
        return result.errors.length > 0 ? 1 : 0;
      }
      const stamp = (io.now?.() ?? new Date()).toISOString().replace(/[:.]/g, '-');
      const file = resolve(values.out ?? `${queueName}-failed-${stamp}.json`);
      const result = await moveAside(queue, ids, file, () => bar.tick());
      bar.done();
      io.stdout.write(`exported ${result.exported} job(s) to ${file}\n`);
      io.stdout.write(summary(`removed from ${queueName}`, result));
      return result.errors.length > 0 ? 1 : 0;
    } catch (error) {
      // e.g. the export file exists already, or Redis went away half-way: say so plainly.
      io.stderr.write(`${command} ${queueName} failed: ${describeError(error)}\n`);
      return 1;
    }
  } finally {
    await producer.close();
  }
}
