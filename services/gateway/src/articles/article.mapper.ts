import { contentV1 } from '@strata/contracts';
import { authorSchema, iso, isoOrNull, nullableTimestamp, timestamp } from '../http/schemas';

export const articleSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'slug',
    'title',
    'body',
    'bodyHtml',
    'excerpt',
    'tags',
    'author',
    'status',
    'createdAt',
    'updatedAt',
    'publishedAt',
  ],
  properties: {
    id: { type: 'string' },
    slug: { type: 'string' },
    title: { type: 'string' },
    body: { type: 'string', description: 'Markdown source' },
    bodyHtml: { type: 'string', description: 'Sanitised HTML, safe to insert as is' },
    excerpt: { type: 'string' },
    tags: { type: 'array', items: { type: 'string' } },
    author: authorSchema,
    status: { type: 'string', enum: ['draft', 'published'] },
    createdAt: timestamp,
    updatedAt: timestamp,
    publishedAt: nullableTimestamp,
  },
} as const;

export const articleSummarySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'slug', 'title', 'excerpt', 'tags', 'author', 'publishedAt', 'updatedAt'],
  properties: {
    id: { type: 'string' },
    slug: { type: 'string' },
    title: { type: 'string' },
    excerpt: { type: 'string' },
    tags: { type: 'array', items: { type: 'string' } },
    author: authorSchema,
    publishedAt: nullableTimestamp,
    updatedAt: timestamp,
  },
} as const;

export const articlePageSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['items', 'nextCursor'],
  properties: {
    items: { type: 'array', items: articleSummarySchema },
    nextCursor: { type: ['string', 'null'] },
  },
} as const;

export const commentSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'articleId', 'author', 'body', 'createdAt'],
  properties: {
    id: { type: 'string' },
    articleId: { type: 'string' },
    author: authorSchema,
    body: { type: 'string', description: 'Plain text: escape it' },
    createdAt: timestamp,
  },
} as const;

export const commentPageSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['items', 'nextCursor'],
  properties: {
    items: { type: 'array', items: commentSchema },
    nextCursor: { type: ['string', 'null'] },
  },
} as const;

function author(summary: contentV1.AuthorSummary | undefined): { id: string; name: string } {
  return { id: summary?.userId ?? '', name: summary?.displayName ?? '' };
}

export function toArticle(article: contentV1.Article | undefined): Record<string, unknown> {
  if (!article) throw new Error('downstream response without an article');
  return {
    id: article.id,
    slug: article.slug,
    title: article.title,
    body: article.body,
    bodyHtml: article.bodyHtml,
    excerpt: article.excerpt,
    tags: article.tags,
    author: author(article.author),
    status: article.status === contentV1.ArticleStatus.PUBLISHED ? 'published' : 'draft',
    createdAt: iso(article.createTime),
    updatedAt: iso(article.updateTime),
    publishedAt: isoOrNull(article.publishTime),
  };
}

export function toArticleSummary(article: contentV1.ArticleSummary): Record<string, unknown> {
  return {
    id: article.id,
    slug: article.slug,
    title: article.title,
    excerpt: article.excerpt,
    tags: article.tags,
    author: author(article.author),
    publishedAt: isoOrNull(article.publishTime),
    updatedAt: iso(article.updateTime),
  };
}

export function toComment(comment: contentV1.Comment | undefined): Record<string, unknown> {
  if (!comment) throw new Error('downstream response without a comment');
  return {
    id: comment.id,
    articleId: comment.articleId,
    author: author(comment.author),
    body: comment.body,
    createdAt: iso(comment.createTime),
  };
}
