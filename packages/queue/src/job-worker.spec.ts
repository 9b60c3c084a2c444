// Processors are async by contract; in these tests most have nothing to await.
/* eslint-disable @typescript-eslint/require-await */
import { type Job, UnrecoverableError } from 'bullmq';
import { captureLogs, createLogger, currentContext, runWithContext } from '@strata/logger';
import { PermanentJobError } from './errors';
import { captureContext, fromJobData, toJobData } from './job-context';
import { defineJob } from './job-definition';
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
