import { createHash } from 'node:crypto';
import { type Cache } from '@strata/cache';
import { type BodyRenderer } from './markdown.renderer';

/**
 * Rendered HTML keyed by sha256(renderer version + body): content-addressed, so it never needs
 * invalidating (a changed body is a different key) and every process shares it through Redis.
 * The cache's lease makes concurrent misses of one body across processes render it once.
 */
export class FragmentCache {
  constructor(
    private readonly cache: Cache<string>,
    private readonly renderer: BodyRenderer,
  ) {}

  /** The renderer's version: HTML rendered under another one is not served by this process. */
  get rendererVersion(): string {
    return this.renderer.version;
  }

  static keyFor(rendererVersion: string, body: string): string {
    return createHash('sha256').update(rendererVersion).update('\0').update(body).digest('hex');
  }

  render(body: string): Promise<string> {
    const key = FragmentCache.keyFor(this.renderer.version, body);
    return this.cache.getOrLoad(key, () => Promise.resolve(this.renderer.render(body)));
  }

  drain(): Promise<void> {
    return this.cache.drain();
  }
}
