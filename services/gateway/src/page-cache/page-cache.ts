import { createHash } from 'node:crypto';
import { Cache, type CacheCodec } from '@strata/cache';
import { type Logger } from '@strata/logger';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { type Redis } from 'ioredis';

export interface CachedPage {
  readonly etag: string;
  /** The JSON body, already serialised through the route's response schema. */
  readonly body: string;
}

export interface PageCacheOptions {
  readonly redis: Redis;
  readonly logger: Logger;
  readonly keyPrefix: string;
  readonly ttlSeconds: number;
}

/**
 * A cached page as `<etag>\n<body>`. The default JSON codec would escape every quote of the body
 * (itself JSON) on the way in and parse the whole page back on every hit; this keeps the body as
 * it is and finds the ETag (a quoted base64url string, never containing a newline) by one scan.
 */
export const pageCodec: CacheCodec<CachedPage> = {
  encode: (page) => `${page.etag}\n${page.body}`,
  decode: (raw) => {
    const newline = raw.indexOf('\n');
    const etag = newline < 0 ? '' : raw.slice(0, newline);
    if (etag.length < 2 || !etag.startsWith('"') || !etag.endsWith('"')) {
      throw new Error('not a cached page');
    }
    return { etag, body: raw.slice(newline + 1) };
  },
};

export const ANONYMOUS_CACHE_CONTROL = 'public, max-age=0, must-revalidate';
export const PRIVATE_CACHE_CONTROL = 'private, no-store';

/**
 * Anonymous GETs of article lists and articles, cached in the gateway's Redis as serialised
 * bodies with a strong ETag. All pages live in one versioned namespace: a write through any
 * replica bumps the namespace generation (one INCR), and every replica reads the generation
 * before each lookup, so the next read anywhere is fresh without waiting for a TTL. The TTL only
 * bounds staleness from writes that do not pass through the gateway.
 *
 * Signed-in reads never touch the cache (they may include drafts), and are marked
 * `private, no-store` so no shared cache in between keeps them either.
 */
export class PageCache {
  private readonly pages: Cache<CachedPage>;

  constructor(options: PageCacheOptions) {
    this.pages = new Cache<CachedPage>({
      redis: options.redis,
      logger: options.logger,
      prefix: options.keyPrefix,
      namespace: 'pages',
      // 2: pages stored by pageCodec (1 was JSON).
      schemaVersion: 2,
      codec: pageCodec,
      ttlSeconds: options.ttlSeconds,
      namespaceVersioning: true,
    });
  }

  /**
   * Answers `request` with the page `key`, loading it with `load` on a miss. `serialize` must be
   * the route's response serialiser, so cached and fresh bodies are byte-identical.
   */
  async serve(
    request: FastifyRequest,
    reply: FastifyReply,
    key: string,
    load: () => Promise<Record<string, unknown>>,
  ): Promise<FastifyReply> {
    const serialize = reply.getSerializationFunction('200');
    const renderBody = async (): Promise<string> =>
      serialize ? serialize(await load()) : JSON.stringify(await load());
    const render = async (): Promise<CachedPage> => {
      const body = await renderBody();
      return {
        body,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`,
      };
    };
    reply.header('vary', 'Authorization');
    if (request.actor || request.headers.authorization !== undefined) {
      // Private and never revalidated (no-store): no ETag to compute.
      return reply
        .header('cache-control', PRIVATE_CACHE_CONTROL)
        .type('application/json; charset=utf-8')
        .send(await renderBody());
    }
    const page = await this.pages.getOrLoad(key, render);
    reply.header('etag', page.etag).header('cache-control', ANONYMOUS_CACHE_CONTROL);
    if (etagMatches(request.headers['if-none-match'], page.etag)) return reply.code(304).send();
    return reply.type('application/json; charset=utf-8').send(page.body);
  }

  /** Makes every cached page unreachable, on every replica. */
  invalidate(): Promise<boolean> {
    return this.pages.bumpNamespace();
  }

  drain(): Promise<void> {
    return this.pages.drain();
  }
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  // Weak comparison (RFC 9110 §13.1.2): W/ prefixes are ignored for If-None-Match.
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag);
}
