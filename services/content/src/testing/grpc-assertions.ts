import { type status } from '@grpc/grpc-js';
import { grpcErrorField, grpcErrorReason, isServiceError } from '@strata/grpc';

/** Awaits a call that must fail, and returns its code, field and reason for assertions. */
export async function grpcFailure(promise: Promise<unknown>): Promise<{
  code: status;
  field: string | undefined;
  reason: string | undefined;
  message: string;
}> {
  try {
    await promise;
  } catch (error) {
    if (!isServiceError(error)) throw error;
    return {
      code: error.code,
      field: grpcErrorField(error),
      reason: grpcErrorReason(error),
      message: error.details,
    };
  }
  throw new Error('expected the call to fail, but it succeeded');
}
