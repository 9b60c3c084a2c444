import { AsyncLocalStorage } from 'node:async_hooks';
import { status } from '@grpc/grpc-js';

/**
 * Per-call state shared between the server interceptors and {@link unary}, carried by
 * AsyncLocalStorage because grpc-js gives interceptors and handlers no common object.
 */
export interface ServerCallScope {
  /** Set by `unary()` when a handler failed with something other than a DomainError, so the
   * logging interceptor can write the details on the call's single log line. */
  failure?: unknown;
}

/** What an outgoing call made while handling an incoming one inherits from it. */
export interface InboundCall {
  /** Deadline of the incoming call (epoch ms); an outgoing call never outlives it. */
  readonly deadlineMs: number;
  /** Aborted when the incoming call is cancelled or its deadline passes. */
  readonly signal: AbortSignal;
}

export const serverCallScopeStorage = new AsyncLocalStorage<ServerCallScope>();
export const inboundCallStorage = new AsyncLocalStorage<InboundCall>();

/** The incoming call being handled, when inside a {@link unary} handler. */
export function currentInboundCall(): InboundCall | undefined {
  return inboundCallStorage.getStore();
}

/**
 * The client's RST_STREAM for an expired deadline can reach the server a moment before the
 * server's own deadline timer fires (the server computed its deadline slightly later); within
 * this margin a cancellation is reported as DEADLINE_EXCEEDED.
 */
const DEADLINE_MARGIN_MS = 50;

/** Why a call that ended without a status ended: its deadline passed, or the client gave up. */
export function endedWithoutStatusCode(deadlineMs: number): status {
  return Date.now() + DEADLINE_MARGIN_MS >= deadlineMs
    ? status.DEADLINE_EXCEEDED
    : status.CANCELLED;
}

/** A grpc-js Deadline (Date, epoch ms, or Infinity for none) as epoch ms. */
export function deadlineToMs(deadline: Date | number): number {
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

/** `/user.v1.UserService/GetUser` → `{ service: 'user.v1.UserService', method: 'GetUser' }`. */
export function splitMethodPath(path: string): { service: string; method: string } {
  const match = /^\/([^/]+)\/([^/]+)$/.exec(path);
  return match ? { service: match[1], method: match[2] } : { service: 'unknown', method: path };
}
