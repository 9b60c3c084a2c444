/**
 * An article as this service stores and caches it: JSON-safe (times as epoch milliseconds), so
 * the object cache's JSON codec round-trips it exactly.
 */
export interface ArticleRecord {
  readonly id: string;
  readonly slug: string;
  readonly title: string;
  readonly body: string;
  readonly excerpt: string;
  readonly authorId: string;
  readonly status: 'draft' | 'published';
  /** Lower-case, sorted. */
  readonly tags: readonly string[];
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly publishedAt: number | null;
}

/** What a list shows per article: no body. */
export interface ArticleSummaryRecord {
  readonly id: string;
  readonly slug: string;
  readonly title: string;
  readonly excerpt: string;
  readonly authorId: string;
  readonly tags: readonly string[];
  readonly publishedAt: number;
  readonly updatedAt: number;
  /** Search rank, only in relevance-ordered lists (kept for the next page token). */
  readonly rank?: number;
}

export interface ListFilters {
  readonly tag?: string;
  readonly authorId?: string;
  readonly query?: string;
}

/** Drafts are visible to their author and admins only. */
export function canSee(
  article: ArticleRecord,
  actor: { userId: string; isAdmin: boolean } | undefined,
): boolean {
  return (
    article.status === 'published' ||
    (actor !== undefined && (actor.isAdmin || actor.userId === article.authorId))
  );
}

export function canChange(
  article: ArticleRecord,
  actor: { userId: string; isAdmin: boolean },
): boolean {
  return actor.isAdmin || actor.userId === article.authorId;
}
