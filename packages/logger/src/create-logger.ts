import pino, { type Logger, type LevelWithSilent } from 'pino';
import { currentContext } from './request-context';
import { redactCardNumbers, redactValue } from './redaction';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** Service or process name, written as `service` on every line. */
  name: string;
  level?: LevelWithSilent;
  /** Where lines go; defaults to stdout. Tests pass a stream to capture output. */
  destination?: pino.DestinationStream;
  /** Extra fields for every line (e.g. replica id). */
  base?: Record<string, unknown>;
}

/**
 * A pino JSON logger that:
 * - stamps every line with the current request id and traceparent (from AsyncLocalStorage),
 * - redacts sensitive keys at any depth and card-like numbers in messages and fields.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.name, pid: process.pid, ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      mixin() {
        const context = currentContext();
        if (!context) return {};
        return context.traceparent
          ? { requestId: context.requestId, traceparent: context.traceparent }
          : { requestId: context.requestId };
      },
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactValue(object) as Record<string, unknown>,
      },
      hooks: {
        // Messages are free text; scan them too (fields are handled by formatters.log).
        logMethod(args, method) {
          const redacted = args.map((argument) =>
            typeof argument === 'string' ? redactCardNumbers(argument) : argument,
          ) as Parameters<typeof method>;
          method.apply(this, redacted);
        },
      },
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
