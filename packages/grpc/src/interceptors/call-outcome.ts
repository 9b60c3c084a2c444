import {
  ResponderBuilder,
  ServerInterceptingCall,
  ServerListenerBuilder,
  type Metadata,
  type ServerInterceptingCallInterface,
  type status,
} from '@grpc/grpc-js';
import { deadlineToMs, endedWithoutStatusCode } from '../call-scope';

/** How one call ended, as seen by the server. */
export interface CallOutcome {
  readonly code: status;
  readonly details: string;
  readonly durationMs: number;
}

export interface OutcomeHooks {
  /** Sees (and may edit) the incoming metadata before the rest of the chain does. */
  onMetadata?: (metadata: Metadata) => void;
  /** Runs every downstream listener event (and so the handler) inside it, e.g. an ALS scope. */
  around?: (next: () => void) => void;
  /** Called exactly once per call. */
  onEnd: (outcome: CallOutcome) => void;
}

/**
 * The one tricky part of grpc-js server interceptors, written once: a call ends either through
 * `sendStatus` (handler answered, or an interceptor rejected) or only through `onCancel` (the
 * client cancelled, or the deadline timer answered DEADLINE_EXCEEDED below the interceptors).
 * grpc-js also fires `onCancel` after a normal status, so the first of the two wins.
 */
export function interceptOutcome(
  call: ServerInterceptingCallInterface,
  hooks: OutcomeHooks,
): ServerInterceptingCall {
  const startedAt = performance.now();
  let ended = false;
  const end = (code: status, details: string) => {
    if (ended) return;
    ended = true;
    hooks.onEnd({ code, details, durationMs: performance.now() - startedAt });
  };
  const around = hooks.around ?? ((next: () => void) => next());

  const listener = new ServerListenerBuilder()
    .withOnReceiveMetadata((metadata, next) => {
      hooks.onMetadata?.(metadata);
      around(() => next(metadata));
    })
    .withOnReceiveMessage((message: unknown, next) => around(() => next(message)))
    .withOnReceiveHalfClose((next) => around(next))
    .withOnCancel(() => {
      const code = endedWithoutStatusCode(deadlineToMs(call.getDeadline()));
      end(code, 'call ended without a status');
    })
    .build();

  const responder = new ResponderBuilder()
    .withStart((next) => next(listener))
    .withSendStatus((statusObject, next) => {
      end(statusObject.code, statusObject.details);
      next(statusObject);
    })
    .build();

  return new ServerInterceptingCall(call, responder);
}
