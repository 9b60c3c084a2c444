import { type ContentDatabase } from '../database';
import { enqueueInOutbox } from '../outbox';
import { type EmailJobPayload, sendEmailJob } from '@strata/jobs';

export interface CommentRecord {
  readonly id: string;
  readonly articleId: string;
  readonly authorId: string;
  readonly body: string;
  readonly createdAt: Date;
}

export class CommentsRepository {
  constructor(private readonly database: ContentDatabase) {}

  /** Inserts the comment and, in the same transaction, the notification email's outbox row. */
  create(
    comment: { articleId: string; authorId: string; body: string },
    email: ((commentId: string) => EmailJobPayload<'comment-on-article'>) | undefined,
  ): Promise<CommentRecord> {
    return this.database.$transaction(async (tx) => {
      const created = await tx.comment.create({ data: comment });
      if (email) await enqueueInOutbox(tx, sendEmailJob, email(created.id));
      return created;
    });
  }

  findById(id: string): Promise<CommentRecord | null> {
    return this.database.comment.findUnique({ where: { id } });
  }

  /** Oldest first, keyset (created_at, id) ascending over `comments_article_created_idx`. */
  list(
    articleId: string,
    after: { time: number; id: string } | undefined,
    limit: number,
  ): Promise<CommentRecord[]> {
    return this.database.comment.findMany({
      where: {
        articleId,
        ...(after
          ? {
              OR: [
                { createdAt: { gt: new Date(after.time) } },
                { createdAt: new Date(after.time), id: { gt: after.id } },
              ],
            }
          : {}),
      },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take: limit,
    });
  }

  async delete(id: string): Promise<boolean> {
    const deleted = await this.database.comment.deleteMany({ where: { id } });
    return deleted.count > 0;
  }
}
