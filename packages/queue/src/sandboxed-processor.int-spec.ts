import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, runWithContext } from '@strata/logger';
import { waitFor } from '@strata/testing';
import { createWorker, type ManagedWorker } from './job-worker';
import { createProducer, jobOptionsFor, type Producer } from './producer';
import {
  sandboxProbe,
  type SandboxProbePayload,
  type SandboxProbeReport,
} from './testing/sandbox-probe.job';
import { deletePrefix, testRedisConnection, uniquePrefix } from './testing/redis';

// Forking a child and loading TypeScript through tsx takes seconds, more on a loaded machine.
jest.setTimeout(120_000);
const SETTLE_TIMEOUT_MS = 60_000;

const connection = testRedisConnection();
const PROBE_FILE = join(__dirname, 'testing', 'sandbox-probe.processor.ts');

/** Whether `pid` is a running process (a zombie waiting to be reaped by its new parent is not). */
async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // `pid (comm) state …`: the state follows the last parenthesis.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

async function alive(pids: readonly number[]): Promise<number[]> {
  const states = await Promise.all(pids.map(isAlive));
  return pids.filter((_, index) => states[index]);
}

describe('sandboxed processors (TypeScript file, child processes, real Redis)', () => {
  let prefix: string;
  let producer: Producer;
  let workers: ManagedWorker[];
  let logDirectory: string;
  let logFile: string;
  const logger = createLogger({ name: 'sandbox-int', level: 'silent' });

  beforeEach(async () => {
    prefix = uniquePrefix();
    producer = createProducer({ connection, prefix, logger });
    workers = [];
    logDirectory = await mkdtemp(join(tmpdir(), 'sandbox-probe-'));
    logFile = join(logDirectory, 'probe.log');
  });

  afterEach(async () => {
    await Promise.all(workers.map((worker) => worker.close()));
    await producer.close();
    await deletePrefix(prefix);
    await rm(logDirectory, { recursive: true, force: true });
  });

  function startProbeWorker(concurrency = 1): ManagedWorker {
    const worker = createWorker(
      sandboxProbe,
      {
        file: PROBE_FILE,
        env: { SANDBOX_PROBE_VALUE: 'from-the-worker', SANDBOX_PROBE_LOG_FILE: logFile },
      },
      { connection, prefix, logger, concurrency },
    );
    workers.push(worker);
    return worker;
  }

  async function finished(jobId: string) {
    const queue = producer.queue(sandboxProbe.queue);
    await waitFor(
      async () => ['completed', 'failed'].includes(await queue.getJobState(jobId)),
      SETTLE_TIMEOUT_MS,
      50,
    );
    const job = await queue.getJob(jobId);
    if (!job) throw new Error(`job ${jobId} vanished`);
    return { job, state: await queue.getJobState(jobId) };
  }

  /** Adds a job without the producer's validation (to reach the sandbox's own). */
  function addUnchecked(data: Record<string, unknown>): Promise<string> {
    return producer.addRaw(
      sandboxProbe.queue,
      sandboxProbe.name,
      data,
      jobOptionsFor(sandboxProbe),
    );
  }

  it('runs in another process, in the request context of the producer, with the env it was given, and logs with the request id', async () => {
    startProbeWorker();
    const jobId = await runWithContext({ requestId: 'req-sandbox-1' }, () =>
      producer.add(sandboxProbe, { action: 'report' }),
    );
    const { job, state } = await finished(jobId);
    expect(state).toBe('completed');
    const report = job.returnvalue as SandboxProbeReport;
    expect(report).toEqual({
      pid: expect.any(Number) as number,
      threadId: 0,
      requestId: 'req-sandbox-1',
      attempt: 1,
      probeValue: 'from-the-worker',
    });
    expect(report.pid).not.toBe(process.pid);

    const lines = (await readFile(logFile, 'utf8'))
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: 'probe ran',
        requestId: 'req-sandbox-1',
        pid: report.pid,
        queue: 'sandbox-probe',
        jobId,
      }),
    );
  });

  it('validates the payload in the sandbox and fails an invalid one, or a PermanentJobError, without retrying', async () => {
    startProbeWorker();
    const invalid = await finished(await addUnchecked({ action: 'dance' }));
    expect(invalid.state).toBe('failed');
    expect(invalid.job.attemptsMade).toBe(1);
    expect(invalid.job.failedReason).toMatch(/InvalidJobPayloadError: .*action must be one of/);

    const permanent = await finished(await producer.add(sandboxProbe, { action: 'permanent' }));
    expect(permanent.state).toBe('failed');
    expect(permanent.job.attemptsMade).toBe(1);
    expect(permanent.job.failedReason).toBe('PermanentJobError: this probe never works');
  });

  it('a sandbox that exits or throws fails the attempt, is retried, and the worker keeps going', async () => {
    const worker = startProbeWorker();
    const add = (payload: SandboxProbePayload) => producer.add(sandboxProbe, payload);
    const exited = await finished(await add({ action: 'exit' }));
    expect(exited.state).toBe('failed');
    expect(exited.job.attemptsMade).toBe(2); // retried once (attempts: 2), both ended by the exit
    expect(exited.job.failedReason).toMatch(/Unexpected exit code: 3/);

    const thrown = await finished(await add({ action: 'throw' }));
    expect(thrown.state).toBe('failed');
    expect(thrown.job.attemptsMade).toBe(2);
    expect(thrown.job.failedReason).toBe('transient failure in the sandbox');

    // The worker survived both: it still consumes, in a fresh child.
    const after = await finished(await add({ action: 'report' }));
    expect(after.state).toBe('completed');
    expect(worker.current.isRunning()).toBe(true);
  });

  it('a sandbox that exits while loading fails the attempt instead of hanging the job and close()', async () => {
    const worker = createWorker(
      sandboxProbe,
      { file: join(__dirname, 'testing', 'exit-on-import.processor.ts') },
      { connection, prefix, logger },
    );
    workers.push(worker);
    // BullMQ logs the failed init with console.error; the assertions below are on the job.
    const consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const { job, state } = await finished(await producer.add(sandboxProbe, { action: 'report' }));
      expect(state).toBe('failed');
      expect(job.attemptsMade).toBe(2);
      expect(job.failedReason).toMatch(/sandbox exited while loading .*exit code 78/);
      const started = Date.now();
      await worker.close();
      // Without the guard the job never ends and close() runs into closeTimeoutMs (25 s).
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      consoleError.mockRestore();
    }
  });

  it('close() stops the sandbox children', async () => {
    const worker = startProbeWorker(2);
    const ids = await Promise.all([
      producer.add(sandboxProbe, { action: 'report' }),
      producer.add(sandboxProbe, { action: 'report' }),
    ]);
    const pids = await Promise.all(
      ids.map(async (id) => ((await finished(id)).job.returnvalue as SandboxProbeReport).pid),
    );
    expect(await alive(pids)).toEqual(pids); // kept for the next job
    await worker.close();
    expect(await alive(pids)).toEqual([]);
  });

  describe('when the worker is its own process', () => {
    let child: ChildProcess | undefined;

    afterEach(async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child!.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
      child = undefined;
    });

    async function startWorkerProcess() {
      const started = spawn(
        process.execPath,
        [
          '--conditions=@strata/source',
          '--import',
          'tsx',
          join(__dirname, 'testing', 'sandbox-worker-process.ts'),
        ],
        {
          env: {
            ...process.env,
            CHILD_PREFIX: prefix,
            ...(connection.url ? { CHILD_REDIS_URL: connection.url } : {}),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      child = started;
      let output = '';
      started.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      started.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      await waitFor(
        () => output.includes('READY') || started.exitCode !== null,
        SETTLE_TIMEOUT_MS,
        50,
      );
      expect(output).toContain('READY');
      const report = await finished(await producer.add(sandboxProbe, { action: 'report' }));
      expect(report.state).toBe('completed');
      const sandboxPid = (report.job.returnvalue as SandboxProbeReport).pid;
      expect(sandboxPid).not.toBe(started.pid);
      return { process: started, sandboxPid, output: () => output };
    }

    it('SIGTERM: the worker closes, its sandbox child is stopped, and it exits 0', async () => {
      const worker = await startWorkerProcess();
      expect(await isAlive(worker.sandboxPid)).toBe(true);
      const exited = new Promise<number | null>((resolve) => worker.process.once('exit', resolve));
      worker.process.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(await isAlive(worker.sandboxPid)).toBe(false);
    });

    it('a worker process killed outright does not leave its sandbox child behind', async () => {
      const worker = await startWorkerProcess();
      const exited = new Promise((resolve) => worker.process.once('exit', resolve));
      worker.process.kill('SIGKILL');
      await exited;
      // The child holds an open handle (as a pool would): only the kit's exit on disconnect ends it.
      await waitFor(async () => !(await isAlive(worker.sandboxPid)), 10_000, 50);
    });
  });
});
