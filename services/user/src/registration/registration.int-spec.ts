import { Queue } from 'bullmq';
import { readArgon2Parameters } from '../passwords/password-hasher';
import {
  countRows,
  grpcFailure,
  outboxEmails,
  startUserService,
  type UserServiceHarness,
} from '../testing/user-service.harness';
import { buildWorker } from '../worker-app';
import { createLogger } from '@strata/logger';
import { Role } from '@strata/contracts';

const PASSWORD = 'correct horse battery staple';

describe('Register (real gRPC server, PostgreSQL, Redis)', () => {
  let service: UserServiceHarness;

  beforeAll(async () => {
    service = await startUserService();
  });

  afterAll(async () => {
    await service?.close();
  });

  async function tableCounts(): Promise<number[]> {
    return Promise.all(
      ['users', 'email_verification_tokens', 'outbox_events'].map((table) =>
        countRows(service.sql, table),
      ),
    );
  }

  it('creates a member with a normalised email, an argon2id hash and a verification email in the outbox', async () => {
    const response = await service.client.register({
      email: '  Ada.Lovelace@Example.COM ',
      password: PASSWORD,
      displayName: '  Ada  ',
    });
    expect(response.user).toMatchObject({ displayName: 'Ada', bio: '', role: Role.MEMBER });
    expect(response.account).toEqual({ email: 'ada.lovelace@example.com', emailVerified: false });
    expect(JSON.stringify(response)).not.toMatch(/argon2|correct horse/);

    const userId = response.user!.id;
    const row = await service.sql.query<{ email: string; password_hash: string }>(
      'SELECT email, password_hash FROM users WHERE id = $1',
      [userId],
    );
    expect(row.rows[0].email).toBe('ada.lovelace@example.com');
    expect(readArgon2Parameters(row.rows[0].password_hash)).toEqual({
      algorithm: 'argon2id',
      version: 19,
      memoryCost: 19_456,
      timeCost: 2,
      parallelism: 1,
    });

    const [email] = await outboxEmails(service.sql, userId);
    expect(email).toMatchObject({
      queue: 'email',
      payload: { toUserId: userId, template: 'email-verification' },
    });
    const token = email.payload.data['token'];
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Only the SHA-256 of the token is stored with the user.
    const stored = await service.sql.query<{ token_hash: string }>(
      'SELECT token_hash FROM email_verification_tokens WHERE user_id = $1',
      [userId],
    );
    expect(stored.rows[0].token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored.rows[0].token_hash).not.toBe(token);
  });

  it('rejects the same email in another case as ALREADY_EXISTS and writes nothing', async () => {
    await service.client.register({
      email: 'grace@example.com',
      password: PASSWORD,
      displayName: 'Grace',
    });
    const before = await tableCounts();
    const failure = await grpcFailure(
      service.client.register({
        email: 'GRACE@example.com ',
        password: PASSWORD,
        displayName: 'Other Grace',
      }),
    );
    expect(failure.code).toBe('ALREADY_EXISTS');
    expect(await tableCounts()).toEqual(before);
  });

  it.each([
    ['email', { email: 'not-an-email' }],
    ['email', { email: '' }],
    ['email', { email: `${'a'.repeat(250)}@example.com` }],
    ['password', { password: 'too-short' }],
    ['password', { password: 'x'.repeat(129) }],
    ['password', { password: 'Password123' }],
    ['display_name', { displayName: '   ' }],
    ['display_name', { displayName: 'x'.repeat(65) }],
    ['display_name', { displayName: 'bell\u0007' }],
  ])('names the invalid field %s and writes nothing', async (field, change) => {
    const before = await tableCounts();
    const failure = await grpcFailure(
      service.client.register({
        email: 'valid@example.com',
        password: PASSWORD,
        displayName: 'Valid',
        ...change,
      }),
    );
    expect(failure).toMatchObject({ code: 'INVALID_ARGUMENT', field });
    expect(failure.message.startsWith(`${field}: `)).toBe(true);
    expect(await tableCounts()).toEqual(before);
  });

  it('lets exactly one of two concurrent sign-ups with one email win', async () => {
    const attempts = await Promise.allSettled([
      service.client.register({
        email: 'race@example.com',
        password: PASSWORD,
        displayName: 'One',
      }),
      service.client.register({
        email: 'Race@example.com',
        password: PASSWORD,
        displayName: 'Two',
      }),
    ]);
    expect(attempts.filter((attempt) => attempt.status === 'fulfilled')).toHaveLength(1);
    const users = await service.sql.query("SELECT id FROM users WHERE email = 'race@example.com'");
    expect(users.rowCount).toBe(1);
    expect(await outboxEmails(service.sql, (users.rows[0] as { id: string }).id)).toHaveLength(1);
  });

  it('hands the verification email to the `email` queue through the worker relay', async () => {
    const { user } = await service.client.register({
      email: 'relay@example.com',
      password: PASSWORD,
      displayName: 'Relay',
    });
    const [outboxRow] = await outboxEmails(service.sql, user!.id);
    const queuePrefix = `${service.redis.queuePrefix}-bull`;
    const worker = buildWorker(
      service.config,
      createLogger({ name: 'worker-test', level: 'silent' }),
      { queuePrefix },
    );
    const queue = new Queue('email', {
      connection: { url: service.redis.url },
      prefix: queuePrefix,
    });
    try {
      worker.start();
      // The relay publishes, then marks the row in the same transaction: wait for both.
      const isPublished = async () =>
        (
          await service.sql.query(
            'SELECT 1 FROM outbox_events WHERE id = $1 AND published_at IS NOT NULL',
            [outboxRow.id],
          )
        ).rowCount === 1;
      for (let attempt = 0; !(await isPublished()) && attempt < 200; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(await isPublished()).toBe(true);
      const job = await queue.getJob(outboxRow.id);
      expect(job?.name).toBe('send-email');
      expect(job?.data).toMatchObject({ toUserId: user!.id, template: 'email-verification' });
    } finally {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
