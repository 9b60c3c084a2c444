import { EventEmitter } from 'node:events';
import { captureLogs, createLogger, type CapturedLogs } from '@strata/logger';
import { runProcess, type ProcessLogger, type Runnable } from './run-process';

/** A controllable app: counts closes, can fail either step. */
function fakeApp<T>(
  start: () => Promise<T> | T,
  close: () => Promise<void> = () => Promise.resolve(),
) {
  const calls = { start: 0, close: 0 };
  const app: Runnable<T> = {
    start: () => {
      calls.start += 1;
      return start();
    },
    close: () => {
      calls.close += 1;
      return close();
    },
  };
  return { app, calls };
}

function harness() {
  const host = new EventEmitter();
  const exits: number[] = [];
  const logs: CapturedLogs = captureLogs();
  const logger = createLogger({ name: 'runtime-test', destination: logs.stream });
  const messages = () => logs.lines().map((line) => line['msg']);
  return { host, exits, exit: (code: number) => exits.push(code), logs, logger, messages };
}

/** Lets pending promise callbacks run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('runProcess', () => {
  it('announces readiness with the fields start() resolved to, then stops cleanly on SIGTERM', async () => {
    const { host, exits, exit, logs, logger, messages } = harness();
    const { app, calls } = fakeApp(() => Promise.resolve({ port: 4321 }));
    const ready: unknown[] = [];

    const exited = runProcess({
      logger,
      app,
      readyMessage: 'demo ready',
      onReady: (started) => ready.push(started),
      process: host,
      exit,
    });
    await settle();

    expect(logs.lines()).toContainEqual(
      expect.objectContaining({ msg: 'demo ready', port: 4321, level: 'info' }),
    );
    expect(ready).toEqual([{ port: 4321 }]);
    expect(calls.close).toBe(0);
    expect(exits).toEqual([]);

    host.emit('SIGTERM', 'SIGTERM');

    expect(await exited).toBe(0);
    expect(exits).toEqual([0]);
    expect(calls).toEqual({ start: 1, close: 1 });
    expect(messages()).toEqual(['demo ready', 'shutting down', 'stopped']);
    expect(logs.lines()[1]).toMatchObject({ signal: 'SIGTERM' });
  });

  it('closes once and exits once when both signals (and a crash) arrive during shutdown', async () => {
    const { host, exits, exit, logger } = harness();
    let finishClose: () => void = () => undefined;
    const { app, calls } = fakeApp(
      () => undefined,
      () => new Promise<void>((resolve) => (finishClose = resolve)),
    );

    const exited = runProcess({ logger, app, process: host, exit });
    await settle();
    host.emit('SIGINT', 'SIGINT');
    host.emit('SIGTERM', 'SIGTERM');
    host.emit('uncaughtException', new Error('late'));
    finishClose();

    // The first reason decides the code.
    expect(await exited).toBe(0);
    expect(exits).toEqual([0]);
    expect(calls.close).toBe(1);
  });

  it('logs a failed start as fatal, closes what was built and exits 1', async () => {
    const { host, exits, exit, logs, logger } = harness();
    const { app, calls } = fakeApp(() => Promise.reject(new Error('port in use')));

    const exitCode = await runProcess({ logger, app, readyMessage: 'never', process: host, exit });

    expect(exitCode).toBe(1);
    expect(exits).toEqual([1]);
    expect(calls.close).toBe(1);
    expect(logs.lines().find((line) => line['msg'] === 'failed to start')).toMatchObject({
      level: 'fatal',
      err: { message: 'port in use' },
    });
    expect(logs.text()).not.toContain('never');
  });

  it('treats a synchronous throw from start() as a failed start', async () => {
    const { host, exits, exit, logger } = harness();
    const { app } = fakeApp(() => {
      throw new Error('bad wiring');
    });

    expect(await runProcess({ logger, app, process: host, exit })).toBe(1);
    expect(exits).toEqual([1]);
  });

  it('exits 1 when close() fails, after logging why', async () => {
    const { host, exits, exit, logs, logger } = harness();
    const { app } = fakeApp(
      () => undefined,
      () => Promise.reject(new Error('pool stuck')),
    );

    const exited = runProcess({ logger, app, process: host, exit });
    await settle();
    host.emit('SIGTERM', 'SIGTERM');

    expect(await exited).toBe(1);
    expect(exits).toEqual([1]);
    expect(logs.lines().find((line) => line['msg'] === 'shutdown failed')).toMatchObject({
      level: 'error',
      err: { message: 'pool stuck' },
    });
  });

  it.each([
    ['uncaughtException', 'uncaught exception, shutting down'],
    ['unhandledRejection', 'unhandled rejection, shutting down'],
  ])('logs %s as fatal, stops the app and exits 1', async (event, message) => {
    const { host, exits, exit, logs, logger } = harness();
    const { app, calls } = fakeApp(() => undefined);

    const exited = runProcess({ logger, app, process: host, exit });
    await settle();
    host.emit(event, new Error('boom'));

    expect(await exited).toBe(1);
    expect(exits).toEqual([1]);
    expect(calls.close).toBe(1);
    expect(logs.lines().find((line) => line['msg'] === message)).toMatchObject({
      level: 'fatal',
      err: { message: 'boom' },
    });
  });

  it('does not announce readiness when a signal arrived while starting', async () => {
    const { host, exits, exit, logs, logger } = harness();
    let finishStart: () => void = () => undefined;
    const { app, calls } = fakeApp(() => new Promise<void>((resolve) => (finishStart = resolve)));
    const ready: unknown[] = [];

    const exited = runProcess({
      logger,
      app,
      readyMessage: 'ready',
      onReady: () => ready.push(1),
      process: host,
      exit,
    });
    await settle();
    host.emit('SIGTERM', 'SIGTERM');
    finishStart();

    expect(await exited).toBe(0);
    expect(exits).toEqual([0]);
    expect(calls.close).toBe(1);
    expect(ready).toEqual([]);
    expect(logs.lines().map((line) => line['msg'])).not.toContain('ready');
  });

  it('exits only after the log has flushed', async () => {
    const host = new EventEmitter();
    const exits: number[] = [];
    const flushes: Array<() => void> = [];
    const logger: ProcessLogger = Object.assign(
      createLogger({ name: 'runtime-test', level: 'silent' }),
      {
        flush: (callback?: (error?: Error) => void) => void flushes.push(() => callback?.()),
      },
    );
    const { app } = fakeApp(() => undefined);

    const exited = runProcess({ logger, app, process: host, exit: (code) => exits.push(code) });
    await settle();
    host.emit('SIGTERM', 'SIGTERM');
    await settle();

    expect(flushes).toHaveLength(1);
    expect(exits).toEqual([]);
    flushes[0]();
    expect(await exited).toBe(0);
    expect(exits).toEqual([0]);
  });

  it('exits anyway when the log does not flush within flushTimeoutMs', async () => {
    const host = new EventEmitter();
    const exits: number[] = [];
    const logger: ProcessLogger = Object.assign(
      createLogger({ name: 'runtime-test', level: 'silent' }),
      {
        flush: () => undefined, // never calls back
      },
    );
    const { app } = fakeApp(() => undefined);

    const exited = runProcess({
      logger,
      app,
      process: host,
      exit: (code) => exits.push(code),
      flushTimeoutMs: 20,
    });
    await settle();
    const stoppedAt = Date.now();
    host.emit('SIGINT', 'SIGINT');

    expect(await exited).toBe(0);
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(15);
    expect(exits).toEqual([0]);
  });

  it('listens only while running: its listeners are gone after exit', async () => {
    const { host, exit, logger } = harness();
    const { app } = fakeApp(() => undefined);
    const events = ['SIGTERM', 'SIGINT', 'uncaughtException', 'unhandledRejection'];

    const exited = runProcess({ logger, app, process: host, exit });
    expect(events.map((event) => host.listenerCount(event))).toEqual([1, 1, 1, 1]);
    host.emit('SIGTERM', 'SIGTERM');
    await exited;

    expect(events.map((event) => host.listenerCount(event))).toEqual([0, 0, 0, 0]);
  });
});
