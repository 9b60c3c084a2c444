import multipart, { type MultipartFile } from '@fastify/multipart';
import { contentV1 } from '@strata/contracts';
import { type FastifyInstance, type FastifyRequest } from 'fastify';
import { actorOf } from '../auth/authenticate.hook';
import { callOptionsFor } from '../downstream/downstream';
import { ApiError, badRequest } from '../errors/api-error';
import {
  enumName,
  errorResponses,
  idParams,
  nullableString,
  securityBearer,
  uuidString,
  type IdParams,
} from '../http/schemas';
import { type GatewayContext } from '../gateway-context';

const mediaStatus = { type: 'string', enum: ['processing', 'ready', 'failed'] } as const;

const mediaAcceptedSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'status'],
  properties: { id: { type: 'string' }, status: mediaStatus },
} as const;

const mediaSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'status', 'variants', 'failureReason'],
  properties: {
    id: { type: 'string' },
    status: mediaStatus,
    failureReason: nullableString,
    variants: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'width', 'height', 'url'],
        properties: {
          name: { type: 'string' },
          width: { type: 'integer' },
          height: { type: 'integer' },
          url: { type: 'string' },
        },
      },
    },
  },
} as const;

function statusName(status: contentV1.MediaStatus): string {
  return enumName(contentV1.mediaStatusToJSON(status), 'MEDIA_STATUS_');
}

/**
 * The one `file` part, fully read. busboy reports a malformed body (truncated, bad part headers)
 * with plain errors that have no status: those are the client's fault, so 400, not 500.
 */
async function readFilePart(
  request: FastifyRequest,
): Promise<{ part: MultipartFile; bytes: Buffer }> {
  try {
    const part = await request.file();
    if (!part || part.fieldname !== 'file')
      throw badRequest('file: a multipart part named "file" is required');
    return { part, bytes: await part.toBuffer() };
  } catch (error) {
    if (error instanceof ApiError || (error instanceof Error && 'statusCode' in error)) throw error;
    throw badRequest('malformed multipart body');
  }
}

interface VariantParams extends IdParams {
  variant: string;
}

/**
 * Uploads are multipart with one `file` part, held in memory up to MEDIA_MAX_BYTES (the service
 * takes them as one gRPC message anyway) and refused with 413 as soon as the part exceeds it.
 */
export async function mediaRoutes(scope: FastifyInstance, context: GatewayContext): Promise<void> {
  const { content } = context.downstream;
  const maxBytes = context.config.MEDIA_MAX_BYTES;
  await scope.register(multipart, {
    limits: { files: 1, fileSize: maxBytes, fields: 0, parts: 2, headerPairs: 50 },
    throwFileSizeLimit: true,
  });

  scope.post(
    '/v1/media',
    {
      // The whole multipart body: the file plus part headers and boundaries.
      bodyLimit: maxBytes + 64 * 1024,
      schema: {
        tags: ['media'],
        summary: 'Upload an image or PDF (multipart, field `file`); processed in the background',
        security: securityBearer,
        consumes: ['multipart/form-data'],
        response: { 202: mediaAcceptedSchema, ...errorResponses(400, 401, 413, 415) },
      },
      config: { auth: 'required' },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const { part, bytes } = await readFilePart(request);
      if (bytes.length === 0) throw badRequest('file: empty upload');
      const response = await content.createMedia(
        {
          actor,
          filename: (part.filename || 'upload').slice(0, 255),
          declaredContentType: part.mimetype.slice(0, 255),
          content: bytes,
        },
        // Large bodies take longer to send than a small call's deadline.
        callOptionsFor(request, context.config.DOWNSTREAM_DEADLINE_MS * 4),
      );
      const media = response.media;
      if (!media) throw new ApiError(500, 'INTERNAL', 'internal error');
      return reply.code(202).send({ id: media.id, status: statusName(media.status) });
    },
  );

  scope.get<{ Params: IdParams }>(
    '/v1/media/:id',
    {
      schema: {
        tags: ['media'],
        summary: 'Processing status and variants of an upload',
        params: idParams,
        response: { 200: mediaSchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { media } = await content.getMedia(
        { mediaId: request.params.id },
        callOptionsFor(request),
      );
      if (!media) throw new ApiError(500, 'INTERNAL', 'internal error');
      return {
        id: media.id,
        status: statusName(media.status),
        failureReason: media.failureReason === '' ? null : media.failureReason,
        variants: media.variants.map((variant) => ({
          name: variant.name,
          width: variant.width,
          height: variant.height,
          url: `/v1/media/${encodeURIComponent(media.id)}/${encodeURIComponent(variant.name)}`,
        })),
      };
    },
  );

  scope.get<{ Params: VariantParams }>(
    '/v1/media/:id/:variant',
    {
      schema: {
        tags: ['media'],
        summary: 'Bytes of one variant (immutable)',
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'variant'],
          properties: {
            id: uuidString,
            variant: { type: 'string', minLength: 1, maxLength: 32, pattern: '^[a-z0-9_-]+$' },
          },
        },
        produces: ['image/webp', 'image/png', 'image/jpeg', 'image/gif', 'application/pdf'],
        response: {
          200: { type: 'string', format: 'binary', description: 'The variant bytes' },
          304: { type: 'null', description: 'Not modified (If-None-Match)' },
          ...errorResponses(400, 404, 409),
        },
      },
    },
    async (request, reply) => {
      const response = await content.getMediaVariant(
        { mediaId: request.params.id, variant: request.params.variant },
        callOptionsFor(request, context.config.DOWNSTREAM_DEADLINE_MS * 4),
      );
      const etag = `"${response.sha256}"`;
      // Variants never change once written.
      reply.header('etag', etag).header('cache-control', 'public, max-age=31536000, immutable');
      reply.header('x-content-type-options', 'nosniff');
      if (request.headers['if-none-match'] === etag) return reply.code(304).send();
      return reply.type(response.contentType || 'application/octet-stream').send(response.content);
    },
  );
}
