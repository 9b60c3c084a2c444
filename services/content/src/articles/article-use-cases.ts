import { randomBytes } from 'node:crypto';
import { alreadyExists, invalidArgument, notFound, permissionDenied } from '@strata/grpc';
import { isUniqueViolation } from '@strata/db';
import { type AuthorDirectory } from '../authors/author-directory';
import { excerptFromHtml } from '../rendering/markdown.renderer';
import { type FragmentCache } from '../rendering/fragment-cache';
import {
  type ArticleRecord,
  type ArticleSummaryRecord,
  type ListFilters,
  canChange,
  canSee,
} from './article';
import { ArticleCaches, type CachedArticle, type ListPageRecord } from './article-caches';
import {
  type ActingUser,
  QUERY_MAX,
  SLUG_MAX,
  TAG_MAX,
  isUuid,
  parseBody,
  parsePageSize,
  parseSlug,
  parseTags,
  parseTitle,
  slugFromTitle,
} from './article-fields';
import { type ArticleChanges, type ArticlesRepository } from './articles.repository';
import { decodePageToken, encodePageToken, filterFingerprint } from './page-token';

/** An article ready to be shown: rendered HTML and author name attached. */
export interface ArticleView {
  readonly article: ArticleRecord;
  readonly bodyHtml: string;
  readonly authorName: string;
}

export interface ArticlePage {
  readonly items: ReadonlyArray<{ summary: ArticleSummaryRecord; authorName: string }>;
  readonly nextPageToken: string;
}

export interface CreateArticleInput {
  readonly title: string;
  readonly body: string;
  readonly tags: readonly string[];
  readonly slug?: string;
}

export interface UpdateArticleInput {
  readonly articleId: string;
  readonly title?: string;
  readonly body?: string;
  readonly slug?: string;
  readonly tags?: readonly string[];
}

export interface ListArticlesInput {
  readonly pageSize: number;
  readonly pageToken: string;
  readonly tag?: string;
  readonly authorId?: string;
  readonly query?: string;
}

const DERIVED_SLUG_ATTEMPTS = 5;

export class ArticleUseCases {
  constructor(
    private readonly repository: ArticlesRepository,
    private readonly caches: ArticleCaches,
    private readonly fragments: FragmentCache,
    private readonly authors: AuthorDirectory,
  ) {}

  async create(actor: ActingUser, input: CreateArticleInput): Promise<ArticleView> {
    const title = parseTitle(input.title);
    const body = parseBody(input.body);
    const tags = parseTags(input.tags);
    const wantedSlug = input.slug === undefined ? undefined : parseSlug(input.slug);
    // Rendering through the fragment cache also warms it: the first read renders nothing.
    const bodyHtml = await this.fragments.render(body);
    const fields = {
      title,
      body,
      tags,
      excerpt: excerptFromHtml(bodyHtml),
      authorId: actor.userId,
    };

    let article: ArticleRecord | undefined;
    if (wantedSlug !== undefined) {
      try {
        article = await this.repository.create({ ...fields, slug: wantedSlug });
      } catch (error) {
        if (isUniqueViolation(error)) throw alreadyExists(`slug "${wantedSlug}" is taken`);
        throw error;
      }
    } else {
      const base = slugFromTitle(title);
      for (let attempt = 0; attempt < DERIVED_SLUG_ATTEMPTS && !article; attempt += 1) {
        const slug =
          attempt === 0 ? base : `${base.slice(0, SLUG_MAX - 9)}-${randomBytes(4).toString('hex')}`;
        try {
          article = await this.repository.create({ ...fields, slug });
        } catch (error) {
          if (!isUniqueViolation(error)) throw error;
        }
      }
      if (!article) throw alreadyExists('could not derive a free slug from the title; give one');
    }
    // A draft is in no list, but its slug may have been cached as "not found" by another reader.
    await this.caches.afterWrite(article.id, [article.slug]);
    return this.view(article, bodyHtml);
  }

  async update(actor: ActingUser, input: UpdateArticleInput): Promise<ArticleView> {
    const changes: { -readonly [K in keyof ArticleChanges]: ArticleChanges[K] } = {};
    if (input.title !== undefined) changes.title = parseTitle(input.title);
    if (input.body !== undefined) changes.body = parseBody(input.body);
    if (input.slug !== undefined) changes.slug = parseSlug(input.slug);
    if (input.tags !== undefined) changes.tags = parseTags(input.tags);
    const current = await this.loadForChange(actor, input.articleId);
    let bodyHtml: string | undefined;
    if (changes.body !== undefined) {
      bodyHtml = await this.fragments.render(changes.body);
      changes.excerpt = excerptFromHtml(bodyHtml);
    }
    let updated: ArticleRecord;
    try {
      updated = await this.repository.update(current.id, changes);
    } catch (error) {
      if (isUniqueViolation(error)) throw alreadyExists(`slug "${changes.slug ?? ''}" is taken`);
      throw error;
    }
    await this.caches.afterWrite(updated.id, [current.slug, updated.slug]);
    return this.view(updated, bodyHtml);
  }

  async publish(actor: ActingUser, articleId: string): Promise<ArticleView> {
    const current = await this.loadForChange(actor, articleId);
    if (current.status === 'published') return this.view(current);
    const published = await this.repository.publish(current.id);
    await this.caches.afterWrite(published.id, [published.slug]);
    return this.view(published);
  }

  async delete(actor: ActingUser, articleId: string): Promise<void> {
    const current = await this.loadForChange(actor, articleId);
    const deleted = await this.repository.delete(current.id);
    await this.caches.afterWrite(current.id, [current.slug]);
    if (!deleted) throw notFound('article not found');
  }

  async get(
    idOrSlug: string,
    actor: ActingUser | undefined,
    signal?: AbortSignal,
  ): Promise<ArticleView> {
    if (idOrSlug.length === 0 || idOrSlug.length > SLUG_MAX) {
      throw invalidArgument('id_or_slug', `must be 1 to ${SLUG_MAX} characters`);
    }
    const cached = isUuid(idOrSlug)
      ? await this.caches.articles.getOrLoad(ArticleCaches.idKey(idOrSlug.toLowerCase()), () =>
          this.rendered(this.repository.findById(idOrSlug.toLowerCase())),
        )
      : await this.caches.articles.getOrLoad(ArticleCaches.slugKey(idOrSlug), () =>
          this.rendered(this.repository.findBySlug(idOrSlug)),
        );
    if (!cached || !canSee(cached.article, actor)) throw notFound('article not found');
    const bodyHtml =
      cached.rendererVersion === this.fragments.rendererVersion ? cached.bodyHtml : undefined;
    return this.view(cached.article, bodyHtml, signal);
  }

  /** An object-cache entry: the article read by `found`, with its body rendered. */
  private async rendered(found: Promise<ArticleRecord | null>): Promise<CachedArticle | null> {
    const article = await found;
    if (!article) return null;
    return {
      article,
      bodyHtml: await this.fragments.render(article.body),
      rendererVersion: this.fragments.rendererVersion,
    };
  }

  async list(input: ListArticlesInput, signal?: AbortSignal): Promise<ArticlePage> {
    const pageSize = parsePageSize(input.pageSize);
    const filters = parseListFilters(input);
    const fingerprint = filterFingerprint({
      tag: filters.tag,
      author: input.authorId,
      query: filters.query,
    });
    const after = decodePageToken(input.pageToken, fingerprint);

    let page: ListPageRecord;
    if (input.authorId !== undefined && !isUuid(input.authorId)) {
      page = { items: [], nextPageToken: '' }; // no such author can exist: an empty page, not an error
    } else {
      const key = ArticleCaches.listKey({ f: fingerprint, s: pageSize, t: input.pageToken });
      page = await this.caches.lists.getOrLoad(key, async () => {
        const rows = await this.repository.list({
          ...filters,
          ...(after ? { after } : {}),
          limit: pageSize + 1,
        });
        const items = rows.slice(0, pageSize);
        const last = items.at(-1);
        const nextPageToken =
          rows.length > pageSize && last
            ? encodePageToken(fingerprint, {
                time: last.publishedAt,
                id: last.id,
                ...(last.rank === undefined ? {} : { rank: last.rank }),
              })
            : '';
        return { items, nextPageToken };
      });
    }
    const names = await this.authors.displayNames(
      page.items.map((item) => item.authorId),
      signal,
    );
    return {
      items: page.items.map((summary) => ({
        summary,
        authorName: names.get(summary.authorId) ?? '',
      })),
      nextPageToken: page.nextPageToken,
    };
  }

  /** The article if the actor may change it: NOT_FOUND if they may not see it, PERMISSION_DENIED if they may only see it. */
  private async loadForChange(actor: ActingUser, articleId: string): Promise<ArticleRecord> {
    if (!isUuid(articleId)) throw invalidArgument('article_id', 'must be a UUID');
    const article = await this.repository.findById(articleId.toLowerCase());
    if (!article || !canSee(article, actor)) throw notFound('article not found');
    if (!canChange(article, actor))
      throw permissionDenied('only the author or an admin may change this article');
    return article;
  }

  private async view(
    article: ArticleRecord,
    bodyHtml?: string,
    signal?: AbortSignal,
  ): Promise<ArticleView> {
    const [html, names] = await Promise.all([
      bodyHtml ?? this.fragments.render(article.body),
      this.authors.displayNames([article.authorId], signal),
    ]);
    return { article, bodyHtml: html, authorName: names.get(article.authorId) ?? '' };
  }
}

function parseListFilters(input: ListArticlesInput): ListFilters {
  const filters: { tag?: string; authorId?: string; query?: string } = {};
  if (input.tag !== undefined) {
    const tag = input.tag.trim().toLowerCase();
    if (tag.length === 0 || tag.length > TAG_MAX)
      throw invalidArgument('tag', `must be 1 to ${TAG_MAX} characters`);
    filters.tag = tag;
  }
  if (input.authorId !== undefined && isUuid(input.authorId))
    filters.authorId = input.authorId.toLowerCase();
  if (input.query !== undefined) {
    if ([...input.query].length > QUERY_MAX)
      throw invalidArgument('query', `must be at most ${QUERY_MAX} characters`);
    const query = input.query.trim();
    if (query.length > 0) filters.query = query;
  }
  return filters;
}
