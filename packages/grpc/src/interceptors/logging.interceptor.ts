import { status, type ServerInterceptor } from '@grpc/grpc-js';
import { runWithContext, type Logger, type RequestContext } from '@strata/logger';
import { serverCallScopeStorage, splitMethodPath, type ServerCallScope } from '../call-scope';
import { HEALTH_SERVICE_NAME } from '../defaults';
import { statusName } from '../domain-error';
import { interceptOutcome } from './call-outcome';
import { requestContextFromMetadata } from './request-context.interceptor';

export interface LoggingInterceptorOptions {
  /** Services whose successful calls log at `debug` (probes would otherwise flood the log). */
  quietServices?: readonly string[];
}

// Server-side faults are errors; codes caused by load or by the caller's clock are warnings;
// the rest are the service answering as designed.
const ERROR_CODES = new Set<status>([
  status.INTERNAL,
  status.UNKNOWN,
  status.DATA_LOSS,
  status.UNIMPLEMENTED,
]);
const WARN_CODES = new Set<status>([
  status.DEADLINE_EXCEEDED,
  status.UNAVAILABLE,
  status.CANCELLED,
  status.RESOURCE_EXHAUSTED,
]);

/**
 * One log line per call: service, method, code, duration and (through the request context)
 * request id. Never payloads or metadata values. When a `unary()` handler failed unexpectedly,
 * the error (message and stack) is on that same line.
 */
export function loggingInterceptor(
  logger: Logger,
  options: LoggingInterceptorOptions = {},
): ServerInterceptor {
  const quietServices = new Set(options.quietServices ?? [HEALTH_SERVICE_NAME]);
  return (methodDefinition, call) => {
    const { service, method } = splitMethodPath(methodDefinition.path);
    const scope: ServerCallScope = {};
    let context: RequestContext | undefined;
    return interceptOutcome(call, {
      onMetadata(metadata) {
        context = requestContextFromMetadata(metadata);
      },
      around(next) {
        serverCallScopeStorage.run(scope, next);
      },
      onEnd({ code, durationMs }) {
        const fields: Record<string, unknown> = {
          grpcService: service,
          grpcMethod: method,
          grpcCode: statusName(code),
          durationMs: Math.round(durationMs * 10) / 10,
        };
        if (scope.failure !== undefined) fields.err = scope.failure;
        const write = () => {
          if (ERROR_CODES.has(code)) logger.error(fields, 'grpc call failed');
          else if (WARN_CODES.has(code)) logger.warn(fields, 'grpc call');
          else if (code === status.OK && quietServices.has(service))
            logger.debug(fields, 'grpc call');
          else logger.info(fields, 'grpc call');
        };
        if (context) runWithContext(context, write);
        else write();
      },
    });
  };
}
