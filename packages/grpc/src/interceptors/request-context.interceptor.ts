import { type Metadata, type ServerInterceptor } from '@grpc/grpc-js';
import {
  REQUEST_ID_HEADER,
  TRACEPARENT_HEADER,
  contextFrom,
  runWithContext,
  type RequestContext,
} from '@strata/logger';
import { interceptOutcome } from './call-outcome';

function firstString(metadata: Metadata, key: string): string | undefined {
  const [value] = metadata.get(key);
  return typeof value === 'string' ? value : undefined;
}

/** The validated request context of incoming metadata (a fresh request id if none or forged). */
export function requestContextFromMetadata(metadata: Metadata): RequestContext {
  return contextFrom({
    requestId: firstString(metadata, REQUEST_ID_HEADER),
    traceparent: firstString(metadata, TRACEPARENT_HEADER),
  });
}

/**
 * Reads `x-request-id` / `traceparent` from the metadata (validated: a forged id is replaced, a
 * malformed traceparent dropped), writes the validated values back so later interceptors and the
 * handler see the same id, and runs the handler inside `runWithContext`, so its log lines and its
 * outgoing calls carry the id.
 */
export function requestContextInterceptor(): ServerInterceptor {
  return (_method, call) => {
    let context: RequestContext | undefined;
    return interceptOutcome(call, {
      onMetadata(metadata) {
        context = requestContextFromMetadata(metadata);
        metadata.set(REQUEST_ID_HEADER, context.requestId);
        if (context.traceparent) metadata.set(TRACEPARENT_HEADER, context.traceparent);
        else metadata.remove(TRACEPARENT_HEADER);
      },
      around(next) {
        if (context) runWithContext(context, next);
        else next();
      },
      onEnd() {},
    });
  };
}
