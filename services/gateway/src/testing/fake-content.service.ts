/* eslint-disable @typescript-eslint/require-await -- unary() handlers return promises; these in-memory fakes mostly have nothing to await. */
import { randomUUID, createHash } from 'node:crypto';
import {
  contentV1,
  Role,
  type Actor,
  type ContentServiceServer,
  type RealtimeEvent,
} from '@strata/contracts';
import {
  alreadyExists,
  DomainError,
  failedPrecondition,
  invalidArgument,
  notFound,
  permissionDenied,
  unary,
} from '@strata/grpc';
import { status } from '@grpc/grpc-js';
import { pageWindow, requireActor, UUID_SHAPE } from './fake-helpers';

interface StoredArticle extends contentV1.Article {
  authorId: string;
}

interface StoredMedia extends contentV1.Media {
  bytes: Buffer;
}

export interface FakeContentOptions {
  displayName: (userId: string) => string;
  publish: (userId: string, event: RealtimeEvent) => Promise<void>;
  mediaMaxBytes: number;
}

const SIGNATURES: ReadonlyArray<[string, Buffer]> = [
  ['image/png', Buffer.from([0x89, 0x50, 0x4e, 0x47])],
  ['image/jpeg', Buffer.from([0xff, 0xd8, 0xff])],
  ['application/pdf', Buffer.from('%PDF')],
];

/** In-memory stand-in for the content service, with the authorisation rules of content.proto. */
export class FakeContentService {
  readonly articles = new Map<string, StoredArticle>();
  readonly comments = new Map<string, contentV1.Comment & { authorId: string }>();
  readonly media = new Map<string, StoredMedia>();

  constructor(private readonly options: FakeContentOptions) {}

  private canSee(article: StoredArticle, actor: Actor | undefined): boolean {
    return (
      article.status === contentV1.ArticleStatus.PUBLISHED ||
      (actor !== undefined && (actor.userId === article.authorId || actor.role === Role.ADMIN))
    );
  }

  /** NOT_FOUND for what the actor may not see, PERMISSION_DENIED for what they may only see. */
  private editable(articleId: string, actor: Actor): StoredArticle {
    if (articleId === '') throw invalidArgument('article_id', 'required');
    const article = this.articles.get(articleId);
    if (!article || !this.canSee(article, actor)) throw notFound('article not found');
    if (article.authorId !== actor.userId && actor.role !== Role.ADMIN)
      throw permissionDenied('only the author may change this article');
    return article;
  }

  private validate(fields: {
    title?: string;
    body?: string;
    slug?: string;
    tags?: string[];
  }): void {
    if (fields.title !== undefined && (fields.title.length < 1 || fields.title.length > 200))
      throw invalidArgument('title', '1 to 200 characters');
    if (fields.body !== undefined && fields.body.length > 100_000)
      throw invalidArgument('body', 'too long');
    if (
      fields.slug !== undefined &&
      (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(fields.slug) ||
        UUID_SHAPE.test(fields.slug) ||
        fields.slug.length > 100)
    ) {
      throw invalidArgument('slug', 'malformed');
    }
    if (
      fields.tags !== undefined &&
      (fields.tags.length > 10 ||
        fields.tags.some((tag) => !/^[a-z0-9-]{1,32}$/.test(tag.toLowerCase())))
    ) {
      throw invalidArgument('tags', 'malformed');
    }
  }

  private slugTaken(slug: string, exceptId?: string): boolean {
    return [...this.articles.values()].some(
      (article) => article.slug === slug && article.id !== exceptId,
    );
  }

  /** Test hook: finish processing a media item and tell its owner. */
  async markMediaReady(mediaId: string): Promise<void> {
    const item = this.media.get(mediaId);
    if (!item) throw new Error(`no media ${mediaId}`);
    item.status = contentV1.MediaStatus.READY;
    item.variants = [
      {
        name: 'original',
        width: 0,
        height: 0,
        contentType: item.contentType,
        sizeBytes: item.bytes.length,
      },
      {
        name: 'small',
        width: 64,
        height: 64,
        contentType: 'image/webp',
        sizeBytes: item.bytes.length,
      },
    ];
    await this.options.publish(item.ownerId, {
      type: 'media.ready',
      data: { mediaId, variantNames: item.variants.map((variant) => variant.name) },
      at: new Date(),
    });
  }

  readonly implementation: ContentServiceServer = {
    createArticle: unary(async (request) => {
      const actor = requireActor(request.actor);
      this.validate({
        title: request.title,
        body: request.body,
        slug: request.slug,
        tags: request.tags,
      });
      if (request.title === '') throw invalidArgument('title', 'required');
      let slug = request.slug;
      if (slug !== undefined && this.slugTaken(slug)) throw alreadyExists('slug taken');
      slug ??= `${
        request.title
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '-')
          .replace(/^-|-$/g, '') || 'article'
      }-${randomUUID().slice(0, 6)}`;
      const now = new Date();
      const article: StoredArticle = {
        id: randomUUID(),
        slug,
        title: request.title,
        body: request.body,
        bodyHtml: `<p>${request.body.replace(/[<>&]/g, '')}</p>`,
        excerpt: request.body.slice(0, 200),
        tags: [...new Set(request.tags.map((tag) => tag.toLowerCase()))].sort(),
        author: { userId: actor.userId, displayName: this.options.displayName(actor.userId) },
        status: contentV1.ArticleStatus.DRAFT,
        createTime: now,
        updateTime: now,
        authorId: actor.userId,
      };
      this.articles.set(article.id, article);
      return { article };
    }),
    updateArticle: unary(async (request) => {
      const actor = requireActor(request.actor);
      const article = this.editable(request.articleId, actor);
      this.validate({
        title: request.title,
        body: request.body,
        slug: request.slug,
        tags: request.tags?.values,
      });
      if (request.slug !== undefined && this.slugTaken(request.slug, article.id))
        throw alreadyExists('slug taken');
      if (request.title !== undefined) article.title = request.title;
      if (request.body !== undefined) {
        article.body = request.body;
        article.bodyHtml = `<p>${request.body.replace(/[<>&]/g, '')}</p>`;
        article.excerpt = request.body.slice(0, 200);
      }
      if (request.slug !== undefined) article.slug = request.slug;
      if (request.tags !== undefined)
        article.tags = [...new Set(request.tags.values.map((tag) => tag.toLowerCase()))].sort();
      article.updateTime = new Date();
      return { article };
    }),
    publishArticle: unary(async (request) => {
      const article = this.editable(request.articleId, requireActor(request.actor));
      if (article.status !== contentV1.ArticleStatus.PUBLISHED) {
        article.status = contentV1.ArticleStatus.PUBLISHED;
        article.publishTime = new Date();
        article.updateTime = article.publishTime;
      }
      return { article };
    }),
    deleteArticle: unary(async (request) => {
      const article = this.editable(request.articleId, requireActor(request.actor));
      this.articles.delete(article.id);
      for (const [id, comment] of this.comments)
        if (comment.articleId === article.id) this.comments.delete(id);
      return {};
    }),
    getArticle: unary(async (request) => {
      if (request.idOrSlug === '' || request.idOrSlug.length > 100)
        throw invalidArgument('id_or_slug', 'required, at most 100 characters');
      const article = UUID_SHAPE.test(request.idOrSlug)
        ? this.articles.get(request.idOrSlug.toLowerCase())
        : [...this.articles.values()].find((candidate) => candidate.slug === request.idOrSlug);
      if (!article || !this.canSee(article, request.actor)) throw notFound('article not found');
      return { article };
    }),
    listArticles: unary(async (request) => {
      if (request.query !== undefined && request.query.length > 200)
        throw invalidArgument('query', 'too long');
      const items = [...this.articles.values()]
        .filter((article) => article.status === contentV1.ArticleStatus.PUBLISHED)
        .filter(
          (article) =>
            request.tag === undefined || article.tags.includes(request.tag.toLowerCase()),
        )
        .filter(
          (article) => request.authorId === undefined || article.authorId === request.authorId,
        )
        .filter(
          (article) =>
            request.query === undefined ||
            `${article.title} ${article.body}`.toLowerCase().includes(request.query.toLowerCase()),
        )
        .sort(
          (left, right) => (right.publishTime?.getTime() ?? 0) - (left.publishTime?.getTime() ?? 0),
        );
      const { page, next } = pageWindow(items, request.pageSize, request.pageToken);
      return {
        articles: page.map((article) => ({
          id: article.id,
          slug: article.slug,
          title: article.title,
          excerpt: article.excerpt,
          tags: article.tags,
          author: article.author,
          publishTime: article.publishTime,
          updateTime: article.updateTime,
        })),
        nextPageToken: next,
      };
    }),
    createComment: unary(async (request) => {
      const actor = requireActor(request.actor);
      if (request.body.length < 1 || request.body.length > 5_000)
        throw invalidArgument('body', '1 to 5000 characters');
      const article = this.articles.get(request.articleId);
      if (!article || !this.canSee(article, actor)) throw notFound('article not found');
      const comment = {
        id: randomUUID(),
        articleId: article.id,
        author: { userId: actor.userId, displayName: this.options.displayName(actor.userId) },
        body: request.body,
        createTime: new Date(),
        authorId: actor.userId,
      };
      this.comments.set(comment.id, comment);
      if (article.authorId !== actor.userId) {
        await this.options.publish(article.authorId, {
          type: 'comment.created',
          data: {
            commentId: comment.id,
            articleId: article.id,
            articleSlug: article.slug,
            articleTitle: article.title,
            commenterId: actor.userId,
            commenterDisplayName: comment.author.displayName,
            excerpt: comment.body.slice(0, 200),
          },
          at: new Date(),
        });
      }
      return { comment };
    }),
    listComments: unary(async (request) => {
      const article = this.articles.get(request.articleId);
      if (!article || !this.canSee(article, request.actor)) throw notFound('article not found');
      const items = [...this.comments.values()]
        .filter((comment) => comment.articleId === article.id)
        .sort(
          (left, right) => (left.createTime?.getTime() ?? 0) - (right.createTime?.getTime() ?? 0),
        );
      const { page, next } = pageWindow(items, request.pageSize, request.pageToken);
      return { comments: page, nextPageToken: next };
    }),
    deleteComment: unary(async (request) => {
      const actor = requireActor(request.actor);
      const comment = this.comments.get(request.commentId);
      if (!comment) throw notFound('comment not found');
      if (comment.authorId !== actor.userId && actor.role !== Role.ADMIN)
        throw permissionDenied('not your comment');
      this.comments.delete(comment.id);
      return {};
    }),
    createMedia: unary(async (request) => {
      const actor = requireActor(request.actor);
      if (request.filename.length < 1 || request.filename.length > 255)
        throw invalidArgument('filename', '1 to 255 characters');
      if (request.content.length > this.options.mediaMaxBytes) {
        throw new DomainError(status.INVALID_ARGUMENT, 'content: larger than the upload limit', {
          field: 'content',
          reason: 'ERROR_REASON_MEDIA_TOO_LARGE',
        });
      }
      const detected = SIGNATURES.find(([, magic]) =>
        request.content.subarray(0, magic.length).equals(magic),
      )?.[0];
      if (
        detected === undefined ||
        (request.declaredContentType !== '' && request.declaredContentType !== detected)
      ) {
        throw new DomainError(status.INVALID_ARGUMENT, 'content: unsupported type', {
          field: 'content',
          reason: 'ERROR_REASON_MEDIA_TYPE_UNSUPPORTED',
        });
      }
      const now = new Date();
      const item: StoredMedia = {
        id: randomUUID(),
        ownerId: actor.userId,
        filename: request.filename,
        kind: detected === 'application/pdf' ? contentV1.MediaKind.PDF : contentV1.MediaKind.IMAGE,
        contentType: detected,
        sizeBytes: request.content.length,
        status: contentV1.MediaStatus.PROCESSING,
        failureReason: '',
        variants: [],
        width: 0,
        height: 0,
        pageCount: 0,
        sha256: createHash('sha256').update(request.content).digest('hex'),
        createTime: now,
        updateTime: now,
        bytes: Buffer.from(request.content),
      };
      this.media.set(item.id, item);
      return { media: this.publicMedia(item) };
    }),
    getMedia: unary(async (request) => {
      const item = this.media.get(request.mediaId);
      if (!item) throw notFound('media not found');
      return { media: this.publicMedia(item) };
    }),
    getMediaVariant: unary(async (request) => {
      const item = this.media.get(request.mediaId);
      if (!item) throw notFound('media not found');
      if (item.status !== contentV1.MediaStatus.READY)
        throw failedPrecondition('ERROR_REASON_MEDIA_NOT_READY', 'media is still processing');
      const variant = item.variants.find((candidate) => candidate.name === request.variant);
      if (!variant) throw notFound('no such variant');
      return { content: item.bytes, contentType: variant.contentType, sha256: item.sha256 };
    }),
  };

  private publicMedia(item: StoredMedia): contentV1.Media {
    const { bytes: _bytes, ...media } = item;
    return media;
  }
}
