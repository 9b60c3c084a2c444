import { Prisma } from '../generated/prisma/client';
import { type ContentDatabase, type ContentTransaction } from '../database';
import { type ArticleRecord, type ArticleSummaryRecord, type ListFilters } from './article';
import { type KeysetPosition } from './page-token';

interface ArticleRow {
  id: string;
  slug: string;
  title: string;
  body: string;
  excerpt: string;
  author_id: string;
  status: 'draft' | 'published';
  tags: string[] | null;
  created_at: Date;
  updated_at: Date;
  published_at: Date | null;
}

interface SummaryRow {
  id: string;
  slug: string;
  title: string;
  excerpt: string;
  author_id: string;
  tags: string[] | null;
  published_at: Date;
  updated_at: Date;
  rank?: number;
}

// Tags come with the article in the same statement (a correlated subquery served by the tags
// primary key), so reading an article or a page of them is one SQL query, never 1 + N.
const TAGS_OF_A = Prisma.sql`COALESCE((SELECT array_agg(t.tag ORDER BY t.tag) FROM article_tags t WHERE t.article_id = a.id), '{}') AS tags`;

const ARTICLE_COLUMNS = Prisma.sql`a.id::text AS id, a.slug, a.title, a.body, a.excerpt, a.author_id::text AS author_id,
  a.status::text AS status, a.created_at, a.updated_at, a.published_at, ${TAGS_OF_A}`;

const SUMMARY_COLUMNS = Prisma.sql`a.id::text AS id, a.slug, a.title, a.excerpt, a.author_id::text AS author_id,
  a.published_at, a.updated_at, ${TAGS_OF_A}`;

function toRecord(row: ArticleRow): ArticleRecord {
  return {
    id: row.id,
    slug: row.slug,
    title: row.title,
    body: row.body,
    excerpt: row.excerpt,
    authorId: row.author_id,
    status: row.status,
    tags: row.tags ?? [],
    createdAt: row.created_at.getTime(),
    updatedAt: row.updated_at.getTime(),
    publishedAt: row.published_at ? row.published_at.getTime() : null,
  };
}

function toSummary(row: SummaryRow): ArticleSummaryRecord {
  const summary = {
    id: row.id,
    slug: row.slug,
    title: row.title,
    excerpt: row.excerpt,
    authorId: row.author_id,
    tags: row.tags ?? [],
    publishedAt: row.published_at.getTime(),
    updatedAt: row.updated_at.getTime(),
  };
  return row.rank === undefined ? summary : { ...summary, rank: row.rank };
}

export interface NewArticle {
  readonly slug: string;
  readonly title: string;
  readonly body: string;
  readonly excerpt: string;
  readonly authorId: string;
  readonly tags: readonly string[];
}

export interface ArticleChanges {
  readonly slug?: string;
  readonly title?: string;
  readonly body?: string;
  readonly excerpt?: string;
  readonly tags?: readonly string[];
}

export interface ListQuery extends ListFilters {
  readonly after?: KeysetPosition;
  /** Rows wanted (the caller asks for one more than the page size to know if there is a next page). */
  readonly limit: number;
}

type Queryable = ContentDatabase | ContentTransaction;

export class ArticlesRepository {
  constructor(private readonly database: ContentDatabase) {}

  async findById(id: string, client: Queryable = this.database): Promise<ArticleRecord | null> {
    const rows = await client.$queryRaw<ArticleRow[]>(
      Prisma.sql`SELECT ${ARTICLE_COLUMNS} FROM articles a WHERE a.id = ${id}::uuid`,
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async findBySlug(slug: string): Promise<ArticleRecord | null> {
    const rows = await this.database.$queryRaw<ArticleRow[]>(
      Prisma.sql`SELECT ${ARTICLE_COLUMNS} FROM articles a WHERE a.slug = ${slug}`,
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Inserts a draft and its tags in one transaction; rejects with P2002 when the slug is taken. */
  create(article: NewArticle): Promise<ArticleRecord> {
    return this.database.$transaction(async (tx) => {
      const created = await tx.article.create({
        data: {
          slug: article.slug,
          title: article.title,
          body: article.body,
          excerpt: article.excerpt,
          authorId: article.authorId,
        },
        select: { id: true },
      });
      if (article.tags.length > 0) {
        await tx.articleTag.createMany({
          data: article.tags.map((tag) => ({ articleId: created.id, tag })),
        });
      }
      return this.mustFind(created.id, tx);
    });
  }

  /** Applies the present fields; rejects with P2002 when a new slug is taken. */
  update(id: string, changes: ArticleChanges): Promise<ArticleRecord> {
    return this.database.$transaction(async (tx) => {
      const updated = await tx.article.update({
        where: { id },
        data: {
          ...(changes.slug === undefined ? {} : { slug: changes.slug }),
          ...(changes.title === undefined ? {} : { title: changes.title }),
          ...(changes.body === undefined ? {} : { body: changes.body }),
          ...(changes.excerpt === undefined ? {} : { excerpt: changes.excerpt }),
          // Always touched, even when only tags change, so update_time means "last change".
          updatedAt: new Date(),
        },
        select: { publishedAt: true },
      });
      if (changes.tags !== undefined) {
        await tx.articleTag.deleteMany({ where: { articleId: id } });
        if (changes.tags.length > 0) {
          await tx.articleTag.createMany({
            data: changes.tags.map((tag) => ({
              articleId: id,
              tag,
              publishedAt: updated.publishedAt,
            })),
          });
        }
      }
      return this.mustFind(id, tx);
    });
  }

  /** Sets status and publish time (only on a draft: publishing twice keeps the first time). */
  publish(id: string): Promise<ArticleRecord> {
    return this.database.$transaction(async (tx) => {
      const now = new Date();
      const changed = await tx.article.updateMany({
        where: { id, status: 'draft' },
        data: { status: 'published', publishedAt: now, updatedAt: now },
      });
      if (changed.count > 0) {
        await tx.articleTag.updateMany({ where: { articleId: id }, data: { publishedAt: now } });
      }
      return this.mustFind(id, tx);
    });
  }

  /** Deletes the article (tags and comments cascade); false when it was already gone. */
  async delete(id: string): Promise<boolean> {
    const deleted = await this.database.article.deleteMany({ where: { id } });
    return deleted.count > 0;
  }

  /**
   * One page of published articles, in one SQL statement. Each filter combination has its own
   * index (see the migration): newest first walks `articles_published_idx`, an author walks
   * `articles_author_published_idx`, a tag walks `article_tags_tag_published_idx`, a search
   * uses the GIN index `articles_search_idx` and sorts the matches by rank.
   */
  async list(query: ListQuery): Promise<ArticleSummaryRecord[]> {
    const rows = await this.database.$queryRaw<SummaryRow[]>(listSql(query));
    return rows.map(toSummary);
  }

  private async mustFind(id: string, tx: ContentTransaction): Promise<ArticleRecord> {
    const article = await this.findById(id, tx);
    if (!article) throw new Error(`article ${id} vanished inside its own transaction`);
    return article;
  }
}

/** The SQL of one list page (exported for the EXPLAIN tests, which must test the real query). */
export function listSql(query: ListQuery): Prisma.Sql {
  const after = query.after;
  const afterTime = after ? new Date(after.time) : undefined;
  const authorFilter =
    query.authorId === undefined
      ? Prisma.empty
      : Prisma.sql`AND a.author_id = ${query.authorId}::uuid`;

  if (query.query !== undefined) {
    // The tsquery is written inline (not joined as a FROM item) so the planner estimates its
    // selectivity and picks the GIN index; it is a cheap stable expression, evaluated once.
    const tsQuery = Prisma.sql`websearch_to_tsquery('english', ${query.query})`;
    const rank = Prisma.sql`ts_rank(a.search_vector, ${tsQuery})`;
    const tagFilter =
      query.tag === undefined
        ? Prisma.empty
        : Prisma.sql`AND EXISTS (SELECT 1 FROM article_tags t WHERE t.article_id = a.id AND t.tag = ${query.tag})`;
    const cursor =
      after && afterTime
        ? Prisma.sql`AND (${rank}, a.published_at, a.id) < (${after.rank ?? 0}::real, ${afterTime}::timestamptz, ${after.id}::uuid)`
        : Prisma.empty;
    return Prisma.sql`
      SELECT ${SUMMARY_COLUMNS}, ${rank} AS rank
      FROM articles a
      WHERE a.status = 'published' AND a.search_vector @@ ${tsQuery} ${authorFilter} ${tagFilter} ${cursor}
      ORDER BY rank DESC, a.published_at DESC, a.id DESC
      LIMIT ${query.limit}`;
  }

  if (query.tag !== undefined) {
    const cursor =
      afterTime && after
        ? Prisma.sql`AND (t.published_at, t.article_id) < (${afterTime}::timestamptz, ${after.id}::uuid)`
        : Prisma.empty;
    return Prisma.sql`
      SELECT ${SUMMARY_COLUMNS}
      FROM article_tags t JOIN articles a ON a.id = t.article_id
      WHERE t.tag = ${query.tag} AND t.published_at IS NOT NULL AND a.status = 'published' ${authorFilter} ${cursor}
      ORDER BY t.published_at DESC, t.article_id DESC
      LIMIT ${query.limit}`;
  }

  const cursor =
    afterTime && after
      ? Prisma.sql`AND (a.published_at, a.id) < (${afterTime}::timestamptz, ${after.id}::uuid)`
      : Prisma.empty;
  return Prisma.sql`
    SELECT ${SUMMARY_COLUMNS}
    FROM articles a
    WHERE a.status = 'published' ${authorFilter} ${cursor}
    ORDER BY a.published_at DESC, a.id DESC
    LIMIT ${query.limit}`;
}
