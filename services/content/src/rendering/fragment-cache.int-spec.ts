import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  type ContentTestEnvironment,
  type RunningContentService,
  createContentTestEnvironment,
  newUser,
  startContentService,
} from '../testing/content-harness';
import { type BodyRenderer, MarkdownRenderer } from './markdown.renderer';

/** The real renderer, counting the bodies it renders. */
class CountingRenderer implements BodyRenderer {
  readonly rendered: string[] = [];
  private readonly inner = new MarkdownRenderer();
  readonly version = this.inner.version;

  render(markdown: string): string {
    this.rendered.push(markdown);
    return this.inner.render(markdown);
  }
}

describe('fragment cache across two service instances', () => {
  let environment: ContentTestEnvironment;
  let first: RunningContentService;
  let second: RunningContentService;
  const firstRenderer = new CountingRenderer();
  const secondRenderer = new CountingRenderer();

  beforeAll(async () => {
    environment = await createContentTestEnvironment();
    // Two instances with their own processes' state (caches, pools) sharing one Redis, as two pods do.
    first = await startContentService(environment, { renderer: firstRenderer });
    second = await startContentService(environment, { renderer: secondRenderer });
  });

  afterAll(async () => {
    await first?.close();
    await second?.close();
    await environment?.close();
  });

  const renders = () => firstRenderer.rendered.length + secondRenderer.rendered.length;

  it('renders an unchanged body once, whichever instance reads it and however often', async () => {
    const author = newUser(environment, 'Renderer');
    // Inserted behind the service's back, so no write path has rendered (and cached) it yet.
    const id = randomUUID();
    const body = `# Fragment ${id}\n\nRendered **once**.`;
    await environment.sql.query(
      `INSERT INTO articles (id, slug, title, body, excerpt, author_id, status, updated_at, published_at)
       VALUES ($1, $2, 'Fragment', $3, '', $4, 'published', now(), now())`,
      [id, `fragment-${id.slice(0, 8)}`, body, author.userId],
    );

    // Both instances miss at the same moment: the lease lets one render while the other waits.
    const [fromFirst, fromSecond] = await Promise.all([
      first.client.getArticle({ idOrSlug: id }),
      second.client.getArticle({ idOrSlug: id }),
    ]);
    expect(fromFirst.article?.bodyHtml).toBe(
      `<h1>Fragment ${id}</h1>\n<p>Rendered <strong>once</strong>.</p>\n`,
    );
    expect(fromSecond.article?.bodyHtml).toBe(fromFirst.article?.bodyHtml);
    await Promise.all([
      first.client.getArticle({ idOrSlug: id }),
      second.client.getArticle({ idOrSlug: id }),
    ]);
    expect(renders()).toBe(1);

    // A title-only update keeps the body: still no new render on either instance.
    await first.client.updateArticle({ actor: author, articleId: id, title: 'Renamed' });
    await second.client.getArticle({ idOrSlug: id });
    expect(renders()).toBe(1);

    // A new body is rendered once by the writer; the other instance reads that fragment.
    await first.client.updateArticle({ actor: author, articleId: id, body: 'changed *body*' });
    expect(renders()).toBe(2);
    const { article } = await second.client.getArticle({ idOrSlug: id });
    expect(article?.bodyHtml).toBe('<p>changed <em>body</em></p>\n');
    expect(secondRenderer.rendered).not.toContain('changed *body*');
    expect(renders()).toBe(2);
  });

  it('serves a warm article with the HTML kept in its object-cache entry, and only under the same rendering rules', async () => {
    const author = newUser(environment, 'Warm');
    const id = randomUUID();
    await environment.sql.query(
      `INSERT INTO articles (id, slug, title, body, excerpt, author_id, status, updated_at, published_at)
       VALUES ($1, $2, 'Warm', 'kept *with* the article', '', $3, 'published', now(), now())`,
      [id, `warm-${id.slice(0, 8)}`, author.userId],
    );
    const before = renders();
    const cold = await first.client.getArticle({ idOrSlug: id });
    expect(renders()).toBe(before + 1);

    // Without the fragment entries, a warm read still needs no render: the HTML came with the
    // article (one Redis read per warm article, not two).
    const admin = new Redis(environment.redis.url);
    try {
      const fragments = await admin.keys(`${environment.redis.prefix}*fragment*`);
      expect(fragments.length).toBeGreaterThan(0);
      await admin.del(...fragments);
    } finally {
      admin.disconnect();
    }
    const warm = await second.client.getArticle({ idOrSlug: id });
    expect(warm.article?.bodyHtml).toBe(cold.article?.bodyHtml);
    expect(renders()).toBe(before + 1);

    // An instance rendering by other rules does not serve that HTML: it renders its own.
    const otherRules: BodyRenderer = {
      version: 'other-rules-1',
      render: (markdown) => `<pre>${markdown}</pre>`,
    };
    const third = await startContentService(environment, { renderer: otherRules });
    try {
      const { article } = await third.client.getArticle({ idOrSlug: id });
      expect(article?.bodyHtml).toBe('<pre>kept *with* the article</pre>');
    } finally {
      await third.close();
    }
  });
});
