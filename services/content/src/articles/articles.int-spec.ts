import { status } from '@grpc/grpc-js';
import { contentV1 } from '@strata/contracts';
import {
  type ContentTestEnvironment,
  type RunningContentService,
  createContentTestEnvironment,
  newUser,
  startContentService,
} from '../testing/content-harness';
import { grpcFailure } from '../testing/grpc-assertions';

describe('articles (real PostgreSQL, Redis and a gRPC user service)', () => {
  let environment: ContentTestEnvironment;
  let service: RunningContentService;

  beforeAll(async () => {
    environment = await createContentTestEnvironment();
    service = await startContentService(environment);
  });

  afterAll(async () => {
    await service?.close();
    await environment?.close();
  });

  const create = (
    actor: { userId: string; role: number },
    title: string,
    extra: Partial<contentV1.CreateArticleRequest> = {},
  ) => service.client.createArticle({ actor, title, body: `Body of ${title}`, tags: [], ...extra });

  it('creates a draft with rendered HTML, sorted tags, a derived slug and the author name', async () => {
    const ada = newUser(environment, 'Ada Lovelace');
    const { article } = await create(ada, 'Hello, Wörld!', {
      body: '# Title\n\nSome *text*.',
      tags: ['Zeta', 'alpha', 'zeta'],
    });
    expect(article).toMatchObject({
      slug: 'hello-world',
      title: 'Hello, Wörld!',
      status: contentV1.ArticleStatus.DRAFT,
      tags: ['alpha', 'zeta'],
      author: { userId: ada.userId, displayName: 'Ada Lovelace' },
      excerpt: 'Title Some text.',
    });
    expect(article?.bodyHtml).toBe('<h1>Title</h1>\n<p>Some <em>text</em>.</p>\n');
    expect(article?.publishTime).toBeUndefined();

    // Same title again: a suffixed slug, not an error.
    const second = await create(ada, 'Hello, Wörld!');
    expect(second.article?.slug).toMatch(/^hello-world-[0-9a-f]{8}$/);
  });

  it('rejects a taken explicit slug with ALREADY_EXISTS and bad fields with INVALID_ARGUMENT naming them', async () => {
    const ada = newUser(environment, 'Ada');
    await create(ada, 'One', { slug: 'taken-slug' });
    expect((await grpcFailure(create(ada, 'Two', { slug: 'taken-slug' }))).code).toBe(
      status.ALREADY_EXISTS,
    );

    const cases: Array<[Partial<contentV1.CreateArticleRequest>, string]> = [
      [{ title: '' }, 'title'],
      [{ title: 'x'.repeat(201) }, 'title'],
      [{ body: 'x'.repeat(100_001) }, 'body'],
      [{ slug: 'Not A Slug' }, 'slug'],
      [{ slug: '0b7c1b6e-8d1f-4f47-9a52-4f3b1f0f5a11' }, 'slug'],
      [{ tags: ['ok', 'not ok'] }, 'tags'],
      [{ tags: Array.from({ length: 11 }, (_, index) => `t${index}`) }, 'tags'],
    ];
    for (const [fields, field] of cases) {
      const failure = await grpcFailure(create(ada, fields.title ?? 'Valid title', fields));
      expect({ field, code: failure.code, reported: failure.field }).toEqual({
        field,
        code: status.INVALID_ARGUMENT,
        reported: field,
      });
    }
    const { rows } = await environment.sql.query<{ count: string }>(
      `SELECT count(*) FROM articles WHERE author_id = $1`,
      [ada.userId],
    );
    expect(Number(rows[0].count)).toBe(1); // nothing was written by the failed calls
    expect(
      (await grpcFailure(service.client.createArticle({ title: 'No actor', body: '', tags: [] })))
        .code,
    ).toBe(status.UNAUTHENTICATED);
  });

  it('sanitises the rendered body: no script, no event handlers, no javascript: links', async () => {
    const mallory = newUser(environment, 'Mallory');
    const body = [
      '<script>alert(1)</script>',
      '<img src=x onerror="alert(2)">',
      '[click](javascript:alert(3))',
      '[click2](JaVaScRiPt:alert(4))',
      '<a href="javascript:alert(5)" onclick="alert(6)">raw</a>',
      '![img](javascript:alert(7))',
      '<iframe src="https://evil.example"></iframe>',
      '[ok](https://example.com)',
    ].join('\n\n');
    const { article } = await create(mallory, 'XSS attempt', { body });
    const html = article?.bodyHtml ?? '';
    // Only real tags matter: escaped text such as `&lt;img onerror=…&gt;` is inert.
    const tags = html.match(/<[a-z][^>]*>/gi) ?? [];
    expect(tags.length).toBeGreaterThan(0);
    for (const tag of tags) {
      expect(tag).not.toMatch(/^<(script|iframe|img|object|embed|style)/i);
      expect(tag).not.toMatch(/\son[a-z]+\s*=/i);
      expect(tag).not.toMatch(/javascript:/i);
    }
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain(
      '<a href="https://example.com" rel="nofollow noopener noreferrer">ok</a>',
    );

    // The same on a read, which goes through the caches.
    const { article: read } = await service.client.getArticle({
      idOrSlug: article!.id,
      actor: mallory,
    });
    expect(read?.bodyHtml).toBe(html);
  });

  it('lets only the author or an admin change an article; others get NOT_FOUND (drafts) or PERMISSION_DENIED', async () => {
    const author = newUser(environment, 'Author');
    const other = newUser(environment, 'Other');
    const admin = newUser(environment, 'Admin', true);
    const { article } = await create(author, 'Guarded');
    const id = article!.id;

    // Another user's draft does not exist for them.
    for (const call of [
      service.client.updateArticle({ actor: other, articleId: id, title: 'Hacked' }),
      service.client.publishArticle({ actor: other, articleId: id }),
      service.client.deleteArticle({ actor: other, articleId: id }),
      service.client.getArticle({ idOrSlug: id, actor: other }),
      service.client.getArticle({ idOrSlug: article!.slug }),
    ]) {
      expect((await grpcFailure(call)).code).toBe(status.NOT_FOUND);
    }
    // The author sees their draft by id and by slug.
    expect(
      (await service.client.getArticle({ idOrSlug: article!.slug, actor: author })).article?.id,
    ).toBe(id);

    await service.client.publishArticle({ actor: author, articleId: id });
    for (const call of [
      service.client.updateArticle({ actor: other, articleId: id, title: 'Hacked' }),
      service.client.publishArticle({ actor: other, articleId: id }),
      service.client.deleteArticle({ actor: other, articleId: id }),
    ]) {
      expect((await grpcFailure(call)).code).toBe(status.PERMISSION_DENIED);
    }
    expect((await service.client.getArticle({ idOrSlug: id })).article?.title).toBe('Guarded');

    const { article: edited } = await service.client.updateArticle({
      actor: admin,
      articleId: id,
      title: 'Edited by admin',
    });
    expect(edited?.title).toBe('Edited by admin');
    expect(edited?.author?.userId).toBe(author.userId);

    await service.client.deleteArticle({ actor: author, articleId: id });
    expect((await grpcFailure(service.client.getArticle({ idOrSlug: id }))).code).toBe(
      status.NOT_FOUND,
    );
    expect(
      (await grpcFailure(service.client.deleteArticle({ actor: author, articleId: id }))).code,
    ).toBe(status.NOT_FOUND);
    expect(
      (await grpcFailure(service.client.updateArticle({ actor: author, articleId: 'nope' }))).field,
    ).toBe('article_id');
  });

  it('publishes idempotently, keeping the first publish time', async () => {
    const author = newUser(environment, 'Publisher');
    const { article } = await create(author, 'Publish me');
    const first = await service.client.publishArticle({ actor: author, articleId: article!.id });
    const second = await service.client.publishArticle({ actor: author, articleId: article!.id });
    expect(first.article?.status).toBe(contentV1.ArticleStatus.PUBLISHED);
    expect(first.article?.publishTime).toBeInstanceOf(Date);
    expect(second.article?.publishTime?.getTime()).toBe(first.article?.publishTime?.getTime());
  });

  it('never serves a stale article, slug or list page after a write returns', async () => {
    const author = newUser(environment, 'Cacher');
    const tag = `fresh-${Date.now()}`;
    const { article } = await create(author, 'Cached title', { body: 'old body', tags: [tag] });
    const id = article!.id;
    await service.client.publishArticle({ actor: author, articleId: id });

    // Warm every cache: by id, by slug, the tag list.
    await service.client.getArticle({ idOrSlug: id });
    await service.client.getArticle({ idOrSlug: article!.slug });
    expect(
      (await service.client.listArticles({ pageSize: 10, pageToken: '', tag })).articles.map(
        (a) => a.title,
      ),
    ).toEqual(['Cached title']);

    await service.client.updateArticle({
      actor: author,
      articleId: id,
      title: 'New title',
      body: 'new **body**',
      slug: 'new-slug-x',
    });
    const byId = await service.client.getArticle({ idOrSlug: id });
    expect(byId.article).toMatchObject({
      title: 'New title',
      body: 'new **body**',
      slug: 'new-slug-x',
    });
    expect(byId.article?.bodyHtml).toBe('<p>new <strong>body</strong></p>\n');
    expect((await service.client.getArticle({ idOrSlug: 'new-slug-x' })).article?.id).toBe(id);
    expect((await grpcFailure(service.client.getArticle({ idOrSlug: article!.slug }))).code).toBe(
      status.NOT_FOUND,
    );
    expect(
      (await service.client.listArticles({ pageSize: 10, pageToken: '', tag })).articles.map(
        (a) => a.title,
      ),
    ).toEqual(['New title']);

    // Tags removed → gone from the tag list at once.
    await service.client.updateArticle({ actor: author, articleId: id, tags: { values: [] } });
    expect(
      (await service.client.listArticles({ pageSize: 10, pageToken: '', tag })).articles,
    ).toEqual([]);
    expect((await service.client.getArticle({ idOrSlug: id })).article?.tags).toEqual([]);

    // Deleted → not found, and not listed.
    await service.client.deleteArticle({ actor: author, articleId: id });
    expect((await grpcFailure(service.client.getArticle({ idOrSlug: id }))).code).toBe(
      status.NOT_FOUND,
    );
    const everything = await service.client.listArticles({
      pageSize: 100,
      pageToken: '',
      authorId: author.userId,
    });
    expect(everything.articles).toEqual([]);
  });
});
