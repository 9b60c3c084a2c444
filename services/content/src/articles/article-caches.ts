import { createHash } from 'node:crypto';
import { type Cache } from '@strata/cache';
import { type ArticleRecord, type ArticleSummaryRecord } from './article';

/**
 * One object-cache entry: the article and its body rendered, so a warm read is one Redis round
 * trip (not a second one to the fragment cache). `rendererVersion` says which rules rendered it:
 * a process with other rules renders again (through the fragment cache) instead of serving it.
 */
export interface CachedArticle {
  readonly article: ArticleRecord;
  readonly bodyHtml: string;
  readonly rendererVersion: string;
}

/** One cached list page: summaries without author names (those are the user service's data). */
export interface ListPageRecord {
  readonly items: readonly ArticleSummaryRecord[];
  readonly nextPageToken: string;
}

/**
 * The object cache (articles by id and by slug, with their rendered bodies) and the list cache (pages under a namespace
 * generation). Every write calls {@link afterWrite} after its commit and before its RPC returns:
 * it deletes the article's keys and bumps the list generation, so no page cached before the
 * write can be read after it.
 */
export class ArticleCaches {
  constructor(
    readonly articles: Cache<CachedArticle>,
    readonly lists: Cache<ListPageRecord>,
  ) {}

  static idKey(id: string): string {
    return `id:${id}`;
  }

  static slugKey(slug: string): string {
    return `slug:${slug}`;
  }

  static listKey(parts: Record<string, string | number | undefined>): string {
    return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  }

  async afterWrite(id: string, slugs: ReadonlyArray<string | undefined>): Promise<void> {
    const keys = [
      ArticleCaches.idKey(id),
      ...slugs.flatMap((slug) => (slug ? [ArticleCaches.slugKey(slug)] : [])),
    ];
    await Promise.all([this.articles.invalidate(keys), this.lists.bumpNamespace()]);
  }

  async drain(): Promise<void> {
    await Promise.all([this.articles.drain(), this.lists.drain()]);
  }
}
