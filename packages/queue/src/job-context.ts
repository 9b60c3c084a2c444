import { contextFrom, currentContext, type RequestContext } from '@strata/logger';
import { CONTEXT_KEY } from './job-definition';

/** The request context as it is stored in job data (and in outbox rows). */
export interface SerializedContext {
  readonly requestId: string;
  readonly traceparent?: string;
}

/** What a job's data looks like in Redis: the payload plus, when known, the caller's context. */
export type JobData<Payload extends object> = Payload & {
  readonly [CONTEXT_KEY]?: SerializedContext;
};

/** The context of the current request, in its stored form (undefined outside any request). */
export function captureContext(): SerializedContext | undefined {
  const context = currentContext();
  if (!context) return undefined;
  return context.traceparent
    ? { requestId: context.requestId, traceparent: context.traceparent }
    : { requestId: context.requestId };
}

/** Job data for `payload`, carrying `context` so the worker's logs join the request's. */
export function toJobData<Payload extends object>(
  payload: Payload,
  context: SerializedContext | undefined,
): JobData<Payload> {
  return context ? { ...payload, [CONTEXT_KEY]: context } : payload;
}

/**
 * Splits job data into the payload and the context to run the processor in. The context comes
 * from Redis, which anyone with access could write to, so it is re-validated like an incoming
 * header; a job without one (added by a tool) gets a fresh request id.
 */
export function fromJobData(data: unknown): { payload: unknown; context: RequestContext } {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { payload: data, context: contextFrom({}) };
  }
  const { [CONTEXT_KEY]: stored, ...payload } = data as Record<string, unknown>;
  if (typeof stored !== 'object' || stored === null) {
    return { payload, context: contextFrom({}) };
  }
  const { requestId, traceparent } = stored as { requestId?: unknown; traceparent?: unknown };
  return { payload, context: contextFrom({ requestId, traceparent }) };
}
