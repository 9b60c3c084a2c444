/**
 * An error the gateway answers with as is: HTTP status, stable machine code, safe message. Routes
 * and hooks throw it; the error handler turns it into `{"error":{"code","message","requestId"}}`.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

export const unauthorized = (message = 'authentication required'): ApiError =>
  new ApiError(401, 'UNAUTHENTICATED', message);

export const notFound = (message = 'not found'): ApiError =>
  new ApiError(404, 'NOT_FOUND', message);

export const badRequest = (message: string): ApiError =>
  new ApiError(400, 'INVALID_ARGUMENT', message);
