import { type Logger } from '@strata/logger';

/** What an entry point runs: a built app or worker. `start` may return synchronously. */
export interface Runnable<TStarted = unknown> {
  /** Opens listeners and consumers; a rejection (or throw) means the process cannot serve. */
  start(): Promise<TStarted> | TStarted;
  /** Closes everything `start` (and the build) opened, in reverse order. Called at most once. */
  close(): Promise<void>;
}

/** The logger methods {@link runProcess} uses (a `@strata/logger` logger has them). */
export type ProcessLogger = Pick<Logger, 'info' | 'error' | 'fatal' | 'flush'>;

/** The parts of Node's `process` that {@link runProcess} listens to; tests pass an EventEmitter. */
export interface ProcessEvents {
  once(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  on(
    event: 'uncaughtException' | 'unhandledRejection',
    listener: (error: unknown) => void,
  ): unknown;
  off(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(
    event: 'uncaughtException' | 'unhandledRejection',
    listener: (error: unknown) => void,
  ): unknown;
}

export interface RunProcessOptions<TStarted> {
  readonly logger: ProcessLogger;
  readonly app: Runnable<TStarted>;
  /**
   * Logged at `info` once `start` resolves. When `start` resolves to an object (e.g. `{ port }`),
   * its fields go on the same line.
   */
  readonly readyMessage?: string;
  /** Called once `start` resolves (after `readyMessage`); a throw counts as a failed start. */
  readonly onReady?: (started: TStarted) => void;
  /** Signals that stop the process. Default `SIGTERM` and `SIGINT`. */
  readonly signals?: readonly NodeJS.Signals[];
  /** Where signals and crashes come from. Default: Node's `process` (tests inject an emitter). */
  readonly process?: ProcessEvents;
  /** How the process ends. Default: `process.exit` (tests inject a recorder). */
  readonly exit?: (code: number) => void;
  /** Longest wait for the log to flush before exiting anyway. Default 2 000 ms. */
  readonly flushTimeoutMs?: number;
}

export const DEFAULT_STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
const DEFAULT_FLUSH_TIMEOUT_MS = 2_000;

/** Exit codes: 0 after a clean stop, 1 when start, shutdown or the process itself failed. */
export const EXIT_CODE = { OK: 0, FAILURE: 1 } as const;

/**
 * Runs an entry point's app or worker for the life of the process: starts it, and stops it once,
 * on the first stop signal (SIGTERM/SIGINT), a failed start, an uncaught exception or an
 * unhandled rejection. Stopping closes the app, flushes the (asynchronous) pino log so that the
 * last lines are not lost, then exits: 0 after a clean stop on a signal, 1 when start or close
 * failed or the process crashed.
 *
 * Each signal is handled once: sending the same one again while the app drains falls back to
 * Node's default (the process is killed), so a second Ctrl-C still gets out of a stuck shutdown.
 *
 * The returned promise resolves with the exit code after `exit` was called, which only happens
 * when `exit` is injected (tests); with `process.exit` the process ends first.
 *
 * @example
 * ```ts
 * const config = loadConfigOrExit(userServiceConfigSchema, SERVICE_NAME);
 * const logger = createLogger({ name: SERVICE_NAME, level: config.LOG_LEVEL });
 * void runProcess({ logger, app: buildApp(config, logger), readyMessage: 'user service ready' });
 * ```
 */
export function runProcess<TStarted>(options: RunProcessOptions<TStarted>): Promise<number> {
  const { logger, app } = options;
  const host: ProcessEvents = options.process ?? process;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? DEFAULT_STOP_SIGNALS;
  const flushTimeoutMs = options.flushTimeoutMs ?? DEFAULT_FLUSH_TIMEOUT_MS;

  let reportExit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => (reportExit = resolve));
  let stopping: Promise<void> | undefined;
  const stop = (code: number): Promise<void> => {
    stopping ??= (async () => {
      let exitCode = code;
      try {
        await app.close();
      } catch (error) {
        logger.error({ err: error }, 'shutdown failed');
        exitCode = EXIT_CODE.FAILURE;
      }
      logger.info({ exitCode }, 'stopped');
      await flushLog(logger, flushTimeoutMs);
      removeListeners();
      exit(exitCode);
      reportExit(exitCode);
    })();
    return stopping;
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'shutting down');
    void stop(EXIT_CODE.OK);
  };
  const onUncaughtException = (error: unknown): void => {
    logger.fatal({ err: error }, 'uncaught exception, shutting down');
    void stop(EXIT_CODE.FAILURE);
  };
  const onUnhandledRejection = (reason: unknown): void => {
    logger.fatal({ err: reason }, 'unhandled rejection, shutting down');
    void stop(EXIT_CODE.FAILURE);
  };
  const removeListeners = (): void => {
    for (const signal of signals) host.off(signal, onSignal);
    host.off('uncaughtException', onUncaughtException);
    host.off('unhandledRejection', onUnhandledRejection);
  };

  for (const signal of signals) host.once(signal, onSignal);
  host.on('uncaughtException', onUncaughtException);
  host.on('unhandledRejection', onUnhandledRejection);

  // `new Promise` turns a synchronous throw from start() into a rejection as well.
  new Promise<TStarted>((resolve) => resolve(app.start()))
    .then((started) => {
      // A signal during start already began the shutdown: do not announce readiness after it.
      if (stopping !== undefined) return;
      if (options.readyMessage !== undefined) {
        if (typeof started === 'object' && started !== null) {
          const fields: object = started;
          logger.info(fields, options.readyMessage);
        } else {
          logger.info(options.readyMessage);
        }
      }
      options.onReady?.(started);
    })
    .catch((error: unknown) => {
      logger.fatal({ err: error }, 'failed to start');
      void stop(EXIT_CODE.FAILURE);
    });

  return exited;
}

/** Waits for pino's asynchronous destination to write what it buffered, or for the deadline. */
function flushLog(logger: ProcessLogger, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const deadline = setTimeout(resolve, timeoutMs);
    const done = (): void => {
      clearTimeout(deadline);
      resolve();
    };
    try {
      logger.flush(done);
    } catch {
      done();
    }
  });
}
