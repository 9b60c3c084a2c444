/**
 * Measures what issue 5 asks the README to record: cold vs warm GetArticle and ListArticles, through
 * the real service in-process (gRPC on localhost, real PostgreSQL and Redis, fake user service):
 *
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres TEST_REDIS_URL=redis://127.0.0.1:6379 \
 *     npm run measure -w @strata/content-service
 *
 * Cold: the first read of an article (database + Markdown render) or of a list page (database).
 * Warm: the same read again (object/fragment/list cache in Redis; the author lookup still runs).
 */
import { randomUUID } from 'node:crypto';
import { createContentTestEnvironment, startContentService } from '../src/testing/content-harness';

const ROUNDS = 50;
const ARTICLES = 2_000;

function summary(label: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (quantile: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))];
  const ms = (value: number) => `${value.toFixed(2).padStart(7)} ms`;
  return `| ${label} | ${ms(sorted[0])} | ${ms(at(0.5))} | ${ms(at(0.95))} |`;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function main(): Promise<void> {
  const environment = await createContentTestEnvironment({ LOG_LEVEL: 'silent' });
  const service = await startContentService(environment);
  try {
    const authors = Array.from({ length: 50 }, () => randomUUID());
    authors.forEach((id, index) => environment.users.setUser(id, `Author ${index}`));
    const body =
      '# Heading\n\n' +
      'Some *Markdown* with a [link](https://example.com) and `code`.\n\n'.repeat(40);
    await environment.sql.query(
      `INSERT INTO articles (id, slug, title, body, excerpt, author_id, status, updated_at, published_at)
       SELECT gen_random_uuid(), 'measure-' || i, 'Article ' || i, $1 || i, 'excerpt', ($2::uuid[])[1 + i % 50],
              'published', now(), now() - make_interval(secs => i)
       FROM generate_series(1, ${ARTICLES}) AS i`,
      [body, authors],
    );
    await environment.sql.query(
      `INSERT INTO article_tags (article_id, tag, published_at)
       SELECT id, 'tag-' || (hashtext(id::text) & 1023) % 100, published_at FROM articles`,
    );
    await environment.sql.query('ANALYZE');
    const { rows } = await environment.sql.query<{ slug: string }>(
      `SELECT slug FROM articles LIMIT ${ROUNDS}`,
    );

    const coldGet: number[] = [];
    const warmGet: number[] = [];
    for (const { slug } of rows) {
      coldGet.push(await timed(() => service.client.getArticle({ idOrSlug: slug })));
      warmGet.push(await timed(() => service.client.getArticle({ idOrSlug: slug })));
    }
    const coldList: number[] = [];
    const warmList: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const request = { pageSize: 20, pageToken: '', tag: `tag-${round}` };
      coldList.push(await timed(() => service.client.listArticles(request)));
      warmList.push(await timed(() => service.client.listArticles(request)));
    }
    process.stdout.write(
      [
        `${ARTICLES} published articles, ${ROUNDS} rounds, page size 20`,
        '| read | min | median | p95 |',
        '|---|---|---|---|',
        summary('GetArticle cold (DB + render)', coldGet),
        summary('GetArticle warm (object + fragment cache)', warmGet),
        summary('ListArticles by tag cold (DB)', coldList),
        summary('ListArticles by tag warm (list cache)', warmList),
        '',
      ].join('\n'),
    );
  } finally {
    await service.close();
    await environment.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
