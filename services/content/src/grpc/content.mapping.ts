import { contentV1 } from '@strata/contracts';
import { type ArticleSummaryRecord } from '../articles/article';
import { type ArticleView } from '../articles/article-use-cases';
import { type CommentView } from '../comments/comment-use-cases';
import { type Media } from '../generated/prisma/client';
import { parseVariants } from '../media/media';

export function toArticle(view: ArticleView): contentV1.Article {
  const { article } = view;
  return {
    id: article.id,
    slug: article.slug,
    title: article.title,
    body: article.body,
    bodyHtml: view.bodyHtml,
    excerpt: article.excerpt,
    tags: [...article.tags],
    author: { userId: article.authorId, displayName: view.authorName },
    status:
      article.status === 'published'
        ? contentV1.ArticleStatus.PUBLISHED
        : contentV1.ArticleStatus.DRAFT,
    createTime: new Date(article.createdAt),
    updateTime: new Date(article.updatedAt),
    publishTime: article.publishedAt === null ? undefined : new Date(article.publishedAt),
  };
}

export function toArticleSummary(
  summary: ArticleSummaryRecord,
  authorName: string,
): contentV1.ArticleSummary {
  return {
    id: summary.id,
    slug: summary.slug,
    title: summary.title,
    excerpt: summary.excerpt,
    tags: [...summary.tags],
    author: { userId: summary.authorId, displayName: authorName },
    publishTime: new Date(summary.publishedAt),
    updateTime: new Date(summary.updatedAt),
  };
}

export function toComment(view: CommentView): contentV1.Comment {
  return {
    id: view.comment.id,
    articleId: view.comment.articleId,
    author: { userId: view.comment.authorId, displayName: view.authorName },
    body: view.comment.body,
    createTime: view.comment.createdAt,
  };
}

const MEDIA_STATUS = {
  processing: contentV1.MediaStatus.PROCESSING,
  ready: contentV1.MediaStatus.READY,
  failed: contentV1.MediaStatus.FAILED,
} as const;

export function toMedia(media: Media): contentV1.Media {
  return {
    id: media.id,
    ownerId: media.ownerId,
    filename: media.filename,
    kind: media.kind === 'image' ? contentV1.MediaKind.IMAGE : contentV1.MediaKind.PDF,
    contentType: media.contentType,
    sizeBytes: media.sizeBytes,
    status: MEDIA_STATUS[media.status],
    failureReason: media.failureReason ?? '',
    variants:
      media.status === 'ready'
        ? parseVariants(media.variants).map(({ name, width, height, contentType, sizeBytes }) => ({
            name,
            width,
            height,
            contentType,
            sizeBytes,
          }))
        : [],
    width: media.width,
    height: media.height,
    pageCount: media.pageCount,
    sha256: media.sha256,
    createTime: media.createdAt,
    updateTime: media.updatedAt,
  };
}
