import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * What travels with one unit of work (an HTTP request, a gRPC call, a job) across process
 * boundaries: HTTP headers → gRPC metadata → job data, and back into this store on the other side.
 */
export interface RequestContext {
  readonly requestId: string;
  /** W3C `traceparent` of the caller, passed through untouched so a tracer can join the spans. */
  readonly traceparent?: string;
}

/** Header / metadata keys used on every hop (lower-case, as HTTP/2 and gRPC metadata require). */
export const REQUEST_ID_HEADER = 'x-request-id';
export const TRACEPARENT_HEADER = 'traceparent';

const storage = new AsyncLocalStorage<RequestContext>();

// Printable, bounded, no separators that could forge log fields or headers.
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const TRACEPARENT_PATTERN = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** Whether a client-supplied request id is safe to adopt. */
export function isValidRequestId(value: unknown): value is string {
  return typeof value === 'string' && REQUEST_ID_PATTERN.test(value);
}

/** Whether a value is a well-formed W3C traceparent. */
export function isValidTraceparent(value: unknown): value is string {
  return typeof value === 'string' && TRACEPARENT_PATTERN.test(value);
}

export function newRequestId(): string {
  return randomUUID();
}

/**
 * Builds a context from untrusted incoming values: a valid request id is kept, anything else is
 * replaced by a fresh one; an invalid traceparent is dropped.
 */
export function contextFrom(incoming: {
  requestId?: unknown;
  traceparent?: unknown;
}): RequestContext {
  const requestId = isValidRequestId(incoming.requestId) ? incoming.requestId : newRequestId();
  return isValidTraceparent(incoming.traceparent)
    ? { requestId, traceparent: incoming.traceparent }
    : { requestId };
}

/** Runs `work` with `context` as the current request context (inherited by async continuations). */
export function runWithContext<Result>(context: RequestContext, work: () => Result): Result {
  return storage.run(context, work);
}

/** The current request context, if the caller is inside {@link runWithContext}. */
export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

/** Headers/metadata entries to forward the current context to the next hop. */
export function outgoingContextHeaders(): Record<string, string> {
  const context = storage.getStore();
  if (!context) return {};
  const headers: Record<string, string> = { [REQUEST_ID_HEADER]: context.requestId };
  if (context.traceparent) headers[TRACEPARENT_HEADER] = context.traceparent;
  return headers;
}
