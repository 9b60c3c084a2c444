import { createHash, randomUUID } from 'node:crypto';
import { ErrorReason, errorReasonToJSON } from '@strata/contracts';
import { failedPrecondition, invalidArgument, notFound } from '@strata/grpc';
import { type Logger } from '@strata/logger';
import { type ActingUser, isUuid } from '../articles/article-fields';
import { type ContentDatabase } from '../database';
import { type Media } from '../generated/prisma/client';
import { enqueueInOutbox } from '../outbox';
import { declaredTypeMatches, detectFileType } from './file-type';
import { type StoredVariant, originalKey, parseVariants } from './media';
import { type MediaStorage } from './media-storage';
import { processMediaJob } from './media.job';

const FILENAME_MAX = 255;
const VARIANT_NAME_PATTERN = /^[a-z]{1,32}$/;

export interface CreateMediaInput {
  readonly filename: string;
  readonly declaredContentType: string;
  readonly content: Buffer;
}

export interface VariantBytes {
  readonly content: Buffer;
  readonly contentType: string;
  readonly sha256: string;
}

export class MediaUseCases {
  constructor(
    private readonly database: ContentDatabase,
    private readonly storage: MediaStorage,
    private readonly maxBytes: number,
    private readonly logger: Logger,
    /** Wakes the outbox relay after a commit (optional; it polls anyway). */
    private readonly onEnqueued: () => void = () => undefined,
  ) {}

  /**
   * Checks size and type from the bytes, stores them, then inserts the row (status processing)
   * and the processing job's outbox row in one transaction. Nothing is written on a bad request;
   * if the transaction fails, the stored bytes are removed again.
   */
  async create(actor: ActingUser, input: CreateMediaInput): Promise<Media> {
    const filename = input.filename.trim();
    if (
      filename.length === 0 ||
      [...filename].length > FILENAME_MAX ||
      /[\u0000-\u001f]/.test(filename)
    ) {
      throw invalidArgument('filename', `must be 1 to ${FILENAME_MAX} printable characters`);
    }
    if (input.content.length > this.maxBytes) {
      throw invalidArgument(
        'content',
        `larger than the limit of ${this.maxBytes} bytes`,
        errorReasonToJSON(ErrorReason.MEDIA_TOO_LARGE),
      );
    }
    const unsupported = errorReasonToJSON(ErrorReason.MEDIA_TYPE_UNSUPPORTED);
    if (input.content.length === 0) throw invalidArgument('content', 'empty file', unsupported);
    const detected = detectFileType(input.content);
    if (!detected)
      throw invalidArgument('content', 'not a PNG, JPEG, WebP, GIF or PDF file', unsupported);
    if (!declaredTypeMatches(input.declaredContentType, detected)) {
      throw invalidArgument(
        'content',
        `the bytes are ${detected.contentType}, not the declared type`,
        unsupported,
      );
    }

    const id = randomUUID();
    await this.storage.put(originalKey(id), input.content);
    try {
      const media = await this.database.$transaction(async (tx) => {
        const created = await tx.media.create({
          data: {
            id,
            ownerId: actor.userId,
            filename,
            kind: detected.kind,
            contentType: detected.contentType,
            sizeBytes: input.content.length,
            sha256: createHash('sha256').update(input.content).digest('hex'),
          },
        });
        await enqueueInOutbox(tx, processMediaJob, { mediaId: id });
        return created;
      });
      this.onEnqueued();
      return media;
    } catch (error) {
      await this.storage
        .deletePrefix(id)
        .catch((cleanupError: unknown) =>
          this.logger.warn({ err: cleanupError, mediaId: id }, 'orphaned media bytes not removed'),
        );
      throw error;
    }
  }

  async get(mediaId: string): Promise<Media> {
    if (!isUuid(mediaId)) throw invalidArgument('media_id', 'must be a UUID');
    const media = await this.database.media.findUnique({ where: { id: mediaId.toLowerCase() } });
    if (!media) throw notFound('media not found');
    return media;
  }

  async variant(mediaId: string, name: string): Promise<VariantBytes> {
    if (!VARIANT_NAME_PATTERN.test(name)) throw invalidArgument('variant', 'unknown variant name');
    const media = await this.get(mediaId);
    if (media.status !== 'ready') {
      throw failedPrecondition(
        errorReasonToJSON(ErrorReason.MEDIA_NOT_READY),
        `media is ${media.status}`,
      );
    }
    const variant: StoredVariant | undefined = parseVariants(media.variants).find(
      (item) => item.name === name,
    );
    if (!variant) throw notFound(`no variant "${name}"`);
    const content = await this.storage.get(variant.storageKey);
    if (!content) throw new Error(`variant bytes missing from storage: ${variant.storageKey}`);
    return { content, contentType: variant.contentType, sha256: variant.sha256 };
  }
}
