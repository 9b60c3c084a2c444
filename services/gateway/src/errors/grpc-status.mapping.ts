import { status, type ServiceError } from '@grpc/grpc-js';
import { ErrorReason, errorDetailFromMetadata, errorReasonToJSON } from '@strata/contracts';
import { isServiceError } from '@strata/grpc';
import { ApiError } from './api-error';

interface HttpMapping {
  readonly statusCode: number;
  /** Whether the service's message is safe to show (4xx: services send safe messages by contract). */
  readonly exposeMessage: boolean;
  readonly fallbackMessage: string;
}

/**
 * gRPC status → HTTP, the google.rpc mapping (google/rpc/code.proto). The table lists the
 * common codes; the rest follow google.rpc too (FAILED_PRECONDITION and OUT_OF_RANGE 400,
 * UNIMPLEMENTED 501, CANCELLED 499) instead of a blanket 500, since a 500 would tell the client
 * the platform broke when it was the request that did not fit. UNKNOWN, INTERNAL and DATA_LOSS
 * are 500 and never carry the service's message.
 */
export const GRPC_TO_HTTP: Readonly<Record<status, HttpMapping>> = {
  [status.OK]: { statusCode: 500, exposeMessage: false, fallbackMessage: 'internal error' },
  [status.CANCELLED]: {
    statusCode: 499,
    exposeMessage: false,
    fallbackMessage: 'request cancelled',
  },
  [status.UNKNOWN]: { statusCode: 500, exposeMessage: false, fallbackMessage: 'internal error' },
  [status.INVALID_ARGUMENT]: {
    statusCode: 400,
    exposeMessage: true,
    fallbackMessage: 'invalid argument',
  },
  [status.DEADLINE_EXCEEDED]: {
    statusCode: 504,
    exposeMessage: false,
    fallbackMessage: 'upstream timed out',
  },
  [status.NOT_FOUND]: { statusCode: 404, exposeMessage: true, fallbackMessage: 'not found' },
  [status.ALREADY_EXISTS]: {
    statusCode: 409,
    exposeMessage: true,
    fallbackMessage: 'already exists',
  },
  [status.PERMISSION_DENIED]: {
    statusCode: 403,
    exposeMessage: true,
    fallbackMessage: 'permission denied',
  },
  [status.RESOURCE_EXHAUSTED]: {
    statusCode: 429,
    exposeMessage: true,
    fallbackMessage: 'too many requests',
  },
  [status.FAILED_PRECONDITION]: {
    statusCode: 400,
    exposeMessage: true,
    fallbackMessage: 'failed precondition',
  },
  [status.ABORTED]: {
    statusCode: 409,
    exposeMessage: true,
    fallbackMessage: 'conflict, retry later',
  },
  [status.OUT_OF_RANGE]: { statusCode: 400, exposeMessage: true, fallbackMessage: 'out of range' },
  [status.UNIMPLEMENTED]: {
    statusCode: 501,
    exposeMessage: false,
    fallbackMessage: 'not implemented',
  },
  [status.INTERNAL]: { statusCode: 500, exposeMessage: false, fallbackMessage: 'internal error' },
  [status.UNAVAILABLE]: {
    statusCode: 503,
    exposeMessage: false,
    fallbackMessage: 'service unavailable',
  },
  [status.DATA_LOSS]: { statusCode: 500, exposeMessage: false, fallbackMessage: 'internal error' },
  [status.UNAUTHENTICATED]: {
    statusCode: 401,
    exposeMessage: true,
    fallbackMessage: 'authentication required',
  },
};

/** Reasons whose HTTP status differs from their code's (proto/common/v1/common.proto). */
const REASON_STATUS: Partial<Record<ErrorReason, number>> = {
  [ErrorReason.IDEMPOTENCY_KEY_REUSED]: 422,
  [ErrorReason.IDEMPOTENCY_REQUEST_IN_FLIGHT]: 409,
  [ErrorReason.MEDIA_TOO_LARGE]: 413,
  [ErrorReason.MEDIA_TYPE_UNSUPPORTED]: 415,
  [ErrorReason.MEDIA_NOT_READY]: 409,
  [ErrorReason.PAYMENT_NOT_REFUNDABLE]: 409,
  [ErrorReason.REFUND_EXCEEDS_CAPTURED]: 422,
  [ErrorReason.REFRESH_TOKEN_REUSED]: 401,
  [ErrorReason.INVALID_CREDENTIALS]: 401,
  [ErrorReason.WEBHOOK_SIGNATURE_INVALID]: 401,
};

const REASON_PREFIX = 'ERROR_REASON_';

/**
 * The reason of a failed call. Services send the full enum value name
 * (`ERROR_REASON_MEDIA_TOO_LARGE`) as common.proto says; the grpc kit's examples use the short
 * form (`MEDIA_TOO_LARGE`), so both are accepted.
 */
export function reasonOf(error: ServiceError): ErrorReason | undefined {
  const detail = errorDetailFromMetadata(error.metadata);
  if (detail.reason === undefined) return undefined;
  if (detail.reason !== ErrorReason.UNRECOGNIZED) return detail.reason;
  const [raw] = error.metadata.get('strata-error-reason');
  if (typeof raw !== 'string' || raw.startsWith(REASON_PREFIX)) return undefined;
  return errorDetailFromMetadata(withReason(error, `${REASON_PREFIX}${raw}`)).reason;
}

function withReason(error: ServiceError, reason: string): ServiceError['metadata'] {
  const metadata = error.metadata.clone();
  metadata.set('strata-error-reason', reason);
  return metadata;
}

function codeName(code: number): string {
  return status[code] ?? 'UNKNOWN';
}

// Keeps messages printable and bounded: they are the service's words, shown to a client.
function safeMessage(message: string): string {
  return message.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 500);
}

/**
 * Turns a failed downstream call into the ApiError the client sees. Anything that is not a gRPC
 * `ServiceError` is a gateway bug: 500 with a generic message (the caller logs the original).
 */
export function apiErrorFromGrpc(error: unknown): ApiError {
  if (!isServiceError(error)) return new ApiError(500, 'INTERNAL', 'internal error');
  const mapping = GRPC_TO_HTTP[error.code] ?? GRPC_TO_HTTP[status.UNKNOWN];
  const reason = reasonOf(error);
  const statusCode =
    (reason !== undefined ? REASON_STATUS[reason] : undefined) ?? mapping.statusCode;
  const code =
    reason !== undefined &&
    reason !== ErrorReason.UNSPECIFIED &&
    reason !== ErrorReason.UNRECOGNIZED
      ? errorReasonToJSON(reason).slice(REASON_PREFIX.length)
      : codeName(error.code);
  const message =
    mapping.exposeMessage && typeof error.details === 'string' && error.details.length > 0
      ? safeMessage(error.details)
      : mapping.fallbackMessage;
  return new ApiError(statusCode, statusCode >= 500 ? codeName(error.code) : code, message);
}
