import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ERROR_FIELD_METADATA_KEY, ERROR_REASON_METADATA_KEY } from './defaults';

// Metadata values must be printable ASCII; anything else would make grpc-js throw while
// sending the status, turning a clean error into a broken stream.
const REASON_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;
const FIELD_PATTERN = /^[A-Za-z0-9_.[\]-]{1,128}$/;

export interface DomainErrorOptions {
  /** Machine-readable reason in SCREAMING_SNAKE_CASE, sent as `strata-error-reason`. */
  reason?: string;
  /** Request field the error is about, sent as `strata-error-field`. */
  field?: string;
  /** The underlying error, kept for logs only. */
  cause?: unknown;
}

/**
 * A failure the caller is meant to see: a gRPC status code, a message safe to show a client and
 * an optional machine-readable reason. Thrown by handlers wrapped in {@link unary}; anything else
 * thrown becomes INTERNAL with a generic message.
 */
export class DomainError extends Error {
  override readonly name = 'DomainError';
  readonly code: status;
  readonly reason: string | undefined;
  readonly field: string | undefined;

  constructor(code: status, message: string, options: DomainErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (code === status.OK) throw new TypeError('DomainError cannot carry status OK');
    if (options.reason !== undefined && !REASON_PATTERN.test(options.reason)) {
      throw new TypeError(
        `DomainError reason must match ${String(REASON_PATTERN)}: ${options.reason}`,
      );
    }
    this.code = code;
    this.reason = options.reason;
    this.field =
      options.field !== undefined && FIELD_PATTERN.test(options.field) ? options.field : undefined;
  }

  /** Trailing metadata sent with the status (reason and field, when present). */
  trailers(): Metadata {
    const metadata = new Metadata();
    if (this.reason) metadata.set(ERROR_REASON_METADATA_KEY, this.reason);
    if (this.field) metadata.set(ERROR_FIELD_METADATA_KEY, this.field);
    return metadata;
  }
}

/** A request field is malformed; the message names the field. */
export function invalidArgument(field: string, message: string, reason?: string): DomainError {
  return new DomainError(status.INVALID_ARGUMENT, `${field}: ${message}`, { field, reason });
}

export function notFound(message: string, reason?: string): DomainError {
  return new DomainError(status.NOT_FOUND, message, { reason });
}

export function permissionDenied(message = 'permission denied', reason?: string): DomainError {
  return new DomainError(status.PERMISSION_DENIED, message, { reason });
}

export function alreadyExists(message: string, reason?: string): DomainError {
  return new DomainError(status.ALREADY_EXISTS, message, { reason });
}

/** A concurrency conflict (optimistic lock, idempotency key in flight): the caller may retry. */
export function aborted(message: string, reason?: string): DomainError {
  return new DomainError(status.ABORTED, message, { reason });
}

/** The system is not in a state that allows the operation (e.g. INSUFFICIENT_FUNDS). */
export function failedPrecondition(reason: string, message: string): DomainError {
  return new DomainError(status.FAILED_PRECONDITION, message, { reason });
}

export function unauthenticated(message = 'authentication required', reason?: string): DomainError {
  return new DomainError(status.UNAUTHENTICATED, message, { reason });
}

/** Whether `error` is what grpc-js rejects a client call with (an Error with a numeric code). */
export function isServiceError(error: unknown): error is ServiceError {
  return (
    error instanceof Error &&
    typeof (error as Partial<ServiceError>).code === 'number' &&
    (error as Partial<ServiceError>).metadata instanceof Metadata
  );
}

function firstStringValue(error: unknown, key: string): string | undefined {
  if (!isServiceError(error)) return undefined;
  const [value] = error.metadata.get(key);
  return typeof value === 'string' ? value : undefined;
}

/** The `strata-error-reason` a server attached to a failed call, if any (the gateway maps it). */
export function grpcErrorReason(error: unknown): string | undefined {
  return firstStringValue(error, ERROR_REASON_METADATA_KEY);
}

/** The `strata-error-field` of a failed call, if any. */
export function grpcErrorField(error: unknown): string | undefined {
  return firstStringValue(error, ERROR_FIELD_METADATA_KEY);
}

/** The name of a status code (`'NOT_FOUND'`), as used in logs and metric labels. */
export function statusName(code: status): string {
  return status[code] ?? `CODE_${code}`;
}
