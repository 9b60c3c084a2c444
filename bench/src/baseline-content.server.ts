// Child process: the cold-read baseline. "The same query through raw pg in the same service
// shape" means here: a gRPC server built with the same kit (@strata/grpc: health, deadline rule,
// request context, logging and metrics interceptors, same logger level), serving the same
// ContentService.GetArticle contract over the same database, with the same SQL statement (article
// + tags in one query), the same author-name lookup (BatchGetUsers to the user service, answers
// kept in process as long as the cold content service keeps them, see bench-servers.ts) and a
// Markdown render of the body (markdown-it + sanitize-html, as the content service does with its
// caches off). The only difference left is the database access: node-postgres `Pool.query`
// instead of Prisma 7 `$queryRaw` over `@prisma/adapter-pg`.
import MarkdownIt from 'markdown-it';
import { Pool } from 'pg';
import sanitizeHtml from 'sanitize-html';
import {
  ContentServiceService,
  type ContentServiceServer,
  UserServiceClient,
  contentV1,
} from '@strata/contracts';
import {
  createGrpcClient,
  createGrpcServer,
  failedPrecondition,
  notFound,
  unary,
} from '@strata/grpc';
import { createLogger } from '@strata/logger';
import { childArguments, sendToParent } from './child-process';

interface BaselineContentOptions {
  readonly port: number;
  readonly databaseUrl: string;
  readonly userServiceUrl: string;
  readonly poolMax: number;
  /** How long author names are kept, as the content service's AUTHOR_NAME_CACHE_TTL_MS. */
  readonly authorNameTtlMs: number;
}

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

// The content service's statement (services/content/src/articles/articles.repository.ts).
const ARTICLE_BY_ID = `SELECT a.id::text AS id, a.slug, a.title, a.body, a.excerpt, a.author_id::text AS author_id,
  a.status::text AS status, a.created_at, a.updated_at, a.published_at,
  COALESCE((SELECT array_agg(t.tag ORDER BY t.tag) FROM article_tags t WHERE t.article_id = a.id), '{}') AS tags
  FROM articles a WHERE a.id = $1::uuid`;

const SANITIZE_OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: [...sanitizeHtml.defaults.allowedTags, 'img'],
  allowedSchemes: ['http', 'https', 'mailto'],
  transformTags: { a: sanitizeHtml.simpleTransform('a', { rel: 'nofollow noopener noreferrer' }) },
};

async function main(): Promise<void> {
  const options = childArguments<BaselineContentOptions>();
  const logger = createLogger({ name: 'content-raw-pg', level: 'warn' });
  const pool = new Pool({ connectionString: options.databaseUrl, max: options.poolMax });
  const users = createGrpcClient(UserServiceClient, {
    target: options.userServiceUrl,
    defaultDeadlineMs: 1_000,
  });
  const markdown = new MarkdownIt({ html: false, linkify: true, typographer: false });
  // The content service keeps author names in process for AUTHOR_NAME_CACHE_TTL_MS: the baseline
  // does the same, with the same TTL, so the comparison stays Prisma against pg.
  const authorNames = new Map<string, { name: string; expiresAt: number }>();
  const authorName = async (authorId: string, signal: AbortSignal): Promise<string> => {
    const cached = authorNames.get(authorId);
    if (cached !== undefined && cached.expiresAt > Date.now()) return cached.name;
    try {
      const { users: found } = await users.batchGetUsers({ userIds: [authorId] }, { signal });
      const name = found[0]?.displayName ?? '';
      authorNames.set(authorId, { name, expiresAt: Date.now() + options.authorNameTtlMs });
      return name;
    } catch {
      return '';
    }
  };

  const getArticle: ContentServiceServer['getArticle'] = unary(async (request, context) => {
    const { rows } = await pool.query<ArticleRow>(ARTICLE_BY_ID, [request.idOrSlug.toLowerCase()]);
    const row = rows[0];
    if (!row || row.status !== 'published') throw notFound('article not found');
    const [bodyHtml, displayName] = await Promise.all([
      Promise.resolve(sanitizeHtml(markdown.render(row.body), SANITIZE_OPTIONS)),
      authorName(row.author_id, context.signal),
    ]);
    return {
      article: {
        id: row.id,
        slug: row.slug,
        title: row.title,
        body: row.body,
        bodyHtml,
        excerpt: row.excerpt,
        tags: row.tags ?? [],
        author: { userId: row.author_id, displayName },
        status: contentV1.ArticleStatus.PUBLISHED,
        createTime: row.created_at,
        updateTime: row.updated_at,
        publishTime: row.published_at ?? undefined,
      },
    };
  });
  // Only GetArticle is measured; every other method answers FAILED_PRECONDITION.
  const others = unary(() =>
    Promise.reject(
      failedPrecondition('BASELINE_GET_ARTICLE_ONLY', 'baseline serves GetArticle only'),
    ),
  );
  const implementation = Object.fromEntries(
    Object.keys(ContentServiceService).map((method) => [method, others]),
  ) as unknown as ContentServiceServer;

  const server = createGrpcServer({
    name: 'content-raw-pg',
    logger,
    host: '127.0.0.1',
    port: options.port,
    readiness: async () => (await pool.query('SELECT 1')).rowCount === 1,
  });
  server.addService(ContentServiceService, { ...implementation, getArticle });
  await server.start();
  process.once('SIGTERM', () => {
    void (async () => {
      await server.shutdown({ graceMs: 2_000 });
      users.close();
      await pool.end();
      process.exit(0);
    })();
  });
  sendToParent({ type: 'ready' });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
