// Benchmark (not a test): jobs/s of one worker process.
//
//   npm run bench -w @strata/notification-service            # both parts
//   BENCH_NOOP_JOBS=50000 BENCH_EMAIL_JOBS=5000 npm run bench -w @strata/notification-service
//
// 1. no-op jobs/s: N jobs are enqueued first, then one worker (the queue kit's createWorker, so
//    validation, context and metrics hooks included) drains them; timed from its start to the
//    last completion, for several concurrency levels.
// 2. end-to-end email jobs/s: the whole notification app (idempotency claim, rendering, pooled
//    SMTP) against an SMTP sink running in a child process (so it does not share this process's
//    CPU), with raw addresses and with user ids resolved over gRPC.
//
// Uses REDIS_QUEUE_URL (default redis://127.0.0.1:6379) with a unique key prefix, removed at the end.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { SMTPServer } from 'smtp-server';
import { loadConfig } from '@strata/config';
import { EMAIL_QUEUE, sendEmailJob, type EmailJobPayload } from '@strata/jobs';
import { createLogger } from '@strata/logger';
import { createWorker, defineJob, jobOptionsFor } from '@strata/queue';
import { notificationConfigSchema } from '../src/config';
import { buildNotificationApp } from '../src/notification-app';
import { startFakeUserServer } from '../src/testing/fake-user.server';

const REDIS_URL = process.env['REDIS_QUEUE_URL'] ?? 'redis://127.0.0.1:6379';
const NOOP_JOBS = Number(process.env['BENCH_NOOP_JOBS'] ?? 20_000);
const EMAIL_JOBS = Number(process.env['BENCH_EMAIL_JOBS'] ?? 3_000);
const NOOP_CONCURRENCY = [1, 10, 50, 100];

const logger = createLogger({ name: 'bench', level: 'warn' });
const noop = defineJob<{ n: number }>({ queue: 'bench-noop', name: 'noop' });

function out(line: string) {
  process.stdout.write(`${line}\n`);
}

async function fill(queue: Queue, name: string, payloads: object[], options: object) {
  for (let start = 0; start < payloads.length; start += 1_000) {
    await queue.addBulk(
      payloads.slice(start, start + 1_000).map((data) => ({ name, data, opts: options })),
    );
  }
}

async function deletePrefix(prefix: string) {
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
  await redis.quit();
}

async function benchNoop(concurrency: number): Promise<number> {
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const queue = new Queue(noop.queue, { connection: { url: REDIS_URL }, prefix });
  await fill(
    queue,
    noop.name,
    Array.from({ length: NOOP_JOBS }, (_, n) => ({ n })),
    jobOptionsFor(noop),
  );
  let done = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const started = performance.now();
  const worker = createWorker(noop, () => Promise.resolve(), {
    connection: { url: REDIS_URL },
    prefix,
    logger,
    concurrency,
  });
  worker.onAttemptFinished(() => {
    done += 1;
    if (done === NOOP_JOBS) finish();
  });
  await finished;
  const seconds = (performance.now() - started) / 1_000;
  await worker.close();
  await queue.close();
  await deletePrefix(prefix);
  return NOOP_JOBS / seconds;
}

// --- SMTP sink (child process) -------------------------------------------------------------

function runSmtpSink() {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    logger: false,
    onData(stream, _session, callback) {
      stream.on('data', () => undefined);
      stream.on('end', () => callback(null));
    },
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.server.address();
    out(`SMTP_SINK_PORT=${typeof address === 'object' && address !== null ? address.port : 0}`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

async function startSmtpSink(): Promise<{ port: number; stop: () => void }> {
  const child = spawn(
    process.execPath,
    ['--conditions=@strata/source', '--import', 'tsx', __filename, 'smtp-sink'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const match = /SMTP_SINK_PORT=(\d+)/.exec(buffer);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`SMTP sink exited with ${code}`)));
  });
  return { port, stop: () => child.kill('SIGTERM') };
}

async function benchEmail(
  smtpPort: number,
  addressing: 'address' | 'user',
  concurrency: number,
): Promise<number> {
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const users = await startFakeUserServer();
  const userIds = Array.from({ length: 100 }, (_, index) =>
    users.addUser({ email: `user-${index}@example.com`, displayName: `User ${index}` }),
  );
  const config = loadConfig(notificationConfigSchema, {
    LOG_LEVEL: 'warn',
    REDIS_QUEUE_URL: REDIS_URL,
    QUEUE_PREFIX: prefix,
    USER_SERVICE_URL: users.target,
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    SMTP_MAX_CONNECTIONS: '10',
    MAIL_FROM: 'Strata <no-reply@strata.test>',
    PUBLIC_WEB_URL: 'https://strata.test',
    EMAIL_WORKER_CONCURRENCY: String(concurrency),
    ADMIN_HOST: '127.0.0.1',
    ADMIN_PORT: '0',
    METRICS_PORT: '0',
    ADMIN_TOKEN: randomUUID(),
  });
  const queue = new Queue(EMAIL_QUEUE, { connection: { url: REDIS_URL }, prefix });
  const payloads: EmailJobPayload[] = Array.from({ length: EMAIL_JOBS }, (_, index) => ({
    ...(addressing === 'address'
      ? { toEmail: `reader-${index}@example.com` }
      : { toUserId: userIds[index % userIds.length] }),
    template: 'comment-on-article',
    data: {
      articleTitle: `Article ${index}`,
      articleSlug: `article-${index}`,
      commentExcerpt: 'A thoughtful comment <with> "markup" & more.',
    },
    idempotencyKey: `bench:${index}`,
  }));
  await fill(queue, sendEmailJob.name, payloads, jobOptionsFor(sendEmailJob));

  const app = buildNotificationApp(config, logger);
  let done = 0;
  let failed = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const started = performance.now();
  await app.start();
  app.emailWorker.onAttemptFinished((event) => {
    if (event.status === 'failed') failed += 1;
    else done += 1;
    if (done === EMAIL_JOBS) finish();
  });
  await finished;
  const seconds = (performance.now() - started) / 1_000;
  await app.close();
  await queue.close();
  await users.close();
  await deletePrefix(prefix);
  if (failed > 0) out(`  (${failed} failed attempts)`);
  return EMAIL_JOBS / seconds;
}

async function main() {
  out(`# bench-jobs: ${cpus().length} CPU(s) ${cpus()[0]?.model ?? ''}, Node ${process.version}`);
  out(`Redis: ${REDIS_URL}`);
  out('');
  out(`## no-op jobs/s, one worker process (${NOOP_JOBS} jobs per run)`);
  out('| concurrency | jobs/s |');
  out('|---:|---:|');
  for (const concurrency of NOOP_CONCURRENCY) {
    out(`| ${concurrency} | ${Math.round(await benchNoop(concurrency))} |`);
  }
  out('');
  out(
    `## end-to-end email jobs/s, one worker process (${EMAIL_JOBS} jobs per run, SMTP sink in a child process)`,
  );
  out('| recipient | concurrency | jobs/s |');
  out('|---|---:|---:|');
  const sink = await startSmtpSink();
  try {
    for (const addressing of ['address', 'user'] as const) {
      for (const concurrency of [10, 50]) {
        const rate = await benchEmail(sink.port, addressing, concurrency);
        out(
          `| ${addressing === 'address' ? 'toEmail' : 'toUserId (gRPC lookup)'} | ${concurrency} | ${Math.round(rate)} |`,
        );
      }
    }
  } finally {
    sink.stop();
  }
}

if (process.argv[2] === 'smtp-sink') {
  runSmtpSink();
} else {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(
        `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
