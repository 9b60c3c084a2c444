import { type ServiceError } from '@grpc/grpc-js';
import { isServiceError } from '../domain-error';

/** Awaits a call that must fail and returns its ServiceError (fails the test otherwise). */
export async function expectServiceError(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    const value = await promise;
    throw new Error(`expected the call to fail, it answered ${JSON.stringify(value)}`);
  } catch (error) {
    if (!isServiceError(error)) throw error;
    return error;
  }
}
