import { type ContentServiceServer } from '@strata/contracts';
import { unary } from '@strata/grpc';
import { optionalActor, requireActor } from '../articles/article-fields';
import { type ArticleUseCases } from '../articles/article-use-cases';
import { type CommentUseCases } from '../comments/comment-use-cases';
import { type MediaUseCases } from '../media/media-use-cases';
import { toArticle, toArticleSummary, toComment, toMedia } from './content.mapping';

export interface ContentUseCases {
  readonly articles: ArticleUseCases;
  readonly comments: CommentUseCases;
  readonly media: MediaUseCases;
}

/** Thin adapters: proto in, use case, proto out. Errors are DomainErrors thrown below. */
export function contentServiceHandlers({
  articles,
  comments,
  media,
}: ContentUseCases): ContentServiceServer {
  return {
    createArticle: unary(async (request) => {
      const actor = requireActor(request.actor);
      const view = await articles.create(actor, {
        title: request.title,
        body: request.body,
        tags: request.tags,
        ...(request.slug === undefined ? {} : { slug: request.slug }),
      });
      return { article: toArticle(view) };
    }),
    updateArticle: unary(async (request) => {
      const actor = requireActor(request.actor);
      const view = await articles.update(actor, {
        articleId: request.articleId,
        ...(request.title === undefined ? {} : { title: request.title }),
        ...(request.body === undefined ? {} : { body: request.body }),
        ...(request.slug === undefined ? {} : { slug: request.slug }),
        ...(request.tags === undefined ? {} : { tags: request.tags.values }),
      });
      return { article: toArticle(view) };
    }),
    publishArticle: unary(async (request) => {
      const view = await articles.publish(requireActor(request.actor), request.articleId);
      return { article: toArticle(view) };
    }),
    deleteArticle: unary(async (request) => {
      await articles.delete(requireActor(request.actor), request.articleId);
      return {};
    }),
    getArticle: unary(async (request, context) => {
      const view = await articles.get(
        request.idOrSlug,
        optionalActor(request.actor),
        context.signal,
      );
      return { article: toArticle(view) };
    }),
    listArticles: unary(async (request, context) => {
      const page = await articles.list(
        {
          pageSize: request.pageSize,
          pageToken: request.pageToken,
          ...(request.tag === undefined ? {} : { tag: request.tag }),
          ...(request.authorId === undefined ? {} : { authorId: request.authorId }),
          ...(request.query === undefined ? {} : { query: request.query }),
        },
        context.signal,
      );
      return {
        articles: page.items.map((item) => toArticleSummary(item.summary, item.authorName)),
        nextPageToken: page.nextPageToken,
      };
    }),
    createComment: unary(async (request) => {
      const view = await comments.create(
        requireActor(request.actor),
        request.articleId,
        request.body,
      );
      return { comment: toComment(view) };
    }),
    listComments: unary(async (request, context) => {
      const page = await comments.list(
        request.articleId,
        request.pageSize,
        request.pageToken,
        optionalActor(request.actor),
        context.signal,
      );
      return { comments: page.items.map(toComment), nextPageToken: page.nextPageToken };
    }),
    deleteComment: unary(async (request) => {
      await comments.delete(requireActor(request.actor), request.commentId);
      return {};
    }),
    createMedia: unary(async (request) => {
      const created = await media.create(requireActor(request.actor), {
        filename: request.filename,
        declaredContentType: request.declaredContentType,
        content: request.content,
      });
      return { media: toMedia(created) };
    }),
    getMedia: unary(async (request) => ({ media: toMedia(await media.get(request.mediaId)) })),
    getMediaVariant: unary(async (request) => {
      const variant = await media.variant(request.mediaId, request.variant);
      return { content: variant.content, contentType: variant.contentType, sha256: variant.sha256 };
    }),
  };
}
