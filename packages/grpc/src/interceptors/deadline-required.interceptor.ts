import {
  ServerInterceptingCall,
  ServerListenerBuilder,
  ResponderBuilder,
  status,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import { deadlineToMs, splitMethodPath } from '../call-scope';
import { DEADLINE_REQUIRED_REASON, HEALTH_SERVICE_NAME } from '../defaults';
import { DomainError } from '../domain-error';

export interface DeadlineRequiredOptions {
  /** Services callable without a deadline (kubelet and load-balancer probes send none). */
  exemptServices?: readonly string[];
}

export const DEADLINE_REQUIRED_MESSAGE = 'a deadline is required on every call (set grpc-timeout)';

/**
 * Rejects a call that carries no deadline with INVALID_ARGUMENT and reason `DEADLINE_REQUIRED`,
 * before the handler runs. INVALID_ARGUMENT rather than FAILED_PRECONDITION because the fault is
 * in the request itself, whatever the state of the system ("problematic regardless of the state
 * of the system" in the gRPC status guide), and retrying it unchanged can never succeed.
 */
export function deadlineRequiredInterceptor(
  options: DeadlineRequiredOptions = {},
): ServerInterceptor {
  const exempt = new Set(options.exemptServices ?? [HEALTH_SERVICE_NAME]);
  return (methodDefinition, call) => {
    if (exempt.has(splitMethodPath(methodDefinition.path).service))
      return new ServerInterceptingCall(call);
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        if (Number.isFinite(deadlineToMs(call.getDeadline()))) {
          next(metadata);
          return;
        }
        // Not forwarding the metadata means the handler is never started. The error is built
        // here, not per call: an Error captures a stack trace, measurable at thousands of calls/s.
        const rejection = new DomainError(status.INVALID_ARGUMENT, DEADLINE_REQUIRED_MESSAGE, {
          reason: DEADLINE_REQUIRED_REASON,
        });
        call.sendStatus({
          code: rejection.code,
          details: rejection.message,
          metadata: rejection.trailers(),
        });
      })
      .build();
    return new ServerInterceptingCall(
      call,
      new ResponderBuilder().withStart((next) => next(listener)).build(),
    );
  };
}
