import {
  status,
  type handleUnaryCall,
  type Metadata,
  type StatusObject,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import { createLogger, currentContext, type Logger } from '@strata/logger';
import {
  deadlineToMs,
  endedWithoutStatusCode,
  inboundCallStorage,
  serverCallScopeStorage,
} from './call-scope';
import { DomainError, statusName } from './domain-error';

/** What a handler gets besides its request. */
export interface CallContext {
  /**
   * Aborted when the call is cancelled by the client or its deadline passes; its `reason` is a
   * {@link DomainError} with CANCELLED or DEADLINE_EXCEEDED. Pass it to anything that can stop
   * early (database queries, fetch, timers).
   */
  readonly signal: AbortSignal;
  /** The call's deadline, or `undefined` when the client set none (health checks only). */
  readonly deadline: Date | undefined;
  /** Incoming metadata (request id and traceparent already validated by the interceptor). */
  readonly metadata: Metadata;
  /** The request id of this call (the caller's, or a fresh one). */
  readonly requestId: string | undefined;
  /** Full method path, e.g. `/user.v1.UserService/GetUser`. */
  readonly method: string;
  /** The client's address (`ipv4:10.0.0.7:51234`), for logs. */
  readonly peer: string;
  /** Remaining time before the deadline in ms (Infinity without one, 0 when passed). */
  remainingMs(): number;
}

/** A unary handler written as an async function; throw a {@link DomainError} to fail. */
export type UnaryHandler<Request, Response> = (
  request: Request,
  context: CallContext,
) => Promise<Response>;

export interface UnaryOptions {
  /**
   * Where an unexpected error is logged when the handler runs outside a server made by
   * `createGrpcServer` (whose logging interceptor puts it on the call's log line instead).
   */
  logger?: Logger;
}

export const INTERNAL_ERROR_MESSAGE = 'internal error';

let fallbackLogger: Logger | undefined;
function defaultLogger(): Logger {
  fallbackLogger ??= createLogger({ name: 'grpc' });
  return fallbackLogger;
}

function toStatus(error: unknown, signal: AbortSignal): Partial<StatusObject> {
  if (error instanceof DomainError) {
    return { code: error.code, details: error.message, metadata: error.trailers() };
  }
  // The status will never reach the client: the call is already over.
  const reason: unknown = signal.reason;
  if (signal.aborted && reason instanceof DomainError) {
    return { code: reason.code, details: reason.message };
  }
  return { code: status.INTERNAL, details: INTERNAL_ERROR_MESSAGE };
}

/**
 * Turns an async `(request, context) => response` into a grpc-js unary handler, the one place
 * where failures become statuses: a {@link DomainError} becomes its code, message and reason;
 * anything else becomes INTERNAL with a generic message, its details going to the log (with the
 * request id) and never to the client.
 *
 * @example
 * const implementation: UserServiceServer = {
 *   getUser: unary(async (request, context) => users.get(request.id, context.signal)),
 * };
 */
export function unary<Request, Response>(
  handler: UnaryHandler<Request, Response>,
  options: UnaryOptions = {},
): handleUnaryCall<Request, Response> {
  return (call: ServerUnaryCall<Request, Response>, callback) => {
    const deadlineMs = deadlineToMs(call.getDeadline());
    const controller = new AbortController();
    let settled = false;
    const onCancelled = () => {
      // grpc-js also emits 'cancelled' after a normal completion; only an unfinished call aborts.
      if (settled || controller.signal.aborted) return;
      const code = endedWithoutStatusCode(deadlineMs);
      const message =
        code === status.DEADLINE_EXCEEDED ? 'deadline exceeded' : 'call cancelled by the client';
      controller.abort(new DomainError(code, message));
    };
    call.once('cancelled', onCancelled);
    if (call.cancelled) onCancelled();

    const context: CallContext = {
      signal: controller.signal,
      deadline: Number.isFinite(deadlineMs) ? new Date(deadlineMs) : undefined,
      metadata: call.metadata,
      requestId: currentContext()?.requestId,
      method: call.getPath(),
      peer: call.getPeer(),
      remainingMs: () => Math.max(0, deadlineMs - Date.now()),
    };

    const run = async (): Promise<Response> => handler(call.request, context);
    inboundCallStorage
      .run({ deadlineMs, signal: controller.signal }, run)
      .then(
        (response) => {
          settled = true;
          callback(null, response);
        },
        (error: unknown) => {
          settled = true;
          const result = toStatus(error, controller.signal);
          if (result.code === status.INTERNAL) reportFailure(error, call.getPath(), options.logger);
          callback(result);
        },
      )
      .finally(() => call.removeListener('cancelled', onCancelled))
      // Only reached if grpc-js's own callback throws; never let that become an unhandled rejection.
      .catch((error: unknown) =>
        (options.logger ?? defaultLogger()).error({ err: error }, 'gRPC respond failed'),
      );
  };
}

function reportFailure(error: unknown, method: string, logger: Logger | undefined): void {
  const scope = serverCallScopeStorage.getStore();
  if (scope && !logger) {
    scope.failure = error;
    return;
  }
  (logger ?? defaultLogger()).error(
    { err: error, grpcMethod: method, grpcCode: statusName(status.INTERNAL) },
    'unexpected error in gRPC handler',
  );
}
