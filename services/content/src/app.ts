import { Cache, closeRedis, createRedisClient, waitUntilReady } from '@strata/cache';
import { ContentServiceService, UserServiceClient } from '@strata/contracts';
import { createGrpcClient, createGrpcServer, createServerLifecycle } from '@strata/grpc';
import { type Logger } from '@strata/logger';
import { ArticleCaches, type CachedArticle, type ListPageRecord } from './articles/article-caches';
import { ArticleUseCases } from './articles/article-use-cases';
import { ArticlesRepository } from './articles/articles.repository';
import { type AuthorDirectory, GrpcAuthorDirectory } from './authors/author-directory';
import { CommentUseCases } from './comments/comment-use-cases';
import { CommentsRepository } from './comments/comments.repository';
import { SERVICE_NAME, type ContentServiceConfig } from './config';
import { openContentDatabase } from './database';
import { RedisRealtimePublisher } from './events/realtime-publisher';
import { contentServiceHandlers } from './grpc/content.handlers';
import { LocalDirectoryStorage, type MediaStorage } from './media/media-storage';
import { MediaUseCases } from './media/media-use-cases';
import { FragmentCache } from './rendering/fragment-cache';
import { type BodyRenderer, MarkdownRenderer } from './rendering/markdown.renderer';

export const CACHE_KEY_PREFIX = 'strata:content';
/** Messages must fit the upload plus the rest of the request (see CreateMedia in the proto). */
const MESSAGE_OVERHEAD_BYTES = 64 * 1024;

export interface ContentApp {
  start(): Promise<{ port: number }>;
  /** Health NOT_SERVING → drain gRPC → metrics → caches → Redis → user client → database; idempotent. */
  close(): Promise<void>;
}

export interface BuildAppOptions {
  /** Tests give each suite its own Redis key prefix. */
  readonly cacheKeyPrefix?: string;
  /** Tests count renders with a wrapped renderer. */
  readonly renderer?: BodyRenderer;
  /** Tests count SQL statements. */
  readonly onQuery?: (sql: string) => void;
  /** Tests swap the user service for a fake (or count calls). */
  readonly authors?: AuthorDirectory;
  readonly storage?: MediaStorage;
  readonly shutdownGraceMs?: number;
}

/**
 * Builds the whole service without touching the network: pools and clients connect lazily and
 * the server binds in `start()`, so tests build it in-process on port 0 exactly as production does.
 */
export function buildApp(
  config: ContentServiceConfig,
  logger: Logger,
  options: BuildAppOptions = {},
): ContentApp {
  const database = openContentDatabase({
    url: config.DATABASE_URL,
    poolMax: config.DB_POOL_MAX,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    applicationName: SERVICE_NAME,
    logger,
    ...(options.onQuery ? { onQuery: options.onQuery } : {}),
  });
  const cacheRedis = createRedisClient({
    url: config.REDIS_CACHE_URL,
    logger,
    name: 'content-cache',
    lazyConnect: true,
    commandTimeoutMs: config.CACHE_COMMAND_TIMEOUT_MS,
  });
  const eventsRedis = createRedisClient({
    url: config.REDIS_EVENTS_URL,
    logger,
    name: 'content-events',
    lazyConnect: true,
    commandTimeoutMs: 500,
  });
  const prefix = options.cacheKeyPrefix ?? CACHE_KEY_PREFIX;
  const articleCache = new Cache<CachedArticle>({
    redis: cacheRedis,
    logger,
    prefix,
    timeoutMs: config.CACHE_COMMAND_TIMEOUT_MS,
    namespace: 'article',
    // 2: the entry holds the rendered body too ({ article, bodyHtml, rendererVersion }).
    schemaVersion: 2,
    ttlSeconds: config.ARTICLE_CACHE_TTL_SECONDS,
  });
  const listCache = new Cache<ListPageRecord>({
    redis: cacheRedis,
    logger,
    prefix,
    timeoutMs: config.CACHE_COMMAND_TIMEOUT_MS,
    namespace: 'article-list',
    schemaVersion: 1,
    ttlSeconds: config.LIST_CACHE_TTL_SECONDS,
    namespaceVersioning: true,
  });
  const fragmentCache = new Cache<string>({
    redis: cacheRedis,
    logger,
    prefix,
    timeoutMs: config.CACHE_COMMAND_TIMEOUT_MS,
    namespace: 'fragment',
    schemaVersion: 1,
    ttlSeconds: config.FRAGMENT_CACHE_TTL_SECONDS,
  });
  const caches = new ArticleCaches(articleCache, listCache);
  const fragments = new FragmentCache(fragmentCache, options.renderer ?? new MarkdownRenderer());

  const userClient = options.authors
    ? undefined
    : createGrpcClient(UserServiceClient, {
        target: config.USER_SERVICE_URL,
        defaultDeadlineMs: config.USER_SERVICE_DEADLINE_MS,
      });
  const authors =
    options.authors ??
    new GrpcAuthorDirectory(userClient!, logger, config.USER_SERVICE_DEADLINE_MS, {
      ttlMs: config.AUTHOR_NAME_CACHE_TTL_MS,
      maxEntries: config.AUTHOR_NAME_CACHE_MAX_ENTRIES,
    });
  const events = new RedisRealtimePublisher(eventsRedis, logger);
  const articlesRepository = new ArticlesRepository(database.prisma);

  const server = createGrpcServer({
    name: SERVICE_NAME,
    logger,
    host: config.CONTENT_GRPC_HOST,
    port: config.CONTENT_GRPC_PORT,
    maxReceiveMessageLength: config.MEDIA_MAX_BYTES + MESSAGE_OVERHEAD_BYTES,
    // Only PostgreSQL decides readiness: caches fail open and events are best-effort, so a Redis
    // outage slows reads down but must not take the service out of the load balancer.
    readiness: () => database.ping(),
  });
  server.addService(
    ContentServiceService,
    contentServiceHandlers({
      articles: new ArticleUseCases(articlesRepository, caches, fragments, authors),
      comments: new CommentUseCases(
        new CommentsRepository(database.prisma),
        articlesRepository,
        authors,
        events,
        logger,
      ),
      media: new MediaUseCases(
        database.prisma,
        options.storage ?? new LocalDirectoryStorage(config.MEDIA_STORAGE_DIR),
        config.MEDIA_MAX_BYTES,
        logger,
      ),
    }),
  );

  const lifecycle = createServerLifecycle(server, {
    metricsPort: config.METRICS_PORT,
    shutdownGraceMs: options.shutdownGraceMs,
  });
  let closing: Promise<void> | undefined;
  return {
    async start() {
      await Promise.all([waitUntilReady(cacheRedis, 1_000), waitUntilReady(eventsRedis, 1_000)]);
      return { port: await lifecycle.start() };
    },
    close() {
      closing ??= (async () => {
        await lifecycle.stop();
        await Promise.all([caches.drain(), fragments.drain()]);
        await Promise.all([closeRedis(cacheRedis), closeRedis(eventsRedis)]);
        userClient?.close();
        await database.close();
      })();
      return closing;
    },
  };
}
