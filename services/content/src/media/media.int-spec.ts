import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { status } from '@grpc/grpc-js';
import {
  contentV1,
  parseRealtimeEvent,
  realtimeEventChannel,
  type RealtimeEvent,
} from '@strata/contracts';
import { createLogger } from '@strata/logger';
import { waitFor } from '@strata/testing';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import {
  type ContentTestEnvironment,
  type RunningContentService,
  createContentTestEnvironment,
  newUser,
  startContentService,
} from '../testing/content-harness';
import { grpcFailure } from '../testing/grpc-assertions';
import { buildWorker, type ContentWorker } from '../worker-app';
import { type ProcessMediaResult } from './media.job';

const MAX_BYTES = 300_000;
// Below the default (50 M): an image over it fails only if the sandbox got the worker's config.
const MAX_PIXELS = 5_000_000;
// A sandbox child loads the service's sources through tsx (≈ 2 CPU-seconds) before its first
// job; on a machine shared with other suites that can take a while.
jest.setTimeout(120_000);
const SETTLE_TIMEOUT_MS = 60_000;

/** A solid-colour PNG: a few kilobytes whatever its size in pixels. */
function solidPng(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 30, g: 90, b: 200 } } })
    .png()
    .toBuffer();
}

/**
 * Pids of this process's BullMQ sandbox children (`bullmq/dist/…/main.js`), from /proc; a
 * zombie (exited, not yet reaped) does not count.
 */
async function sandboxChildren(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // `pid (comm) state ppid …`: fields after the last parenthesis.
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== process.pid || state === 'Z') continue;
      const commandLine = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      if (/bullmq[\\/]dist[\\/].*main\.js/.test(commandLine)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** A minimal valid two-page PDF (uncompressed page tree). */
function twoPagePdf(): Buffer {
  return Buffer.from(
    '%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n' +
      '2 0 obj << /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >> endobj\n' +
      '3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj\n' +
      '4 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj\n' +
      'trailer << /Root 1 0 R >>\n%%EOF\n',
    'latin1',
  );
}

describe('media: upload checks and background processing', () => {
  let environment: ContentTestEnvironment;
  let service: RunningContentService;
  let worker: ContentWorker | undefined;
  let subscriber: Redis;
  let png: Buffer;

  beforeAll(async () => {
    environment = await createContentTestEnvironment({
      MEDIA_MAX_BYTES: String(MAX_BYTES),
      IMAGE_MAX_PIXELS: String(MAX_PIXELS),
    });
    service = await startContentService(environment);
    subscriber = new Redis(environment.redis.url);
    png = await sharp({
      create: { width: 2000, height: 1000, channels: 3, background: { r: 200, g: 30, b: 30 } },
    })
      .png()
      .toBuffer();
  });

  afterAll(async () => {
    subscriber?.disconnect();
    await worker?.close();
    await service?.close();
    await environment?.close();
  });

  const upload = (
    actor: { userId: string; role: number } | undefined,
    filename: string,
    declaredContentType: string,
    content: Buffer,
  ) =>
    service.client.createMedia({
      ...(actor ? { actor } : {}),
      filename,
      declaredContentType,
      content,
    });

  const settled = async (id: string) => {
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (;;) {
      const { media } = await service.client.getMedia({ mediaId: id });
      if (media!.status !== contentV1.MediaStatus.PROCESSING) return media!;
      if (Date.now() > deadline) throw new Error(`media ${id} still processing`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  const startWorker = () =>
    buildWorker(
      environment.config,
      createLogger({ name: 'content-worker-test', level: 'silent' }),
      { queuePrefix: environment.redis.queuePrefix },
    );

  /** Results of completed jobs and every failed attempt, by media id, as the worker saw them. */
  function jobOutcomes(contentWorker: ContentWorker) {
    const completed = new Map<string, ProcessMediaResult>();
    const failures: Array<{ mediaId: string; attemptsMade: number; message: string }> = [];
    const mediaIdOf = (data: unknown) => (data as { mediaId: string }).mediaId;
    contentWorker.mediaWorker.current.on('completed', (job, result) => {
      completed.set(mediaIdOf(job.data), result as ProcessMediaResult);
    });
    contentWorker.mediaWorker.current.on('failed', (job, error) => {
      if (job) {
        failures.push({
          mediaId: mediaIdOf(job.data),
          attemptsMade: job.attemptsMade,
          message: error.message,
        });
      }
    });
    return { completed, failures };
  }

  it('checks type and size from the bytes and writes nothing on a bad upload', async () => {
    const owner = newUser(environment, 'Uploader');
    const lyingPng = await grpcFailure(
      upload(owner, 'cat.png', 'image/png', Buffer.from('definitely not a png')),
    );
    expect(lyingPng).toMatchObject({
      code: status.INVALID_ARGUMENT,
      field: 'content',
      reason: 'ERROR_REASON_MEDIA_TYPE_UNSUPPORTED',
    });
    const mismatched = await grpcFailure(upload(owner, 'doc.pdf', 'application/pdf', png));
    expect(mismatched).toMatchObject({
      code: status.INVALID_ARGUMENT,
      reason: 'ERROR_REASON_MEDIA_TYPE_UNSUPPORTED',
    });
    const tooLarge = await grpcFailure(
      upload(
        owner,
        'big.png',
        'image/png',
        Buffer.concat([png.subarray(0, 8), Buffer.alloc(MAX_BYTES)]),
      ),
    );
    expect(tooLarge).toMatchObject({
      code: status.INVALID_ARGUMENT,
      field: 'content',
      reason: 'ERROR_REASON_MEDIA_TOO_LARGE',
    });
    expect((await grpcFailure(upload(owner, '', 'image/png', png))).field).toBe('filename');
    expect((await grpcFailure(upload(undefined, 'a.png', 'image/png', png))).code).toBe(
      status.UNAUTHENTICATED,
    );
    const { rows } = await environment.sql.query<{ media: string; outbox: string }>(
      `SELECT (SELECT count(*) FROM media) AS media, (SELECT count(*) FROM outbox_events) AS outbox`,
    );
    expect(rows[0]).toEqual({ media: '0', outbox: '0' });
  });

  it('stores an upload as PROCESSING with its job, and refuses variants until it is ready', async () => {
    const owner = newUser(environment, 'Early');
    const { media } = await upload(owner, 'photo.png', 'image/png', png);
    expect(media).toMatchObject({
      ownerId: owner.userId,
      kind: contentV1.MediaKind.IMAGE,
      contentType: 'image/png',
      sizeBytes: png.length,
      status: contentV1.MediaStatus.PROCESSING,
      sha256: createHash('sha256').update(png).digest('hex'),
      variants: [],
    });
    const { rows } = await environment.sql.query(
      `SELECT payload FROM outbox_events WHERE name = 'process-media'`,
    );
    expect(rows).toContainEqual({ payload: { mediaId: media!.id } });
    const notReady = await grpcFailure(
      service.client.getMediaVariant({ mediaId: media!.id, variant: 'small' }),
    );
    expect(notReady).toMatchObject({
      code: status.FAILED_PRECONDITION,
      reason: 'ERROR_REASON_MEDIA_NOT_READY',
    });
  });

  it('the worker makes three WebP variants of an image, counts PDF pages, fails a corrupt image with a reason and keeps going', async () => {
    const owner = newUser(environment, 'Processor');
    const events: RealtimeEvent[] = [];
    await subscriber.subscribe(realtimeEventChannel(owner.userId));
    subscriber.on('message', (_channel: string, message: string) => {
      const event = parseRealtimeEvent(message);
      if (event) events.push(event);
    });
    // The corrupt file goes first: the good ones after it must still be processed.
    const corrupt = Buffer.concat([png.subarray(0, 64), Buffer.alloc(4_000, 7)]);
    const { media: broken } = await upload(owner, 'broken.png', 'image/png', corrupt);
    const { media: image } = await upload(owner, 'wide.png', '', png);
    const { media: pdf } = await upload(owner, 'doc.pdf', 'application/pdf', twoPagePdf());
    const { media: huge } = await upload(
      owner,
      'huge.png',
      'image/png',
      await solidPng(3000, 2000),
    );

    worker = startWorker();
    const outcomes = jobOutcomes(worker);
    await worker.start();

    const failed = await settled(broken!.id);
    expect(failed).toMatchObject({
      status: contentV1.MediaStatus.FAILED,
      failureReason: 'corrupt image',
      variants: [],
    });

    const ready = await settled(image!.id);
    expect(ready).toMatchObject({
      status: contentV1.MediaStatus.READY,
      width: 2000,
      height: 1000,
      pageCount: 0,
    });
    expect(
      ready.variants.map(({ name, width, height, contentType }) => ({
        name,
        width,
        height,
        contentType,
      })),
    ).toEqual([
      { name: 'original', width: 2000, height: 1000, contentType: 'image/png' },
      { name: 'small', width: 320, height: 160, contentType: 'image/webp' },
      { name: 'medium', width: 800, height: 400, contentType: 'image/webp' },
      { name: 'large', width: 1600, height: 800, contentType: 'image/webp' },
    ]);
    const medium = await service.client.getMediaVariant({ mediaId: image!.id, variant: 'medium' });
    expect(medium.contentType).toBe('image/webp');
    expect(medium.sha256).toBe(createHash('sha256').update(medium.content).digest('hex'));
    expect(await sharp(medium.content).metadata()).toMatchObject({
      format: 'webp',
      width: 800,
      height: 400,
    });
    const original = await service.client.getMediaVariant({
      mediaId: image!.id,
      variant: 'original',
    });
    expect(original.content.equals(png)).toBe(true);
    expect(
      (await grpcFailure(service.client.getMediaVariant({ mediaId: image!.id, variant: 'huge' })))
        .code,
    ).toBe(status.NOT_FOUND);

    const document = await settled(pdf!.id);
    expect(document).toMatchObject({
      status: contentV1.MediaStatus.READY,
      kind: contentV1.MediaKind.PDF,
      pageCount: 2,
    });

    // The uploader was told about each outcome.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(
      events.map((event) => [event.type, 'mediaId' in event.data ? event.data.mediaId : '']),
    ).toEqual(
      expect.arrayContaining([
        ['media.failed', broken!.id],
        ['media.ready', image!.id],
        ['media.ready', pdf!.id],
      ]),
    );
    // IMAGE_MAX_PIXELS reached the sandbox: 6 M pixels is under the default limit, over ours.
    expect(await settled(huge!.id)).toMatchObject({
      status: contentV1.MediaStatus.FAILED,
      failureReason: 'too many pixels',
    });

    // The work ran in sandbox children, not in this process. (The row is written by the child
    // before the worker's 'completed' event arrives.)
    for (const id of [image!.id, pdf!.id]) {
      await waitFor(() => outcomes.completed.has(id), SETTLE_TIMEOUT_MS);
      expect(outcomes.completed.get(id)).toEqual({
        status: 'ready',
        pid: expect.any(Number) as number,
        threadId: 0,
      });
      expect(outcomes.completed.get(id)!.pid).not.toBe(process.pid);
    }
    // The corrupt file's job failed for good (no retries of a file that can never decode).
    expect(outcomes.failures.filter((failure) => failure.mediaId === broken!.id)).toEqual([
      { mediaId: broken!.id, attemptsMade: 1, message: 'PermanentJobError: corrupt image' },
    ]);
    expect(worker.mediaWorker.current.isRunning()).toBe(true);
    await subscriber.unsubscribe();
  });

  it('a sandbox child killed mid-job fails only that attempt: the job is retried in a fresh child, and close() stops the children', async () => {
    await worker?.close();
    const owner = newUser(environment, 'Survivor');
    const { media } = await upload(owner, 'survivor.png', 'image/png', png);
    worker = startWorker();
    const outcomes = jobOutcomes(worker);
    await worker.start();

    // The only job is active as soon as a child is forked for it: kill that child (as the OOM
    // killer would) while it loads or processes. (BullMQ reports a child lost while loading with
    // console.error; the assertions below are on the job.)
    jest.spyOn(console, 'error').mockImplementation(() => undefined);
    let killed: number[] = [];
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    while (killed.length === 0) {
      if (Date.now() > deadline) throw new Error('no sandbox child was started');
      killed = await sandboxChildren();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const pid of killed) process.kill(pid, 'SIGKILL');

    expect(await settled(media!.id)).toMatchObject({
      status: contentV1.MediaStatus.READY,
      width: 2000,
      height: 1000,
    });
    expect(outcomes.failures).toEqual([
      { mediaId: media!.id, attemptsMade: 1, message: expect.stringMatching(/SIGKILL/) as string },
    ]);
    // The media row is READY once the child wrote it; the worker's 'completed' event follows.
    await waitFor(() => outcomes.completed.has(media!.id), SETTLE_TIMEOUT_MS);
    const result = outcomes.completed.get(media!.id)!;
    expect(result.status).toBe('ready');
    expect(killed).not.toContain(result.pid);
    expect(worker.mediaWorker.current.isRunning()).toBe(true);

    const children = await sandboxChildren();
    expect(children).toContain(result.pid); // kept for the next job
    await worker.close();
    expect(await sandboxChildren()).toEqual([]);
    jest.restoreAllMocks();
  });
});
