// Processors are async by contract; in these tests most have nothing to await.
/* eslint-disable @typescript-eslint/require-await */
import { getEventListeners, getMaxListeners } from 'node:events';
import { type Job, UnrecoverableError } from 'bullmq';
import { captureLogs, createLogger, currentContext, runWithContext } from '@strata/logger';
import { PermanentJobError } from './errors';
import { captureContext, fromJobData, toJobData } from './job-context';
import { defineJob } from './job-definition';
import { groupJobData } from './job-group';
import { sandboxExecArgv, wrapProcessor } from './job-worker';

const logger = createLogger({ name: 'queue-test', destination: captureLogs().stream });
const greet = defineJob<{ name: string }>({
  queue: 'greetings',
  name: 'greet',
  schema: (input) => {
    const name = (input as { name?: unknown }).name;
    if (typeof name !== 'string') throw new Error('name must be a string');
    return { name };
  },
});

function fakeJob(data: unknown, overrides: Partial<Job> = {}): Job {
  return {
    id: 'job-1',
    name: 'greet',
    queueName: 'greetings',
    data,
    attemptsMade: 0,
    opts: { attempts: 3 },
    ...overrides,
  } as Job;
}

describe('job context', () => {
  it('travels in job data and comes back validated', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const data = runWithContext({ requestId: 'req-7', traceparent }, () =>
      toJobData({ name: 'Ada' }, captureContext()),
    );
    expect(data).toEqual({ name: 'Ada', _context: { requestId: 'req-7', traceparent } });
    expect(fromJobData(data)).toEqual({
      payload: { name: 'Ada' },
      context: { requestId: 'req-7', traceparent },
    });
  });

  it('replaces a forged or missing request id with a fresh one', () => {
    const forged = fromJobData({ name: 'x', _context: { requestId: 'a\n{"level":"fatal"}' } });
    expect(forged.payload).toEqual({ name: 'x' });
    expect(forged.context.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(fromJobData({ name: 'x' }).context.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('wrapProcessor', () => {
  it('runs the processor with the typed payload inside the stored request context', async () => {
    const seen: Array<{ requestId: string | undefined; name: string; key: string }> = [];
    const wrapped = wrapProcessor(
      greet,
      async (payload, context) => {
        seen.push({
          requestId: currentContext()?.requestId,
          name: payload.name,
          key: context.idempotencyKey,
        });
        return `hello ${payload.name}`;
      },
      logger,
    );
    await expect(wrapped(fakeJob({ name: 'Ada', _context: { requestId: 'req-9' } }))).resolves.toBe(
      'hello Ada',
    );
    expect(seen).toEqual([{ requestId: 'req-9', name: 'Ada', key: 'job-1' }]);
  });

  it('turns an invalid payload into an UnrecoverableError without calling the processor', async () => {
    const processor = jest.fn(async () => 'never');
    const error = await wrapProcessor(
      greet,
      processor,
      logger,
    )(fakeJob({ name: 42 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toMatch(/name must be a string/);
    expect(processor).not.toHaveBeenCalled();
  });

  it('turns PermanentJobError into UnrecoverableError and lets other errors through', async () => {
    const permanent = wrapProcessor(
      greet,
      async () => {
        throw new PermanentJobError('address does not exist');
      },
      logger,
    );
    const transient = wrapProcessor(
      greet,
      async () => {
        throw new Error('SMTP 451');
      },
      logger,
    );
    const permanentError = await permanent(fakeJob({ name: 'a' })).catch((e: unknown) => e);
    expect(permanentError).toBeInstanceOf(UnrecoverableError);
    expect((permanentError as Error).message).toMatch(/address does not exist/);
    const transientError = await transient(fakeJob({ name: 'a' })).catch((e: unknown) => e);
    expect(transientError).not.toBeInstanceOf(UnrecoverableError);
    expect((transientError as Error).message).toBe('SMTP 451');
  });

  it('fails a job of another name on the same queue permanently', async () => {
    const error = await wrapProcessor(
      greet,
      async () => 'x',
      logger,
    )(fakeJob({ name: 'a' }, { name: 'other' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnrecoverableError);
  });
});

describe('wrapProcessor with a grouped job', () => {
  const greetInGroups = defineJob<{ name: string }>({
    queue: 'greetings',
    name: 'greet',
    schema: greet.schema,
    grouping: { maxItems: 10 },
  });
  const item = (id: string, name: string, requestId: string) => ({
    id,
    data: { name, _context: { requestId } },
  });

  /** A job whose updateData is recorded (what a retry would run). */
  function groupJob(items: ReadonlyArray<ReturnType<typeof item>>) {
    const updates: unknown[] = [];
    const job = fakeJob(groupJobData(items), {
      id: 'group-abc',
      updateData: async (data: unknown) => {
        updates.push(data);
      },
    } as Partial<Job>);
    return { job, updates };
  }

  it('runs the processor once per item, each in its own context and with its own key', async () => {
    const seen: Array<{ requestId: string | undefined; name: string; key: string; jobId: string }> =
      [];
    const wrapped = wrapProcessor(
      greetInGroups,
      async (payload, context) => {
        seen.push({
          requestId: currentContext()?.requestId,
          name: payload.name,
          key: context.idempotencyKey,
          jobId: context.jobId,
        });
        return `hello ${payload.name}`;
      },
      logger,
    );
    const { job, updates } = groupJob([
      item('row-1', 'Ada', 'req-1'),
      item('row-2', 'Bo', 'req-2'),
    ]);
    await expect(wrapped(job)).resolves.toEqual(['hello Ada', 'hello Bo']);
    expect(seen).toEqual([
      { requestId: 'req-1', name: 'Ada', key: 'row-1', jobId: 'group-abc' },
      { requestId: 'req-2', name: 'Bo', key: 'row-2', jobId: 'group-abc' },
    ]);
    expect(updates).toEqual([]);
  });

  it('tells the processor it runs in a group, and runs at most grouping.concurrency items at once', async () => {
    const twoAtATime = defineJob<{ name: string }>({
      queue: 'greetings',
      name: 'greet',
      grouping: { maxItems: 10, concurrency: 2 },
    });
    let running = 0;
    let mostAtOnce = 0;
    const inGroup: boolean[] = [];
    const wrapped = wrapProcessor(
      twoAtATime,
      async (payload, context) => {
        inGroup.push(context.inGroup);
        running += 1;
        mostAtOnce = Math.max(mostAtOnce, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running -= 1;
        return payload.name;
      },
      logger,
    );
    const names = ['a', 'b', 'c', 'd', 'e'];
    const { job } = groupJob(names.map((name, index) => item(`row-${index}`, name, `r${index}`)));
    await expect(wrapped(job)).resolves.toEqual(names);
    expect(mostAtOnce).toBe(2);
    expect(inGroup).toEqual([true, true, true, true, true]);
    await wrapped(fakeJob({ name: 'solo' }));
    expect(inGroup[5]).toBe(false);
  });

  it('lets every running item of a group listen on the job signal without a leak warning', async () => {
    const twentyItems = defineJob<{ name: string }>({
      queue: 'greetings',
      name: 'greet',
      grouping: { maxItems: 20 },
    });
    const signal = new AbortController().signal;
    let mostListeners = 0;
    const wrapped = wrapProcessor(
      twentyItems,
      async (payload, context) => {
        // What a provider call does with the signal while it waits.
        const onAbort = () => undefined;
        context.signal?.addEventListener('abort', onAbort, { once: true });
        mostListeners = Math.max(mostListeners, getEventListeners(signal, 'abort').length);
        await new Promise((resolve) => setTimeout(resolve, 5));
        context.signal?.removeEventListener('abort', onAbort);
        return payload.name;
      },
      logger,
    );
    const names = Array.from({ length: 20 }, (_, index) => `n${index}`);
    const { job } = groupJob(names.map((name, index) => item(`row-${index}`, name, `r${index}`)));
    await expect(wrapped(job, 'token', signal)).resolves.toEqual(names);
    expect(mostListeners).toBe(20);
    // Node warns of a leak ("MaxListenersExceededWarning") past this limit.
    expect(getMaxListeners(signal)).toBeGreaterThanOrEqual(mostListeners);
  });

  it('narrows the job to the items that failed, so that a retry runs only them', async () => {
    const ran: string[] = [];
    const wrapped = wrapProcessor(
      greetInGroups,
      async (payload) => {
        ran.push(payload.name);
        if (payload.name === 'Bo') throw new Error('provider timeout');
        return 'ok';
      },
      logger,
    );
    const items = [
      item('row-1', 'Ada', 'r1'),
      item('row-2', 'Bo', 'r2'),
      item('row-3', 'Cy', 'r3'),
    ];
    const { job, updates } = groupJob(items);
    const error = await wrapped(job).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toMatch(
      /1 of 3 grouped items failed, first: provider timeout/,
    );
    expect(ran.sort()).toEqual(['Ada', 'Bo', 'Cy']);
    expect(updates).toEqual([groupJobData([items[1]])]);
  });

  it('fails permanently only when every failed item failed permanently', async () => {
    const wrapped = wrapProcessor(
      greetInGroups,
      async (payload) => {
        if (payload.name === 'gone') throw new PermanentJobError('payment does not exist');
        if (payload.name === 'slow') throw new Error('timeout');
        return 'ok';
      },
      logger,
    );
    const permanent = groupJob([item('a', 'gone', 'r1'), item('b', 'fine', 'r2')]);
    const permanentError = await wrapped(permanent.job).catch((e: unknown) => e);
    expect(permanentError).toBeInstanceOf(UnrecoverableError);
    expect(permanent.updates).toEqual([groupJobData([item('a', 'gone', 'r1')])]);

    const mixed = groupJob([item('a', 'gone', 'r1'), item('b', 'slow', 'r2')]);
    const mixedError = await wrapped(mixed.job).catch((e: unknown) => e);
    expect(mixedError).not.toBeInstanceOf(UnrecoverableError);
    expect((mixedError as Error).message).toMatch(/2 of 2 grouped items failed/);
    expect(mixed.updates).toEqual([]);
  });

  it('fails an invalid item alone, and a malformed group permanently', async () => {
    const processor = jest.fn(async () => 'ok');
    const wrapped = wrapProcessor(greetInGroups, processor, logger);
    const invalidItem = groupJob([item('a', 'Ada', 'r1'), { id: 'b', data: { name: 7 } } as never]);
    await expect(wrapped(invalidItem.job)).rejects.toBeInstanceOf(UnrecoverableError);
    expect(processor).toHaveBeenCalledTimes(1);

    for (const data of [{ _group: [] }, { _group: [{ id: 'x' }] }, { _group: 'x' }]) {
      const error = await wrapped(fakeJob(data)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnrecoverableError);
      expect((error as Error).message).toMatch(/_group/);
    }
    expect(processor).toHaveBeenCalledTimes(1);
  });

  it('never unpacks a group for a definition that does not set grouping', async () => {
    const processor = jest.fn(async () => 'ok');
    const error = await wrapProcessor(
      greet,
      processor,
      logger,
    )(groupJob([item('a', 'Ada', 'r1')]).job).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toMatch(/reserved for grouped jobs/);
    expect(processor).not.toHaveBeenCalled();
  });
});

describe('sandboxExecArgv', () => {
  it("keeps BullMQ's default (the parent's flags) for a built JavaScript file", () => {
    expect(sandboxExecArgv('/app/dist/media/media.sandbox.js', ['--max-old-space-size=512'])).toBe(
      undefined,
    );
  });

  it('gives a TypeScript file tsx and the source condition, once, and no debugger flags', () => {
    expect(
      sandboxExecArgv('/repo/src/render.sandbox.ts', ['--inspect=9229', '--enable-source-maps']),
    ).toEqual(['--enable-source-maps', '--conditions=@strata/source', '--import', 'tsx']);
    for (const parent of [
      ['--conditions=@strata/source', '--import', 'tsx'],
      ['-C', '@strata/source', '--import=tsx'],
    ]) {
      expect(sandboxExecArgv('/repo/src/render.sandbox.ts', parent)).toEqual(parent);
    }
  });
});
