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
  type InboundCall,
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

function toStatus(error: unknown, cancellation: DomainError | undefined): Partial<StatusObject> {
  if (error instanceof DomainError) {
    return { code: error.code, details: error.message, metadata: error.trailers() };
  }
  // The status will never reach the client: the call is already over.
  if (cancellation) return { code: cancellation.code, details: cancellation.message };
  return { code: status.INTERNAL, details: INTERNAL_ERROR_MESSAGE };
}

/**
 * The incoming call as outgoing calls and the handler's context see it, with its abort signal
 * made on first use. Most handlers never read the signal (a create that needs no outgoing call,
 * a cached read), and an AbortController with its signal and the signal's listener map was the
 * largest item outliving young-generation GCs in the payment server (services/payment/README.md,
 * "Left to do"). A signal first read after the call was cancelled is made aborted, with the same
 * reason. A class, so that the getter lives on the prototype: an object literal with an accessor
 * costs more per call than it saves (packages/grpc/README.md, "Cost per call").
 */
class InboundUnaryCall implements InboundCall {
  private controller: AbortController | undefined;
  private cancellation: DomainError | undefined;

  constructor(readonly deadlineMs: number) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.cancellation) this.controller.abort(this.cancellation);
    }
    return this.controller.signal;
  }

  /** Why the call was cancelled, once it was. */
  get cancelledWith(): DomainError | undefined {
    return this.cancellation;
  }

  cancel(reason: DomainError): void {
    if (this.cancellation) return;
    this.cancellation = reason;
    this.controller?.abort(reason);
  }
}

/** What a handler gets besides its request (see {@link CallContext}). */
class UnaryCallContext implements CallContext {
  readonly deadline: Date | undefined;

  constructor(
    private readonly inbound: InboundUnaryCall,
    readonly metadata: Metadata,
    readonly requestId: string | undefined,
    readonly method: string,
    readonly peer: string,
  ) {
    this.deadline = Number.isFinite(inbound.deadlineMs) ? new Date(inbound.deadlineMs) : undefined;
  }

  get signal(): AbortSignal {
    return this.inbound.signal;
  }

  remainingMs(): number {
    return Math.max(0, this.inbound.deadlineMs - Date.now());
  }
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
    const inbound = new InboundUnaryCall(deadlineMs);
    let settled = false;
    const onCancelled = () => {
      // grpc-js also emits 'cancelled' after a normal completion; only an unfinished call aborts.
      if (settled || inbound.cancelledWith) return;
      const code = endedWithoutStatusCode(deadlineMs);
      const message =
        code === status.DEADLINE_EXCEEDED ? 'deadline exceeded' : 'call cancelled by the client';
      inbound.cancel(new DomainError(code, message));
    };
    call.once('cancelled', onCancelled);
    if (call.cancelled) onCancelled();

    const context = new UnaryCallContext(
      inbound,
      call.metadata,
      currentContext()?.requestId,
      call.getPath(),
      call.getPeer(),
    );

    const run = async (): Promise<Response> => handler(call.request, context);
    inboundCallStorage
      .run(inbound, run)
      .then(
        (response) => {
          settled = true;
          callback(null, response);
        },
        (error: unknown) => {
          settled = true;
          const result = toStatus(error, inbound.cancelledWith);
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
