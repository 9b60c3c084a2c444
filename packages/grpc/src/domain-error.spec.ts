import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  DomainError,
  aborted,
  alreadyExists,
  failedPrecondition,
  grpcErrorField,
  grpcErrorReason,
  invalidArgument,
  isServiceError,
  notFound,
  permissionDenied,
  statusName,
  unauthenticated,
} from './index';

function serviceError(metadata: Metadata): ServiceError {
  return Object.assign(new Error('9 FAILED_PRECONDITION: nope'), {
    code: status.FAILED_PRECONDITION,
    details: 'nope',
    metadata,
  });
}

describe('DomainError helpers', () => {
  it.each([
    [
      invalidArgument('email', 'must be an email address'),
      status.INVALID_ARGUMENT,
      'email: must be an email address',
    ],
    [notFound('user not found'), status.NOT_FOUND, 'user not found'],
    [permissionDenied(), status.PERMISSION_DENIED, 'permission denied'],
    [alreadyExists('email already registered'), status.ALREADY_EXISTS, 'email already registered'],
    [aborted('concurrent update'), status.ABORTED, 'concurrent update'],
    [
      failedPrecondition('INSUFFICIENT_FUNDS', 'balance too low'),
      status.FAILED_PRECONDITION,
      'balance too low',
    ],
    [unauthenticated(), status.UNAUTHENTICATED, 'authentication required'],
  ])('%s carries code and safe message', (error, code, message) => {
    expect(error).toBeInstanceOf(DomainError);
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
  });

  it('puts reason and field in trailing metadata', () => {
    const conflict = aborted('key reused with another body', 'IDEMPOTENCY_KEY_REUSED');
    expect(conflict.trailers().get('strata-error-reason')).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    const invalid = invalidArgument('items[0].amount', 'must be positive');
    expect(invalid.trailers().get('strata-error-field')).toEqual(['items[0].amount']);
    expect(invalid.trailers().get('strata-error-reason')).toEqual([]);
  });

  it('refuses reasons that are not SCREAMING_SNAKE and the OK code', () => {
    expect(() => failedPrecondition('insufficient funds', 'x')).toThrow(TypeError);
    expect(() => new DomainError(status.OK, 'fine')).toThrow(TypeError);
  });

  it('drops a field name that could not travel as metadata', () => {
    expect(invalidArgument('naïve\nfield', 'bad').field).toBeUndefined();
  });
});

describe('reading errors on the client side', () => {
  it('reads reason and field from a ServiceError', () => {
    const metadata = new Metadata();
    metadata.set('strata-error-reason', 'INSUFFICIENT_FUNDS');
    metadata.set('strata-error-field', 'amount');
    const error = serviceError(metadata);
    expect(isServiceError(error)).toBe(true);
    expect(grpcErrorReason(error)).toBe('INSUFFICIENT_FUNDS');
    expect(grpcErrorField(error)).toBe('amount');
  });

  it('answers undefined for anything else', () => {
    expect(grpcErrorReason(serviceError(new Metadata()))).toBeUndefined();
    expect(grpcErrorReason(new Error('plain'))).toBeUndefined();
    expect(grpcErrorReason(undefined)).toBeUndefined();
    expect(isServiceError({ code: 5, metadata: new Metadata() })).toBe(false);
  });

  it('names status codes', () => {
    expect(statusName(status.DEADLINE_EXCEEDED)).toBe('DEADLINE_EXCEEDED');
    expect(statusName(99 as status)).toBe('CODE_99');
  });
});
