import { randomBytes } from 'node:crypto';
import { createLogger } from '@strata/logger';
import { createTestDatabase, type TestDatabase } from '@strata/testing';
import { openUserDatabase, type UserDatabaseHandle } from '../database';
import { PrismaPasswordResetRepository } from '../password-reset/password-reset.repository';
import { PrismaProfilesRepository } from '../profiles/profiles.repository';
import { recordQueries, type QueryRecorder, type RecordedQuery } from '../testing/query-recorder';
import { SERVICE_DIR } from '../testing/user-service.harness';
import { hashOpaqueToken } from '../tokens/opaque-token';
import { PrismaSessionsRepository } from './sessions.repository';

const USERS = 20_000;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function planNodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(planNodes)];
}

/**
 * The planner is left alone (no `enable_seqscan = off`): the tables hold a realistic number of
 * rows and statistics are fresh, and the statements explained are the ones Prisma really sent.
 */
describe('lookup paths use their indexes (EXPLAIN of the SQL Prisma sends)', () => {
  let testDatabase: TestDatabase;
  let database: UserDatabaseHandle;
  let recorder: QueryRecorder;
  const knownEmail = `user${USERS / 2}@example.com`;
  const knownRefreshToken = `refresh-${USERS / 2}`;

  beforeAll(async () => {
    testDatabase = await createTestDatabase({ serviceDir: SERVICE_DIR, name: 'user-plans' });
    database = openUserDatabase({
      url: testDatabase.url,
      poolMax: 2,
      statementTimeoutMs: 30_000,
      applicationName: 'user-service-test',
      logger: createLogger({ name: 'test', level: 'silent' }),
    });
    recorder = recordQueries(database.pool);
    const filler = randomBytes(48).toString('base64');
    await database.pool.query(
      `INSERT INTO users (id, email, password_hash, display_name, updated_at)
       SELECT gen_random_uuid(), 'user' || n || '@example.com', $1, 'User ' || n, now()
       FROM generate_series(1, $2::int) AS n`,
      [`$argon2id$v=19$m=19456,t=2,p=1$${filler}`, USERS],
    );
    await database.pool.query(
      `INSERT INTO session_families (id, user_id) SELECT gen_random_uuid(), id FROM users`,
    );
    await database.pool.query(
      `INSERT INTO refresh_tokens (id, family_id, token_hash, expires_at)
       SELECT gen_random_uuid(), f.id, encode(sha256(convert_to('refresh-' || row_number() OVER (ORDER BY u.email), 'UTF8')), 'hex'),
              now() + interval '30 days'
       FROM session_families f JOIN users u ON u.id = f.user_id`,
    );
    await database.pool.query(
      `INSERT INTO password_reset_tokens (id, user_id, token_hash, expires_at)
       SELECT gen_random_uuid(), id, encode(sha256(convert_to(id::text, 'UTF8')), 'hex'), now() + interval '30 minutes'
       FROM users`,
    );
    await database.pool.query('ANALYZE');
  });

  afterAll(async () => {
    await database?.close();
    await testDatabase?.drop();
  });

  async function recorded(work: () => Promise<unknown>): Promise<RecordedQuery[]> {
    recorder.reset();
    await work();
    return recorder.queries.filter((query) => /^\s*SELECT/i.test(query.text));
  }

  async function explain(query: RecordedQuery): Promise<PlanNode[]> {
    const result = await database.pool.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
      `EXPLAIN (FORMAT JSON) ${query.text}`,
      [...query.values],
    );
    return planNodes(result.rows[0]['QUERY PLAN'][0].Plan);
  }

  async function indexesUsedOn(table: string, work: () => Promise<unknown>): Promise<string[]> {
    const statements = await recorded(work);
    const touching = statements.filter((statement) => statement.text.includes(`"${table}"`));
    expect(touching.length).toBeGreaterThan(0);
    const nodes = (await Promise.all(touching.map(explain))).flat();
    const scansOfTable = nodes.filter((node) => node['Relation Name'] === table);
    expect(scansOfTable.length).toBeGreaterThan(0);
    // Every access to the table goes through an index; a Seq Scan would show up here.
    expect(scansOfTable.map((node) => node['Node Type'])).not.toContain('Seq Scan');
    // Index scans name their index; a Bitmap Heap Scan names it on its Bitmap Index Scan child.
    return nodes.flatMap((node) => (node['Index Name'] === undefined ? [] : [node['Index Name']]));
  }

  it('login: finds the user by normalised email through the unique index', async () => {
    const sessions = new PrismaSessionsRepository(database.prisma);
    const indexes = await indexesUsedOn('users', async () => {
      expect(await sessions.findCredentialsByEmail(knownEmail)).toBeDefined();
    });
    expect(indexes).toContain('users_email_key');
  });

  it('refresh: finds the token by its hash through the unique index', async () => {
    const sessions = new PrismaSessionsRepository(database.prisma);
    const indexes = await indexesUsedOn('refresh_tokens', async () => {
      expect(await sessions.findRefreshToken(hashOpaqueToken(knownRefreshToken))).toBeDefined();
    });
    expect(indexes).toContain('refresh_tokens_token_hash_key');
  });

  it('password reset: checks the token by its hash through the unique index', async () => {
    const resets = new PrismaPasswordResetRepository(database.prisma);
    const indexes = await indexesUsedOn('password_reset_tokens', () =>
      resets.isUsable('0'.repeat(64), new Date()),
    );
    expect(indexes).toContain('password_reset_tokens_token_hash_key');
  });

  it('batch profiles: reads the ids through the primary key', async () => {
    const ids = (
      await database.pool.query<{ id: string }>('SELECT id FROM users ORDER BY email LIMIT 100')
    ).rows.map((row) => row.id);
    const profiles = new PrismaProfilesRepository(database.prisma);
    const indexes = await indexesUsedOn('users', async () => {
      expect(await profiles.findProfiles(ids)).toHaveLength(100);
    });
    expect(indexes).toContain('users_pkey');
  });
});
