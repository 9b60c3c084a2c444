import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { type contentV1 } from '@strata/contracts';
import {
  type ContentTestEnvironment,
  type RunningContentService,
  createContentTestEnvironment,
  newUser,
  startContentService,
} from '../testing/content-harness';
import { grpcFailure } from '../testing/grpc-assertions';
import { type ListQuery, listSql } from './articles.repository';

const SEEDED_ARTICLES = 10_000;
const SEEDED_AUTHORS = 200;
const SEEDED_TAGS = 500;

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function indexesUsed(plan: PlanNode): string[] {
  return [
    ...(plan['Index Name'] ? [plan['Index Name']] : []),
    ...(plan.Plans ?? []).flatMap(indexesUsed),
  ];
}

function nodeTypes(plan: PlanNode): string[] {
  return [plan['Node Type'], ...(plan.Plans ?? []).flatMap(nodeTypes)];
}

describe('ListArticles: indexes, query count, pagination, filters, search', () => {
  let environment: ContentTestEnvironment;
  let service: RunningContentService;
  const authors = Array.from({ length: SEEDED_AUTHORS }, () => randomUUID());

  beforeAll(async () => {
    environment = await createContentTestEnvironment();
    service = await startContentService(environment);
    authors.forEach((id, index) => environment.users.setUser(id, `Seed author ${index}`));
    // A realistic volume, so that the planner picks indexes because they are cheaper, not because
    // the tables are empty. One rare word ("quasar", 1 in 500) makes searches selective.
    await environment.sql.query(
      `INSERT INTO articles (id, slug, title, body, excerpt, author_id, status, created_at, updated_at, published_at)
       SELECT gen_random_uuid(), 'seed-' || i,
              'Seed article ' || i || CASE WHEN i % 500 = 0 THEN ' about a quasar' ELSE ' about databases' END,
              repeat('Lorem ipsum dolor sit amet, indexes and caches and queues. ', 5) || CASE WHEN i % 500 = 1 THEN ' quasar' ELSE '' END,
              'Seed excerpt ' || i,
              ($1::uuid[])[1 + i % ${SEEDED_AUTHORS}],
              CASE WHEN i % 10 = 0 THEN 'draft'::article_status ELSE 'published'::article_status END,
              now(), now(),
              CASE WHEN i % 10 = 0 THEN NULL ELSE now() - make_interval(secs => i * 37) END
       FROM generate_series(1, ${SEEDED_ARTICLES}) AS i`,
      [authors],
    );
    await environment.sql.query(
      `INSERT INTO article_tags (article_id, tag, published_at)
       SELECT a.id, 'tag-' || ((hashtext(a.id::text || k) & 2147483647) % ${SEEDED_TAGS}), a.published_at
       FROM articles a, generate_series(1, 3) AS k
       ON CONFLICT DO NOTHING`,
    );
    await environment.sql.query('ANALYZE');
  }, 120_000);

  afterAll(async () => {
    await service?.close();
    await environment?.close();
  });

  async function explain(query: ListQuery): Promise<PlanNode> {
    const sql = listSql(query);
    const { rows } = await environment.sql.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
      `EXPLAIN (FORMAT JSON) ${sql.text}`,
      sql.values,
    );
    return rows[0]['QUERY PLAN'][0].Plan;
  }

  async function somePublished(): Promise<{ id: string; published_at: Date }> {
    const { rows } = await environment.sql.query<{ id: string; published_at: Date }>(
      `SELECT id, published_at FROM articles WHERE status = 'published' ORDER BY published_at DESC OFFSET 500 LIMIT 1`,
    );
    return rows[0];
  }

  describe('EXPLAIN shows an index for every path', () => {
    it('newest first (first page and a later page)', async () => {
      const first = await explain({ limit: 21 });
      expect(indexesUsed(first)).toContain('articles_published_idx');
      expect(nodeTypes(first)).not.toContain('Sort');
      const row = await somePublished();
      const later = await explain({
        limit: 21,
        after: { time: row.published_at.getTime(), id: row.id },
      });
      expect(indexesUsed(later)).toContain('articles_published_idx');
      expect(nodeTypes(later)).not.toContain('Sort');
    });

    it('by author', async () => {
      const plan = await explain({ limit: 21, authorId: authors[3] });
      expect(indexesUsed(plan)).toContain('articles_author_published_idx');
      expect(nodeTypes(plan)).not.toContain('Seq Scan');
    });

    it('by tag', async () => {
      const plan = await explain({ limit: 21, tag: 'tag-42' });
      expect(indexesUsed(plan)).toContain('article_tags_tag_published_idx');
      expect(nodeTypes(plan)).not.toContain('Seq Scan');
    });

    it('full-text search', async () => {
      const plan = await explain({ limit: 21, query: 'quasar' });
      expect(indexesUsed(plan)).toContain('articles_search_idx');
      expect(nodeTypes(plan)).not.toContain('Seq Scan');
    });

    it('slug lookup', async () => {
      const { rows } = await environment.sql.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
        `EXPLAIN (FORMAT JSON) SELECT id FROM articles a WHERE a.slug = $1`,
        ['seed-777'],
      );
      expect(indexesUsed(rows[0]['QUERY PLAN'][0].Plan)).toContain('articles_slug_key');
    });
  });

  it.each([20, 50, 100])(
    'a cold page of %i articles with tags and authors costs at most 3 SQL statements and 1 user-service call',
    async (pageSize) => {
      const statements: string[] = [];
      const counted = await startContentService(environment, {
        // A prefix of its own: this instance's caches are cold, so the page really hits the database.
        cacheKeyPrefix: `${environment.redis.prefix}count-${pageSize}:`,
        onQuery: (sql) => statements.push(sql),
      });
      try {
        const callsBefore = environment.users.calls.length;
        const page = await counted.client.listArticles({ pageSize, pageToken: '' });
        expect(page.articles).toHaveLength(pageSize);
        expect(page.articles.every((article) => article.tags.length > 0)).toBe(true);
        expect(
          page.articles.every((article) => article.author?.displayName.startsWith('Seed author')),
        ).toBe(true);
        expect(
          new Set(page.articles.map((article) => article.author?.userId)).size,
        ).toBeGreaterThan(1);
        expect(statements.length).toBeGreaterThanOrEqual(1);
        expect(statements.length).toBeLessThanOrEqual(3);
        expect(environment.users.calls.length - callsBefore).toBe(1);
      } finally {
        await counted.close();
      }
    },
  );

  it('pages by (publish time, id) with no duplicates or gaps while articles are published concurrently', async () => {
    const writer = newUser(environment, 'Concurrent writer');
    const tag = 'stable-paging';
    const existing: string[] = [];
    for (let index = 0; index < 30; index += 1) {
      const { article } = await service.client.createArticle({
        actor: writer,
        title: `Stable ${index}`,
        body: 'b',
        tags: [tag],
      });
      await service.client.publishArticle({ actor: writer, articleId: article!.id });
      existing.push(article!.id);
    }
    const seen: string[] = [];
    let pageToken = '';
    let inserted = 0;
    do {
      const page = await service.client.listArticles({ pageSize: 7, pageToken, tag });
      seen.push(...page.articles.map((article) => article.id));
      pageToken = page.nextPageToken;
      // Between every two pages, a new article appears at the head of the list.
      const { article } = await service.client.createArticle({
        actor: writer,
        title: `New ${inserted}`,
        body: 'b',
        tags: [tag],
      });
      await service.client.publishArticle({ actor: writer, articleId: article!.id });
      inserted += 1;
    } while (pageToken !== '');
    expect(new Set(seen).size).toBe(seen.length); // no duplicates
    expect(seen).toEqual(existing.slice().reverse()); // no gaps, newest first
    expect(inserted).toBe(5);
  });

  it('filters by tag and author, searches by relevance, and answers unknown filters with empty pages', async () => {
    const author = newUser(environment, 'Searcher');
    const inTitle = await service.client.createArticle({
      actor: author,
      title: 'Zymurgy for beginners',
      body: 'Brewing.',
      tags: ['brew'],
    });
    const inBody = await service.client.createArticle({
      actor: author,
      title: 'Fermentation',
      body: 'A note on zymurgy.',
      tags: [],
    });
    const draft = await service.client.createArticle({
      actor: author,
      title: 'Zymurgy draft',
      body: 'zymurgy',
      tags: ['brew'],
    });
    for (const created of [inBody, inTitle])
      await service.client.publishArticle({ actor: author, articleId: created.article!.id });

    const search = await service.client.listArticles({
      pageSize: 10,
      pageToken: '',
      query: 'zymurgy',
    });
    expect(search.articles.map((article) => article.id)).toEqual([
      inTitle.article!.id,
      inBody.article!.id,
    ]);
    expect(search.articles[0]).toMatchObject({
      tags: ['brew'],
      author: { displayName: 'Searcher' },
    });
    expect(search.articles[0]).not.toHaveProperty('body');

    // Search pages are stable too (rank, time, id in the token).
    const first = await service.client.listArticles({
      pageSize: 1,
      pageToken: '',
      query: 'zymurgy',
    });
    const second = await service.client.listArticles({
      pageSize: 1,
      pageToken: first.nextPageToken,
      query: 'zymurgy',
    });
    expect([...first.articles, ...second.articles].map((article) => article.id)).toEqual(
      search.articles.map((article) => article.id),
    );
    expect(second.nextPageToken).toBe('');

    const byTagAndAuthor = await service.client.listArticles({
      pageSize: 10,
      pageToken: '',
      tag: 'BREW',
      authorId: author.userId,
    });
    expect(byTagAndAuthor.articles.map((article) => article.id)).toEqual([inTitle.article!.id]);
    expect(byTagAndAuthor.articles.map((article) => article.id)).not.toContain(draft.article!.id);

    for (const request of [
      { tag: 'no-such-tag' },
      { authorId: randomUUID() },
      { authorId: 'not-a-uuid' },
      { query: 'qwxzyvutnonexistentword' },
    ]) {
      expect(
        await service.client.listArticles({ pageSize: 10, pageToken: '', ...request }),
      ).toEqual({ articles: [], nextPageToken: '' });
    }
  });

  it('rejects malformed or foreign page tokens, oversize pages and over-long filters, naming the field', async () => {
    const valid = await service.client.listArticles({ pageSize: 2, pageToken: '' });
    expect(valid.nextPageToken).not.toBe('');
    const cases: Array<[Partial<contentV1.ListArticlesRequest>, string]> = [
      [{ pageToken: 'garbage!' }, 'page_token'],
      [{ pageToken: Buffer.from('{"v":1}').toString('base64url') }, 'page_token'],
      [{ pageToken: valid.nextPageToken, tag: 'other-filter' }, 'page_token'],
      [{ pageSize: 101 }, 'page_size'],
      [{ pageSize: -1 }, 'page_size'],
      [{ tag: 'x'.repeat(33) }, 'tag'],
      [{ query: 'x'.repeat(201) }, 'query'],
    ];
    for (const [request, field] of cases) {
      const failure = await grpcFailure(
        service.client.listArticles({ pageSize: 2, pageToken: '', ...request }),
      );
      expect({ field, code: failure.code, reported: failure.field }).toEqual({
        field,
        code: status.INVALID_ARGUMENT,
        reported: field,
      });
    }
    // The default page size is 20.
    expect(
      (await service.client.listArticles({ pageSize: 0, pageToken: '' })).articles,
    ).toHaveLength(20);
  });
});
