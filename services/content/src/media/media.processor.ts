import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { type Logger } from '@strata/logger';
import { PermanentJobError } from '@strata/queue';
import { type ContentDatabase } from '../database';
import { type Media } from '../generated/prisma/client';
import { type RealtimePublisher } from '../events/realtime-publisher';
import { type StoredVariant, originalKey, variantKey } from './media';
import { type MediaStorage } from './media-storage';
import { type ProcessMediaPayload } from './media.job';
import { countPdfPages } from './pdf-info';

/** Bounding widths of the WebP renditions of every image. */
export const IMAGE_VARIANTS = [
  { name: 'small', width: 320 },
  { name: 'medium', width: 800 },
  { name: 'large', width: 1600 },
] as const;

const WEBP_QUALITY = 80;

/** A file that can never be processed: the job fails for good and the item is marked failed. */
class MediaRejectedError extends Error {}

interface ProcessingResult {
  readonly width: number;
  readonly height: number;
  readonly pageCount: number;
  readonly variants: StoredVariant[];
}

export interface MediaProcessorOptions {
  readonly database: ContentDatabase;
  readonly storage: MediaStorage;
  readonly events: RealtimePublisher;
  readonly logger: Logger;
  /** sharp's `limitInputPixels`: a decompression bomb fails before it is decoded. */
  readonly maxPixels: number;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The body of the `process-media` job: images → three WebP variants and dimensions, PDFs → page
 * count (the checksum was taken on upload). Ends in `ready` or `failed` with a reason, and tells
 * the uploader either way. Re-running a finished job is a no-op, so a redelivery is harmless.
 */
export class MediaProcessor {
  constructor(private readonly options: MediaProcessorOptions) {}

  async process(payload: ProcessMediaPayload): Promise<{ status: 'ready' | 'failed' | 'skipped' }> {
    const { database, storage, logger } = this.options;
    const media = await database.media.findUnique({ where: { id: payload.mediaId } });
    if (!media) throw new PermanentJobError(`media ${payload.mediaId} does not exist`);
    if (media.status !== 'processing') return { status: 'skipped' };
    const original = await storage.get(originalKey(media.id));

    let result: ProcessingResult;
    try {
      if (!original) throw new MediaRejectedError('original file missing');
      result =
        media.kind === 'image'
          ? await this.processImage(media, original)
          : this.processPdf(media, original);
    } catch (error) {
      if (!(error instanceof MediaRejectedError)) throw error; // transient: BullMQ retries
      await this.markFailed(media, error.message);
      logger.info({ mediaId: media.id, reason: error.message }, 'media processing failed');
      throw new PermanentJobError(error.message);
    }

    const marked = await database.media.updateMany({
      where: { id: media.id, status: 'processing' },
      data: {
        status: 'ready',
        width: result.width,
        height: result.height,
        pageCount: result.pageCount,
        variants: result.variants.map((variant) => ({ ...variant })),
      },
    });
    if (marked.count === 0) return { status: 'skipped' };
    await this.options.events.publish(media.ownerId, {
      type: 'media.ready',
      at: new Date(),
      data: { mediaId: media.id, variantNames: result.variants.map((variant) => variant.name) },
    });
    return { status: 'ready' };
  }

  private async processImage(media: Media, original: Buffer): Promise<ProcessingResult> {
    const input = () =>
      sharp(original, { limitInputPixels: this.options.maxPixels, failOn: 'error' });
    let width: number;
    let height: number;
    try {
      const metadata = await input().metadata();
      if (!metadata.width || !metadata.height) throw new MediaRejectedError('corrupt image');
      width = metadata.width;
      height = metadata.height;
    } catch (error) {
      throw rejection(error);
    }
    const variants: StoredVariant[] = [this.originalVariant(media, width, height)];
    for (const spec of IMAGE_VARIANTS) {
      let output: { data: Buffer; info: sharp.OutputInfo };
      try {
        output = await input()
          .rotate()
          .resize({
            width: spec.width,
            height: spec.width,
            fit: 'inside',
            withoutEnlargement: true,
          })
          .webp({ quality: WEBP_QUALITY })
          .toBuffer({ resolveWithObject: true });
      } catch (error) {
        throw rejection(error);
      }
      const storageKey = variantKey(media.id, spec.name);
      await this.options.storage.put(storageKey, output.data);
      variants.push({
        name: spec.name,
        width: output.info.width,
        height: output.info.height,
        contentType: 'image/webp',
        sizeBytes: output.data.length,
        sha256: sha256(output.data),
        storageKey,
      });
    }
    return { width, height, pageCount: 0, variants };
  }

  private processPdf(media: Media, original: Buffer): ProcessingResult {
    const pageCount = countPdfPages(original);
    if (pageCount === 0) throw new MediaRejectedError('corrupt pdf');
    return { width: 0, height: 0, pageCount, variants: [this.originalVariant(media, 0, 0)] };
  }

  private originalVariant(media: Media, width: number, height: number): StoredVariant {
    return {
      name: 'original',
      width,
      height,
      contentType: media.contentType,
      sizeBytes: media.sizeBytes,
      sha256: media.sha256,
      storageKey: originalKey(media.id),
    };
  }

  private async markFailed(media: Media, reason: string): Promise<void> {
    const marked = await this.options.database.media.updateMany({
      where: { id: media.id, status: 'processing' },
      data: { status: 'failed', failureReason: reason.slice(0, 200) },
    });
    if (marked.count === 0) return;
    await this.options.events.publish(media.ownerId, {
      type: 'media.failed',
      at: new Date(),
      data: { mediaId: media.id, failureReason: reason },
    });
  }
}

/** sharp's decode errors are properties of the file, not of the moment: never worth a retry. */
function rejection(error: unknown): MediaRejectedError {
  if (error instanceof MediaRejectedError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new MediaRejectedError(/pixel limit/i.test(message) ? 'too many pixels' : 'corrupt image');
}
