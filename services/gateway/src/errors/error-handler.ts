import {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { isServiceError } from '@strata/grpc';
import { ApiError } from './api-error';
import { apiErrorFromGrpc } from './grpc-status.mapping';

/** The one error body the API answers with. */
export interface ErrorBody {
  error: { code: string; message: string; requestId: string };
}

// Fastify's own 4xx errors (body too large, bad JSON, unsupported content type…) carry safe
// messages; they are given stable codes here so clients need not parse the text.
const HTTP_STATUS_CODES: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  408: 'REQUEST_TIMEOUT',
  409: 'ABORTED',
  411: 'LENGTH_REQUIRED',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_ENTITY',
  429: 'RESOURCE_EXHAUSTED',
  431: 'REQUEST_HEADER_FIELDS_TOO_LARGE',
};

function isFastifyError(error: unknown): error is FastifyError {
  return error instanceof Error && 'code' in error;
}

/** Classifies anything thrown while handling a request into the ApiError to answer with. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (isServiceError(error)) return apiErrorFromGrpc(error);
  if (isFastifyError(error)) {
    if (error.validation) {
      const context = error.validationContext ?? 'request';
      return new ApiError(
        400,
        'INVALID_ARGUMENT',
        `${context}${error.message.replace(/^[a-z]+/, '')}`.slice(0, 500),
      );
    }
    const statusCode = error.statusCode ?? 500;
    if (statusCode >= 400 && statusCode < 500) {
      // @fastify/multipart reports a non-multipart request as 406; for an upload it means the
      // body is of a type this route does not take.
      if (error.code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') {
        return new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'expected multipart/form-data');
      }
      return new ApiError(
        statusCode,
        HTTP_STATUS_CODES[statusCode] ?? 'INVALID_ARGUMENT',
        error.message.slice(0, 500),
      );
    }
  }
  return new ApiError(500, 'INTERNAL', 'internal error');
}

/** Sends `error` in the API's error shape. Also used by hooks that answer before routing. */
export function sendApiError(
  request: FastifyRequest,
  reply: FastifyReply,
  apiError: ApiError,
): FastifyReply {
  for (const [name, value] of Object.entries(apiError.headers)) reply.header(name, value);
  const body: ErrorBody = {
    error: { code: apiError.code, message: apiError.message, requestId: request.id },
  };
  return reply.code(apiError.statusCode).type('application/json; charset=utf-8').send(body);
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const apiError = toApiError(error);
    if (apiError.statusCode >= 500) {
      // The real cause stays in the log, with the request id; the client gets the generic text.
      request.log.error({ err: error, statusCode: apiError.statusCode }, 'request failed');
    } else if (isServiceError(error)) {
      request.log.info(
        { grpcCode: error.code, statusCode: apiError.statusCode },
        'downstream refused request',
      );
    }
    return sendApiError(request, reply, apiError);
  });
  app.setNotFoundHandler((request, reply) =>
    sendApiError(request, reply, new ApiError(404, 'NOT_FOUND', 'route not found')),
  );
}
