import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { type EmailJobPayload } from '@strata/jobs';
import { waitFor } from '@strata/testing';
import { startHarness, type Harness } from '../testing/notification.harness';
import { smtpReply } from '../testing/smtp-test.server';
import { type FailedJobRecord } from './failed-jobs';
import { runOpsCommand } from './ops.command';

jest.setTimeout(60_000);

const SERVICE_DIR = path.join(__dirname, '..', '..');

function sink() {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  return { stream, text: () => text };
}

function email(index: number): EmailJobPayload {
  return {
    toEmail: `reader-${index}@example.com`,
    template: 'email-verification',
    data: { token: `token-${index}` },
    idempotencyKey: `ops-test:${randomUUID()}`,
  };
}

describe('operations CLI', () => {
  let harness: Harness;
  let directory: string;
  // The SMTP server refuses every recipient while this is true.
  const smtpState = { refuse: true };

  beforeEach(async () => {
    smtpState.refuse = true;
    harness = await startHarness({
      smtp: {
        onRecipient: () => (smtpState.refuse ? smtpReply(550, 'mailbox unavailable') : undefined),
      },
    });
    directory = await mkdtemp(path.join(tmpdir(), 'queue-ops-'));
  });

  afterEach(async () => {
    await harness.close();
    await rm(directory, { recursive: true, force: true });
  });

  async function failJobs(count: number): Promise<string[]> {
    const ids = await Promise.all(
      Array.from({ length: count }, (_, index) => harness.add(email(index))),
    );
    for (const id of ids) expect(await (await harness.settled(id)).getState()).toBe('failed');
    return ids;
  }

  async function run(...argv: string[]) {
    const stdout = sink();
    const stderr = sink();
    const code = await runOpsCommand(argv, {
      config: { REDIS_QUEUE_URL: harness.redis.url, QUEUE_PREFIX: harness.redis.queuePrefix },
      stdout: stdout.stream,
      stderr: stderr.stream,
      logger: harness.logger,
      now: () => new Date('2026-11-27T10:00:00Z'),
    });
    return { code, stdout: stdout.text(), stderr: stderr.text() };
  }

  it('lists failed jobs as a table or JSON', async () => {
    const ids = await failJobs(3);
    const listed = await run('list-failed', 'email');
    expect(listed.code).toBe(0);
    for (const id of ids)
      expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+send-email\\s+1\\s+\\S+\\s+.*550`, 'm'));
    expect(listed.stdout).toContain('3 of 3 failed job(s) in email');

    const limited = await run('list-failed', 'email', '--limit', '2', '--json');
    const document = JSON.parse(limited.stdout) as { total: number; jobs: FailedJobRecord[] };
    expect(document.total).toBe(3);
    expect(document.jobs).toHaveLength(2);
    expect(document.jobs[0]).toMatchObject({ name: 'send-email', queue: 'email', attemptsMade: 1 });
  });

  it('retries every failed job with a progress bar, and they get delivered', async () => {
    const ids = await failJobs(5);
    expect((await run('retry-failed', 'email', '--dry-run')).stdout).toContain(
      '5 failed job(s) would be touched',
    );
    expect(await harness.queue.getFailedCount()).toBe(5);

    smtpState.refuse = false;
    const retried = await run('retry-failed', 'email');
    expect(retried.code).toBe(0);
    expect(retried.stdout).toContain('retried in email: 5 done, 0 skipped');
    expect(retried.stderr).toContain(`retry-failed email [${'#'.repeat(30)}] 5/5 100%`);
    expect(retried.stderr).toContain('retry-failed email [');
    await waitFor(async () => (await harness.queue.getCompletedCount()) === 5, 20_000);
    expect(await harness.queue.getFailedCount()).toBe(0);
    expect(harness.smtp.messages).toHaveLength(5);
    // A fresh set of attempts: the retried jobs completed on their first new attempt.
    for (const id of ids) expect((await harness.queue.getJob(id))?.attemptsMade).toBe(1);
  });

  it('moves failed jobs aside: exported to a file, then removed from Redis', async () => {
    const ids = await failJobs(4);
    const file = path.join(directory, 'email-dead.json');
    const moved = await run('move-aside', 'email', '--out', file);
    expect(moved.code).toBe(0);
    expect(moved.stdout).toContain(`exported 4 job(s) to ${file}`);
    expect(moved.stdout).toContain('removed from email: 4 done, 0 skipped');
    expect(moved.stderr).toContain('move-aside email [');

    const exported = JSON.parse(await readFile(file, 'utf8')) as FailedJobRecord[];
    expect(exported.map((record) => record.id).sort()).toEqual([...ids].sort());
    expect(exported[0]).toMatchObject({ name: 'send-email', attemptsMade: 1 });
    expect(exported[0].failedReason).toMatch(/550/);
    expect((exported[0].data as EmailJobPayload).template).toBe('email-verification');
    expect(await harness.queue.getFailedCount()).toBe(0);
    for (const id of ids) expect(await harness.queue.getJob(id)).toBeUndefined();

    // An export is never overwritten.
    await failJobs(1);
    const again = await run('move-aside', 'email', '--out', file);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/move-aside email failed: EEXIST/);
    expect(await harness.queue.getFailedCount()).toBe(1);
  });

  it('answers usage errors with exit code 2', async () => {
    expect((await run('list-failed')).code).toBe(2);
    expect((await run('explode', 'email')).code).toBe(2);
    expect((await run('list-failed', 'email', '--limit', 'x')).code).toBe(2);
    expect((await run('list-failed', 'email', '--bogus')).code).toBe(2);
  });

  it('runs as the npm script entry point', async () => {
    await failJobs(2);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=@strata/source', '--import', 'tsx', 'src/ops-cli.ts', 'list-failed', 'email'],
      {
        cwd: SERVICE_DIR,
        env: {
          PATH: process.env['PATH'],
          REDIS_QUEUE_URL: harness.redis.url,
          QUEUE_PREFIX: harness.redis.queuePrefix,
        },
      },
    );
    expect(stdout).toContain('2 of 2 failed job(s) in email');

    const missing = await promisify(execFile)(
      process.execPath,
      ['--conditions=@strata/source', '--import', 'tsx', 'src/ops-cli.ts', 'list-failed', 'email'],
      { cwd: SERVICE_DIR, env: { PATH: process.env['PATH'] } },
    ).catch((error: unknown) => error as { code: number; stderr: string });
    expect(missing).toMatchObject({ code: 78 });
    expect((missing as { stderr: string }).stderr).toMatch(/REDIS_QUEUE_URL: is required/);
  });
});
