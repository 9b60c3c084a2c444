// Seeds the cluster's own databases directly with SQL (generate_series inside PostgreSQL: seconds
// for 10^5 rows, where going through the API would spend minutes in argon2id and Markdown). Rows
// follow each service's schema and invariants: the ledger's deferred balance trigger and
// append-only rules stay on, so every seeded ledger transaction sums to zero like a real one.
import { Client } from 'pg';

export interface SeedSizes {
  readonly users: number;
  readonly articles: number;
  readonly tagsPerArticle: number;
  readonly commentsPerArticle: number;
  /** Ledger postings; two per settled payment (provider clearing → payee). */
  readonly postings: number;
}

export type SeedResult = {
  readonly users: number;
  readonly articles: number;
  readonly tags: number;
  readonly comments: number;
  readonly payments: number;
  readonly postings: number;
  readonly seconds: number;
};

/** Never verified: seeded users do not log in (the bench signs their tokens). */
const PLACEHOLDER_PASSWORD_HASH =
  '$argon2id$v=19$m=19456,t=2,p=1$YmVuY2gtc2VlZA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const TAG_COUNT = 100;
const PLATFORM_OWNER = '00000000-0000-0000-0000-000000000000';

// A Markdown body of about 700 characters with the usual constructs, varied by $1.
const BODY_SQL = `'# Notes on scaling, part ' || $1 || E'\\n\\n' ||
  'Caches, *pools* and **queues**: what article ' || $1 || ' measured on a small machine. ' ||
  E'See [the docs](https://example.com/docs/' || $1 || E') and the list below.\\n\\n' ||
  E'- keep connections warm\\n- batch the lookups\\n- fail open when Redis is away\\n\\n' ||
  E'\`\`\`ts\\nconst answer = await cache.getOrLoad(key, load);\\n\`\`\`\\n\\n' ||
  repeat('Steady text to give the body some weight, as real articles have. ', 6)`;

async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Seeds users, content and payments; returns the counts and the ids the scenarios read. */
export async function seedDatabases(
  urls: { user: string; content: string; payment: string },
  sizes: SeedSizes,
): Promise<{ result: SeedResult; userIds: string[]; articleIds: string[]; listTag: string }> {
  const started = performance.now();
  const userIds = await withClient(urls.user, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO users (id, email, password_hash, display_name, bio, role, email_verified_at, updated_at)
       SELECT gen_random_uuid(), 'bench-' || i || '-' || substr(md5(random()::text), 1, 8) || '@example.com',
              $2, 'Bench User ' || i, 'Seeded by bench/.', 'member', now(), now()
       FROM generate_series(1, $1::int) AS i
       RETURNING id::text AS id`,
      [sizes.users, PLACEHOLDER_PASSWORD_HASH],
    );
    await client.query('ANALYZE users');
    return rows.map((row) => row.id);
  });

  const { articleIds, tags, comments } = await withClient(urls.content, async (client) => {
    await client.query(
      `INSERT INTO articles (id, slug, title, body, excerpt, author_id, status, created_at, updated_at, published_at)
       SELECT gen_random_uuid(), 'bench-' || i || '-' || substr(md5(random()::text), 1, 6),
              'Notes on scaling, part ' || i, ${BODY_SQL.replace(/\$1/g, 'i')},
              'Caches, pools and queues: what article ' || i || ' measured on a small machine.',
              ($2::uuid[])[1 + (i % array_length($2::uuid[], 1))], 'published',
              now() - make_interval(secs => i), now() - make_interval(secs => i), now() - make_interval(secs => i)
       FROM generate_series(1, $1::int) AS i`,
      [sizes.articles, userIds],
    );
    // hashtext is a signed int4: abs(-2^31), or a hash near 2^31 plus k, overflows int4 and failed
    // about one full seed in 400 ("integer out of range"; seen once), hence the bigint arithmetic.
    const tagged = await client.query(
      `INSERT INTO article_tags (article_id, tag, published_at)
       SELECT a.id, 'tag-' || ((abs(hashtext(a.id::text)::bigint) + k * 37) % ${TAG_COUNT}), a.published_at
       FROM articles a CROSS JOIN generate_series(0, $1::int - 1) AS k
       WHERE a.slug LIKE 'bench-%'
       ON CONFLICT DO NOTHING`,
      [sizes.tagsPerArticle],
    );
    const commented = await client.query(
      `INSERT INTO comments (id, article_id, author_id, body, created_at)
       SELECT gen_random_uuid(), a.id, ($2::uuid[])[1 + ((abs(hashtext(a.id::text)::bigint) + k) % array_length($2::uuid[], 1))::int],
              'A seeded comment, number ' || k || ', with a few words of agreement.', a.published_at + make_interval(secs => k)
       FROM articles a CROSS JOIN generate_series(1, $1::int) AS k
       WHERE a.slug LIKE 'bench-%'`,
      [sizes.commentsPerArticle, userIds],
    );
    await client.query('ANALYZE');
    const { rows } = await client.query<{ id: string }>(
      `SELECT id::text AS id FROM articles WHERE slug LIKE 'bench-%' ORDER BY random()`,
    );
    return {
      articleIds: rows.map((row) => row.id),
      tags: tagged.rowCount ?? 0,
      comments: commented.rowCount ?? 0,
    };
  });

  const payments = Math.ceil(sizes.postings / 2);
  const postings = await withClient(urls.payment, async (client) => {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO ledger_accounts (id, kind, user_id, currency)
       VALUES (gen_random_uuid(), 'provider_clearing', $1, 'EUR') ON CONFLICT DO NOTHING`,
      [PLATFORM_OWNER],
    );
    await client.query(
      `INSERT INTO ledger_accounts (id, kind, user_id, currency)
       SELECT gen_random_uuid(), 'user', id, 'EUR' FROM unnest($1::uuid[]) AS id ON CONFLICT DO NOTHING`,
      [userIds],
    );
    await client.query(
      `CREATE TEMP TABLE bench_payments ON COMMIT DROP AS
       SELECT gen_random_uuid() AS id, gen_random_uuid() AS transaction_id,
              ($2::uuid[])[1 + (i % array_length($2::uuid[], 1))] AS payer_id,
              ($2::uuid[])[1 + ((i + 1) % array_length($2::uuid[], 1))] AS payee_id,
              (100 + i % 5000)::bigint AS amount_minor, now() - make_interval(secs => i) AS at
       FROM generate_series(1, $1::int) AS i`,
      [payments, userIds],
    );
    await client.query(
      `INSERT INTO payments (id, payer_id, payee_id, amount_minor, currency, status, provider_charge_id, created_at, updated_at, settled_at)
       SELECT id, payer_id, payee_id, amount_minor, 'EUR', 'settled', 'bench_' || id, at, at, at FROM bench_payments`,
    );
    await client.query(
      `INSERT INTO ledger_transactions (id, kind, reference, payment_id, created_at)
       SELECT transaction_id, 'settlement', 'bench:' || id, id, at FROM bench_payments`,
    );
    const inserted = await client.query(
      `INSERT INTO postings (transaction_id, account_id, currency, amount_minor, created_at)
       SELECT p.transaction_id, clearing.id, 'EUR', -p.amount_minor, p.at
       FROM bench_payments p, ledger_accounts clearing
       WHERE clearing.kind = 'provider_clearing' AND clearing.currency = 'EUR'
       UNION ALL
       SELECT p.transaction_id, payee.id, 'EUR', p.amount_minor, p.at
       FROM bench_payments p JOIN ledger_accounts payee
         ON payee.kind = 'user' AND payee.user_id = p.payee_id AND payee.currency = 'EUR'`,
    );
    await client.query('COMMIT'); // the deferred balance trigger checks every transaction here
    await client.query('ANALYZE');
    return inserted.rowCount ?? 0;
  });

  return {
    result: {
      users: userIds.length,
      articles: articleIds.length,
      tags,
      comments,
      payments,
      postings,
      seconds: Math.round((performance.now() - started) / 100) / 10,
    },
    userIds,
    articleIds,
    listTag: 'tag-7',
  };
}
