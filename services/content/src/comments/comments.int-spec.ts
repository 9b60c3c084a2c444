import { status } from '@grpc/grpc-js';
import { parseRealtimeEvent, realtimeEventChannel, type RealtimeEvent } from '@strata/contracts';
import { Redis } from 'ioredis';
import {
  type ContentTestEnvironment,
  type RunningContentService,
  createContentTestEnvironment,
  newUser,
  startContentService,
} from '../testing/content-harness';
import { grpcFailure } from '../testing/grpc-assertions';

describe('comments', () => {
  let environment: ContentTestEnvironment;
  let service: RunningContentService;
  let subscriber: Redis;

  beforeAll(async () => {
    environment = await createContentTestEnvironment();
    service = await startContentService(environment);
    subscriber = new Redis(environment.redis.url);
  });

  afterAll(async () => {
    subscriber?.disconnect();
    await service?.close();
    await environment?.close();
  });

  async function publishedArticle(author: { userId: string; role: number }) {
    const { article } = await service.client.createArticle({
      actor: author,
      title: 'Commented',
      body: 'b',
      tags: [],
    });
    await service.client.publishArticle({ actor: author, articleId: article!.id });
    return article!;
  }

  it('adds a comment, tells the article author in real time and enqueues their email in the same transaction', async () => {
    const author = newUser(environment, 'Author');
    const reader = newUser(environment, 'Reader Rita');
    const article = await publishedArticle(author);
    const events: RealtimeEvent[] = [];
    await subscriber.subscribe(realtimeEventChannel(author.userId));
    subscriber.on('message', (_channel: string, message: string) => {
      const event = parseRealtimeEvent(message);
      if (event) events.push(event);
    });

    const { comment } = await service.client.createComment({
      actor: reader,
      articleId: article.id,
      body: '  Great <b>post</b>!  ',
    });
    expect(comment).toMatchObject({
      articleId: article.id,
      body: '  Great <b>post</b>!  ',
      author: { userId: reader.userId, displayName: 'Reader Rita' },
    });

    await waitFor(() => events.length === 1);
    expect(events[0]).toMatchObject({
      type: 'comment.created',
      data: {
        commentId: comment!.id,
        articleId: article.id,
        articleSlug: article.slug,
        articleTitle: 'Commented',
        commenterId: reader.userId,
        commenterDisplayName: 'Reader Rita',
        excerpt: 'Great <b>post</b>!',
      },
    });
    const { rows } = await environment.sql.query<{
      queue: string;
      payload: { toUserId: string; template: string; idempotencyKey: string };
    }>(`SELECT queue, payload FROM outbox_events WHERE name = 'send-email'`);
    expect(rows).toEqual([
      {
        queue: 'email',
        payload: expect.objectContaining({
          toUserId: author.userId,
          template: 'comment-on-article',
          idempotencyKey: `comment-created:${comment!.id}`,
        }) as unknown,
      },
    ]);

    // The author commenting on their own article notifies nobody.
    await service.client.createComment({ actor: author, articleId: article.id, body: 'Thanks' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(events).toHaveLength(1);
    const emails = await environment.sql.query(
      `SELECT 1 FROM outbox_events WHERE name = 'send-email'`,
    );
    expect(emails.rowCount).toBe(1);
    await subscriber.unsubscribe();
  });

  it('validates input and hides drafts', async () => {
    const author = newUser(environment, 'Drafter');
    const reader = newUser(environment, 'Reader');
    const { article: draft } = await service.client.createArticle({
      actor: author,
      title: 'Draft',
      body: 'b',
      tags: [],
    });
    expect(
      (await grpcFailure(service.client.createComment({ articleId: draft!.id, body: 'x' }))).code,
    ).toBe(status.UNAUTHENTICATED);
    expect(
      (
        await grpcFailure(
          service.client.createComment({ actor: reader, articleId: draft!.id, body: 'x' }),
        )
      ).code,
    ).toBe(status.NOT_FOUND);
    expect(
      (
        await grpcFailure(
          service.client.listComments({ articleId: draft!.id, pageSize: 0, pageToken: '' }),
        )
      ).code,
    ).toBe(status.NOT_FOUND);
    for (const [body, field] of [
      ['   ', 'body'],
      ['x'.repeat(5_001), 'body'],
    ] as const) {
      expect(
        (
          await grpcFailure(
            service.client.createComment({ actor: author, articleId: draft!.id, body }),
          )
        ).field,
      ).toBe(field);
    }
    expect(
      (
        await grpcFailure(
          service.client.createComment({ actor: author, articleId: 'x', body: 'y' }),
        )
      ).field,
    ).toBe('article_id');
    // The author may comment on (and list) their own draft.
    await service.client.createComment({
      actor: author,
      articleId: draft!.id,
      body: 'note to self',
    });
    expect(
      (
        await service.client.listComments({
          articleId: draft!.id,
          pageSize: 0,
          pageToken: '',
          actor: author,
        })
      ).comments,
    ).toHaveLength(1);
  });

  it('lists oldest first with stable cursor pages and resolves names in at most one call per page', async () => {
    const author = newUser(environment, 'Lister');
    const article = await publishedArticle(author);
    const commenters = Array.from({ length: 5 }, (_, index) =>
      newUser(environment, `Commenter ${index}`),
    );
    const ids: string[] = [];
    for (let index = 0; index < 12; index += 1) {
      const { comment } = await service.client.createComment({
        actor: commenters[index % 5],
        articleId: article.id,
        body: `c${index}`,
      });
      ids.push(comment!.id);
    }
    const seen: string[] = [];
    let pageToken = '';
    let pages = 0;
    do {
      const callsBefore = environment.users.calls.length;
      const page = await service.client.listComments({
        articleId: article.id,
        pageSize: 5,
        pageToken,
      });
      // One BatchGetUsers for the names not kept in process yet (AUTHOR_NAME_CACHE_TTL_MS), none
      // when every commenter's name was resolved a moment ago.
      expect(environment.users.calls.length - callsBefore).toBeLessThanOrEqual(1);
      expect(
        page.comments.every((comment) => comment.author?.displayName.startsWith('Commenter')),
      ).toBe(true);
      seen.push(...page.comments.map((comment) => comment.id));
      pageToken = page.nextPageToken;
      pages += 1;
    } while (pageToken !== '');
    expect(pages).toBe(3);
    expect(seen).toEqual(ids);
    expect(
      (
        await grpcFailure(
          service.client.listComments({ articleId: article.id, pageSize: 101, pageToken: '' }),
        )
      ).field,
    ).toBe('page_size');
    expect(
      (
        await grpcFailure(
          service.client.listComments({ articleId: article.id, pageSize: 5, pageToken: 'bad' }),
        )
      ).field,
    ).toBe('page_token');
  });

  it('lets the writer or an admin delete a comment, and nobody else', async () => {
    const author = newUser(environment, 'Owner');
    const writer = newUser(environment, 'Writer');
    const admin = newUser(environment, 'Admin', true);
    const article = await publishedArticle(author);
    const { comment: first } = await service.client.createComment({
      actor: writer,
      articleId: article.id,
      body: 'one',
    });
    const { comment: second } = await service.client.createComment({
      actor: writer,
      articleId: article.id,
      body: 'two',
    });

    expect(
      (await grpcFailure(service.client.deleteComment({ actor: author, commentId: first!.id })))
        .code,
    ).toBe(status.PERMISSION_DENIED);
    expect((await grpcFailure(service.client.deleteComment({ commentId: first!.id }))).code).toBe(
      status.UNAUTHENTICATED,
    );
    await service.client.deleteComment({ actor: writer, commentId: first!.id });
    await service.client.deleteComment({ actor: admin, commentId: second!.id });
    expect(
      (await grpcFailure(service.client.deleteComment({ actor: writer, commentId: first!.id })))
        .code,
    ).toBe(status.NOT_FOUND);
    expect(
      (await service.client.listComments({ articleId: article.id, pageSize: 0, pageToken: '' }))
        .comments,
    ).toEqual([]);

    // Deleting the article deletes its comments for good.
    const { comment: third } = await service.client.createComment({
      actor: writer,
      articleId: article.id,
      body: 'three',
    });
    await service.client.deleteArticle({ actor: author, articleId: article.id });
    const { rowCount } = await environment.sql.query('SELECT 1 FROM comments WHERE id = $1', [
      third!.id,
    ]);
    expect(rowCount).toBe(0);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
