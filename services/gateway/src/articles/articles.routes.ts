import { type FastifyInstance } from 'fastify';
import { actorOf } from '../auth/authenticate.hook';
import { callOptionsFor } from '../downstream/downstream';
import {
  cursorOrNull,
  errorResponses,
  idParams,
  pageQueryProperties,
  securityBearer,
  uuidString,
  type IdParams,
  type PageQuery,
} from '../http/schemas';
import { type GatewayContext } from '../gateway-context';
import {
  articlePageSchema,
  articleSchema,
  commentPageSchema,
  commentSchema,
  toArticle,
  toArticleSummary,
  toComment,
} from './article.mapper';

const title = { type: 'string', minLength: 1, maxLength: 200 } as const;
const markdown = { type: 'string', maxLength: 100_000 } as const;
const slug = {
  type: 'string',
  minLength: 1,
  maxLength: 100,
  pattern: '^[a-z0-9]+(-[a-z0-9]+)*$',
} as const;
const tags = {
  type: 'array',
  maxItems: 10,
  items: { type: 'string', minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9-]+$' },
} as const;

interface ListArticlesQuery extends PageQuery {
  tag?: string;
  author?: string;
  q?: string;
}
interface CreateArticleBody {
  title: string;
  body: string;
  tags?: string[];
  slug?: string;
}
type UpdateArticleBody = Partial<CreateArticleBody>;
interface IdOrSlugParams {
  idOrSlug: string;
}

export function registerArticleRoutes(app: FastifyInstance, context: GatewayContext): void {
  const { content } = context.downstream;
  const { pageCache } = context;

  app.get<{ Querystring: ListArticlesQuery }>(
    '/v1/articles',
    {
      schema: {
        tags: ['articles'],
        summary: 'Published articles, newest first (or by relevance with q)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...pageQueryProperties,
            tag: { type: 'string', minLength: 1, maxLength: 32 },
            author: uuidString,
            q: { type: 'string', minLength: 1, maxLength: 200 },
          },
        },
        response: { 200: articlePageSchema, ...errorResponses(400) },
      },
      config: { auth: 'optional' },
    },
    async (request, reply) => {
      const query = request.query;
      // Built from the validated query, in a fixed order, so equivalent URLs share one page.
      const key = `list:${JSON.stringify([query.limit, query.cursor ?? '', query.tag ?? '', query.author ?? '', query.q ?? ''])}`;
      return pageCache.serve(request, reply, key, async () => {
        const listRequest: Parameters<typeof content.listArticles>[0] = {
          pageSize: query.limit,
          pageToken: query.cursor ?? '',
        };
        if (query.tag !== undefined) listRequest.tag = query.tag;
        if (query.author !== undefined) listRequest.authorId = query.author;
        if (query.q !== undefined) listRequest.query = query.q;
        const response = await content.listArticles(listRequest, callOptionsFor(request));
        return {
          items: response.articles.map(toArticleSummary),
          nextCursor: cursorOrNull(response.nextPageToken),
        };
      });
    },
  );

  app.post<{ Body: CreateArticleBody }>(
    '/v1/articles',
    {
      schema: {
        tags: ['articles'],
        summary: 'Create a draft',
        security: securityBearer,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['title', 'body'],
          properties: { title, body: markdown, tags, slug },
        },
        response: { 201: articleSchema, ...errorResponses(400, 401, 409) },
      },
      config: { auth: 'required' },
    },
    async (request, reply) => {
      const createRequest: Parameters<typeof content.createArticle>[0] = {
        actor: actorOf(request),
        title: request.body.title,
        body: request.body.body,
        tags: request.body.tags ?? [],
      };
      if (request.body.slug !== undefined) createRequest.slug = request.body.slug;
      const response = await content.createArticle(createRequest, callOptionsFor(request));
      return reply.code(201).send(toArticle(response.article));
    },
  );

  app.get<{ Params: IdOrSlugParams }>(
    '/v1/articles/:idOrSlug',
    {
      schema: {
        tags: ['articles'],
        summary: 'One article by id or slug (drafts only to their author)',
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['idOrSlug'],
          properties: {
            idOrSlug: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9-]+$' },
          },
        },
        response: {
          200: articleSchema,
          304: { type: 'null', description: 'Not modified (If-None-Match)' },
          ...errorResponses(400, 401, 404),
        },
      },
      config: { auth: 'optional' },
    },
    async (request, reply) => {
      const idOrSlug = request.params.idOrSlug.toLowerCase();
      return pageCache.serve(request, reply, `article:${idOrSlug}`, async () => {
        const getRequest: Parameters<typeof content.getArticle>[0] = { idOrSlug };
        if (request.actor) getRequest.actor = request.actor;
        const response = await content.getArticle(getRequest, callOptionsFor(request));
        return toArticle(response.article);
      });
    },
  );

  app.patch<{ Params: IdOrSlugParams; Body: UpdateArticleBody }>(
    '/v1/articles/:idOrSlug',
    {
      schema: {
        tags: ['articles'],
        summary: 'Change an article (author only)',
        security: securityBearer,
        params: renamedIdParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: { title, body: markdown, tags, slug },
        },
        response: { 200: articleSchema, ...errorResponses(400, 401, 403, 404, 409) },
      },
      config: { auth: 'required' },
    },
    async (request) => {
      const update: Parameters<typeof content.updateArticle>[0] = {
        actor: actorOf(request),
        articleId: idParam(request.params),
      };
      if (request.body.title !== undefined) update.title = request.body.title;
      if (request.body.body !== undefined) update.body = request.body.body;
      if (request.body.slug !== undefined) update.slug = request.body.slug;
      if (request.body.tags !== undefined) update.tags = { values: request.body.tags };
      const response = await content.updateArticle(update, callOptionsFor(request));
      await pageCache.invalidate();
      return toArticle(response.article);
    },
  );

  app.delete<{ Params: IdOrSlugParams }>(
    '/v1/articles/:idOrSlug',
    {
      schema: {
        tags: ['articles'],
        summary: 'Delete an article and its comments (author only)',
        security: securityBearer,
        params: renamedIdParams,
        response: { 204: { type: 'null' }, ...errorResponses(400, 401, 403, 404) },
      },
      config: { auth: 'required' },
    },
    async (request, reply) => {
      await content.deleteArticle(
        { actor: actorOf(request), articleId: idParam(request.params) },
        callOptionsFor(request),
      );
      await pageCache.invalidate();
      return reply.code(204).send();
    },
  );

  app.post<{ Params: IdOrSlugParams }>(
    '/v1/articles/:idOrSlug/publish',
    {
      schema: {
        tags: ['articles'],
        summary: 'Publish a draft (author only; idempotent)',
        security: securityBearer,
        params: renamedIdParams,
        response: { 200: articleSchema, ...errorResponses(400, 401, 403, 404) },
      },
      config: { auth: 'required' },
    },
    async (request) => {
      const response = await content.publishArticle(
        { actor: actorOf(request), articleId: idParam(request.params) },
        callOptionsFor(request),
      );
      await pageCache.invalidate();
      return toArticle(response.article);
    },
  );

  app.get<{ Params: IdOrSlugParams; Querystring: PageQuery }>(
    '/v1/articles/:idOrSlug/comments',
    {
      schema: {
        tags: ['comments'],
        summary: "An article's comments, oldest first",
        params: renamedIdParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: pageQueryProperties,
        },
        response: { 200: commentPageSchema, ...errorResponses(400, 401, 404) },
      },
      config: { auth: 'optional' },
    },
    async (request) => {
      const listRequest: Parameters<typeof content.listComments>[0] = {
        articleId: idParam(request.params),
        pageSize: request.query.limit,
        pageToken: request.query.cursor ?? '',
      };
      if (request.actor) listRequest.actor = request.actor;
      const response = await content.listComments(listRequest, callOptionsFor(request));
      return {
        items: response.comments.map(toComment),
        nextCursor: cursorOrNull(response.nextPageToken),
      };
    },
  );

  app.post<{ Params: IdOrSlugParams; Body: { body: string } }>(
    '/v1/articles/:idOrSlug/comments',
    {
      schema: {
        tags: ['comments'],
        summary: 'Comment on an article',
        security: securityBearer,
        params: renamedIdParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['body'],
          properties: { body: { type: 'string', minLength: 1, maxLength: 5_000 } },
        },
        response: { 201: commentSchema, ...errorResponses(400, 401, 404) },
      },
      config: { auth: 'required' },
    },
    async (request, reply) => {
      const response = await content.createComment(
        { actor: actorOf(request), articleId: idParam(request.params), body: request.body.body },
        callOptionsFor(request),
      );
      return reply.code(201).send(toComment(response.comment));
    },
  );

  app.delete<{ Params: IdParams }>(
    '/v1/comments/:id',
    {
      schema: {
        tags: ['comments'],
        summary: 'Delete own comment',
        security: securityBearer,
        params: idParams,
        response: { 204: { type: 'null' }, ...errorResponses(400, 401, 403, 404) },
      },
      config: { auth: 'required' },
    },
    async (request, reply) => {
      await content.deleteComment(
        { actor: actorOf(request), commentId: request.params.id },
        callOptionsFor(request),
      );
      return reply.code(204).send();
    },
  );
}

// The router needs one parameter name per path segment, and GET takes an id or a slug there;
// the write routes accept an id only (a UUID), checked by the schema.
const renamedIdParams = {
  type: 'object',
  additionalProperties: false,
  required: ['idOrSlug'],
  properties: { idOrSlug: { ...idParams.properties.id, description: 'Article id (UUID)' } },
} as const;

function idParam(params: IdOrSlugParams): string {
  return params.idOrSlug;
}
