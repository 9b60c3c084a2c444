import { invalidArgument, notFound, permissionDenied } from '@strata/grpc';
import { type Logger } from '@strata/logger';
import { canSee } from '../articles/article';
import { type ActingUser, isUuid, parsePageSize } from '../articles/article-fields';
import { type ArticlesRepository } from '../articles/articles.repository';
import { decodePageToken, encodePageToken } from '../articles/page-token';
import { type AuthorDirectory } from '../authors/author-directory';
import { type RealtimePublisher } from '../events/realtime-publisher';
import { type CommentRecord, type CommentsRepository } from './comments.repository';

export const COMMENT_BODY_MAX = 5_000;
const EXCERPT_LENGTH = 200;
// Comment pages are per article, so the token fingerprint only has to tell comment tokens from
// article-list tokens.
const COMMENT_TOKEN_KIND = 'comments';

export interface CommentView {
  readonly comment: CommentRecord;
  readonly authorName: string;
}

export interface CommentPage {
  readonly items: readonly CommentView[];
  readonly nextPageToken: string;
}

/**
 * Who may delete a comment: its writer, or an admin (as the contract says). The article's author
 * may not: moderation of one's own article is a product decision not made yet.
 */
export class CommentUseCases {
  constructor(
    private readonly comments: CommentsRepository,
    private readonly articles: ArticlesRepository,
    private readonly authors: AuthorDirectory,
    private readonly events: RealtimePublisher,
    private readonly logger: Logger,
  ) {}

  async create(actor: ActingUser, articleId: string, body: string): Promise<CommentView> {
    if (!isUuid(articleId)) throw invalidArgument('article_id', 'must be a UUID');
    if (body.trim().length === 0) throw invalidArgument('body', 'must not be empty');
    if ([...body].length > COMMENT_BODY_MAX)
      throw invalidArgument('body', `must be at most ${COMMENT_BODY_MAX} characters`);
    const article = await this.articles.findById(articleId.toLowerCase());
    if (!article || !canSee(article, actor)) throw notFound('article not found');

    const notifyAuthor = article.authorId !== actor.userId;
    const excerpt = [...body.replace(/\s+/g, ' ').trim()].slice(0, EXCERPT_LENGTH).join('');
    const comment = await this.comments.create(
      { articleId: article.id, authorId: actor.userId, body },
      notifyAuthor
        ? (commentId) => ({
            toUserId: article.authorId,
            template: 'comment-on-article',
            data: {
              articleTitle: article.title,
              articleSlug: article.slug,
              commentExcerpt: excerpt,
            },
            idempotencyKey: `comment-created:${commentId}`,
          })
        : undefined,
    );
    const names = await this.authors.displayNames([actor.userId]);
    const authorName = names.get(actor.userId) ?? '';
    if (notifyAuthor) {
      await this.events.publish(article.authorId, {
        type: 'comment.created',
        at: comment.createdAt,
        data: {
          commentId: comment.id,
          articleId: article.id,
          articleSlug: article.slug,
          articleTitle: article.title,
          commenterId: actor.userId,
          commenterDisplayName: authorName,
          excerpt,
        },
      });
    }
    this.logger.debug({ commentId: comment.id, articleId: article.id }, 'comment created');
    return { comment, authorName };
  }

  async list(
    articleId: string,
    pageSizeInput: number,
    pageToken: string,
    actor: ActingUser | undefined,
    signal?: AbortSignal,
  ): Promise<CommentPage> {
    if (!isUuid(articleId)) throw invalidArgument('article_id', 'must be a UUID');
    const pageSize = parsePageSize(pageSizeInput);
    const after = decodePageToken(pageToken, COMMENT_TOKEN_KIND);
    const article = await this.articles.findById(articleId.toLowerCase());
    if (!article || !canSee(article, actor)) throw notFound('article not found');
    const rows = await this.comments.list(article.id, after, pageSize + 1);
    const items = rows.slice(0, pageSize);
    const last = items.at(-1);
    const names = await this.authors.displayNames(
      items.map((comment) => comment.authorId),
      signal,
    );
    return {
      items: items.map((comment) => ({ comment, authorName: names.get(comment.authorId) ?? '' })),
      nextPageToken:
        rows.length > pageSize && last
          ? encodePageToken(COMMENT_TOKEN_KIND, { time: last.createdAt.getTime(), id: last.id })
          : '',
    };
  }

  async delete(actor: ActingUser, commentId: string): Promise<void> {
    if (!isUuid(commentId)) throw invalidArgument('comment_id', 'must be a UUID');
    const comment = await this.comments.findById(commentId.toLowerCase());
    if (!comment) throw notFound('comment not found');
    if (comment.authorId !== actor.userId && !actor.isAdmin) {
      throw permissionDenied("only the comment's writer or an admin may delete it");
    }
    if (!(await this.comments.delete(comment.id))) throw notFound('comment not found');
  }
}
