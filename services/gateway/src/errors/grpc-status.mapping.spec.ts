import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { apiErrorFromGrpc, GRPC_TO_HTTP } from './grpc-status.mapping';

function serviceError(code: status, details: string, reason?: string): ServiceError {
  const metadata = new Metadata();
  if (reason !== undefined) metadata.set('strata-error-reason', reason);
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), {
    code,
    details,
    metadata,
  });
}

// The google.rpc table, plus google.rpc for the codes it leaves to "other".
const EXPECTED: ReadonlyArray<[status, number]> = [
  [status.OK, 500],
  [status.CANCELLED, 499],
  [status.UNKNOWN, 500],
  [status.INVALID_ARGUMENT, 400],
  [status.DEADLINE_EXCEEDED, 504],
  [status.NOT_FOUND, 404],
  [status.ALREADY_EXISTS, 409],
  [status.PERMISSION_DENIED, 403],
  [status.RESOURCE_EXHAUSTED, 429],
  [status.FAILED_PRECONDITION, 400],
  [status.ABORTED, 409],
  [status.OUT_OF_RANGE, 400],
  [status.UNIMPLEMENTED, 501],
  [status.INTERNAL, 500],
  [status.UNAVAILABLE, 503],
  [status.DATA_LOSS, 500],
  [status.UNAUTHENTICATED, 401],
];

describe('gRPC status → HTTP mapping', () => {
  it('covers every gRPC status code', () => {
    const codes = Object.values(status).filter(
      (value): value is number => typeof value === 'number',
    );
    expect(codes).toHaveLength(17);
    expect(EXPECTED.map(([code]) => code).sort((a, b) => a - b)).toEqual(
      [...codes].sort((a, b) => a - b),
    );
    expect(Object.keys(GRPC_TO_HTTP)).toHaveLength(17);
  });

  it.each(EXPECTED)('maps code %s to HTTP %s', (code, httpStatus) => {
    const error = apiErrorFromGrpc(serviceError(code, 'secret internal detail: db host 10.0.0.5'));
    expect(error.statusCode).toBe(httpStatus);
    if (httpStatus >= 500) {
      expect(error.message).not.toContain('secret');
      expect(error.code).toBe(status[code]);
    } else {
      expect(error.code).toBe(status[code]);
    }
  });

  it.each([
    [
      status.FAILED_PRECONDITION,
      'ERROR_REASON_IDEMPOTENCY_KEY_REUSED',
      422,
      'IDEMPOTENCY_KEY_REUSED',
    ],
    [
      status.ABORTED,
      'ERROR_REASON_IDEMPOTENCY_REQUEST_IN_FLIGHT',
      409,
      'IDEMPOTENCY_REQUEST_IN_FLIGHT',
    ],
    [status.INVALID_ARGUMENT, 'ERROR_REASON_MEDIA_TOO_LARGE', 413, 'MEDIA_TOO_LARGE'],
    [status.INVALID_ARGUMENT, 'ERROR_REASON_MEDIA_TYPE_UNSUPPORTED', 415, 'MEDIA_TYPE_UNSUPPORTED'],
    [
      status.FAILED_PRECONDITION,
      'ERROR_REASON_PAYMENT_NOT_REFUNDABLE',
      409,
      'PAYMENT_NOT_REFUNDABLE',
    ],
    [
      status.FAILED_PRECONDITION,
      'ERROR_REASON_REFUND_EXCEEDS_CAPTURED',
      422,
      'REFUND_EXCEEDS_CAPTURED',
    ],
    [status.UNAUTHENTICATED, 'ERROR_REASON_INVALID_CREDENTIALS', 401, 'INVALID_CREDENTIALS'],
    // The short spelling the grpc kit's README uses is accepted too.
    [status.FAILED_PRECONDITION, 'IDEMPOTENCY_KEY_REUSED', 422, 'IDEMPOTENCY_KEY_REUSED'],
  ])('maps %s with reason %s to HTTP %s (%s)', (code, reason, httpStatus, apiCode) => {
    const error = apiErrorFromGrpc(serviceError(code, 'safe message', reason));
    expect(error.statusCode).toBe(httpStatus);
    expect(error.code).toBe(apiCode);
    expect(error.message).toBe('safe message');
  });

  it('ignores unknown reasons and keeps the code mapping', () => {
    const error = apiErrorFromGrpc(
      serviceError(status.NOT_FOUND, 'article not found', 'ERROR_REASON_FROM_THE_FUTURE'),
    );
    expect(error.statusCode).toBe(404);
    expect(error.code).toBe('NOT_FOUND');
  });

  it('answers a non-gRPC error with a generic 500', () => {
    const error = apiErrorFromGrpc(
      new Error('TypeError: cannot read x of undefined at /srv/app.js:1'),
    );
    expect(error.statusCode).toBe(500);
    expect(error.message).toBe('internal error');
  });
});
