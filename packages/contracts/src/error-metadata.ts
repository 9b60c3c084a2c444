// The two trailing-metadata keys that give a gRPC error its machine-readable detail (conventions
// in proto/common/v1/common.proto). Kept here so the servers that write them (the grpc kit) and
// the gateway that reads them cannot disagree on the spelling.
import { Metadata } from '@grpc/grpc-js';
import { ErrorReason, errorReasonFromJSON, errorReasonToJSON } from './generated/common/v1/common';

/** Trailing-metadata key whose value is an `ErrorReason` name, e.g. `ERROR_REASON_MEDIA_TOO_LARGE`. */
export const ERROR_REASON_METADATA_KEY = 'strata-error-reason';

/** Trailing-metadata key whose value is the offending field path of an INVALID_ARGUMENT, e.g. `amount.currency`. */
export const ERROR_FIELD_METADATA_KEY = 'strata-error-field';

/** Detail attached to a failed call, beyond its status code and message. */
export interface ErrorDetail {
  /** Why it failed, when callers must tell apart errors with the same code. */
  reason?: ErrorReason;
  /** Field path (proto snake_case) an INVALID_ARGUMENT is about. */
  field?: string;
}

/**
 * Builds the trailing metadata carrying `detail`, for a server to pass as `metadata` of the
 * status it fails a call with.
 */
export function errorDetailToMetadata(detail: ErrorDetail): Metadata {
  const metadata = new Metadata();
  if (detail.reason !== undefined && detail.reason !== ErrorReason.UNSPECIFIED) {
    metadata.set(ERROR_REASON_METADATA_KEY, errorReasonToJSON(detail.reason));
  }
  if (detail.field !== undefined && detail.field !== '') {
    metadata.set(ERROR_FIELD_METADATA_KEY, detail.field);
  }
  return metadata;
}

/**
 * Reads the detail of a failed call from its trailing metadata (`ServiceError.metadata`). A
 * reason this build does not know reads as `ErrorReason.UNRECOGNIZED`; absent keys stay absent.
 */
export function errorDetailFromMetadata(metadata: Metadata): ErrorDetail {
  const detail: ErrorDetail = {};
  const [reason] = metadata.get(ERROR_REASON_METADATA_KEY);
  if (typeof reason === 'string') detail.reason = errorReasonFromJSON(reason);
  const [field] = metadata.get(ERROR_FIELD_METADATA_KEY);
  if (typeof field === 'string') detail.field = field;
  return detail;
}
