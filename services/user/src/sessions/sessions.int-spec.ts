import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { type userV1 } from '@strata/contracts';
import { PasswordHasher, readArgon2Parameters } from '../passwords/password-hasher';
import {
  countRows,
  grpcFailure,
  latestEmailToken,
  outboxEmails,
  startUserService,
  type UserServiceHarness,
} from '../testing/user-service.harness';

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a brand new passphrase';

describe('sessions, email verification and password reset (real gRPC server)', () => {
  let service: UserServiceHarness;
  let counter = 0;

  beforeAll(async () => {
    service = await startUserService();
  });

  afterAll(async () => {
    await service?.close();
  });

  async function registerUser(): Promise<{ userId: string; email: string }> {
    counter += 1;
    const email = `user${counter}@example.com`;
    const { user } = await service.client.register({
      email,
      password: PASSWORD,
      displayName: `User ${counter}`,
    });
    return { userId: user!.id, email };
  }

  async function login(email: string, password = PASSWORD): Promise<userV1.SessionTokens> {
    const { tokens } = await service.client.authenticate({ email, password });
    return tokens!;
  }

  describe('Authenticate', () => {
    it('issues a pinned-algorithm access token the published key verifies, and an opaque refresh token', async () => {
      const { userId, email } = await registerUser();
      const response = await service.client.authenticate({
        email: ` ${email.toUpperCase()} `,
        password: PASSWORD,
      });
      expect(response.userId).toBe(userId);
      const tokens = response.tokens!;
      expect(tokens.expiresIn).toBe(900);
      expect(tokens.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(tokens.refreshTokenExpireTime!.getTime()).toBeGreaterThan(
        Date.now() + 29 * 24 * 3600 * 1000,
      );

      const keys = await service.client.getSigningKeys({});
      expect(keys).toMatchObject({ issuer: 'strata-user-test', audience: 'strata-test' });
      expect(keys.keys).toHaveLength(1);
      const [key] = keys.keys;
      expect(key).toMatchObject({ keyId: 'test-key-1', algorithm: 'EdDSA' });
      const jwk = JSON.parse(key.publicJwkJson) as Record<string, string>;
      expect(jwk).toMatchObject({
        kty: 'OKP',
        crv: 'Ed25519',
        kid: 'test-key-1',
        alg: 'EdDSA',
        use: 'sig',
      });
      expect(jwk).not.toHaveProperty('d');

      expect(decodeProtectedHeader(tokens.accessToken)).toMatchObject({
        alg: 'EdDSA',
        kid: 'test-key-1',
      });
      const { payload } = await jwtVerify(tokens.accessToken, await importJWK(jwk, 'EdDSA'), {
        algorithms: ['EdDSA'],
        issuer: keys.issuer,
        audience: keys.audience,
      });
      expect(payload).toMatchObject({ sub: userId, role: 'member' });
      expect(typeof payload.jti).toBe('string');
      expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(900);

      // Stored as a SHA-256 hash only.
      const stored = await service.sql.query<{ token_hash: string }>(
        'SELECT t.token_hash FROM refresh_tokens t JOIN session_families f ON f.id = t.family_id WHERE f.user_id = $1',
        [userId],
      );
      expect(stored.rows).toHaveLength(1);
      expect(stored.rows[0].token_hash).toMatch(/^[0-9a-f]{64}$/);
    });

    it('fails an unknown email and a wrong password with the same error, in comparable time', async () => {
      const { email } = await registerUser();
      const wrong = await grpcFailure(
        service.client.authenticate({ email, password: 'not the password' }),
      );
      const unknown = await grpcFailure(
        service.client.authenticate({ email: 'nobody@example.com', password: 'not the password' }),
      );
      expect(wrong).toEqual(unknown);
      expect(wrong).toEqual({
        code: 'UNAUTHENTICATED',
        message: 'invalid email or password',
        field: undefined,
        reason: 'ERROR_REASON_INVALID_CREDENTIALS',
      });

      // Both paths run one argon2 verification. Measured interleaved, so that load from other
      // suites running in parallel hits both series alike, and compared by their fastest try:
      // load only ever adds time, so the minimum of each series is its cost when undisturbed
      // (medians failed on a starved CI machine, where most tries of a series waited for CPU).
      const wrongMs: number[] = [];
      const unknownMs: number[] = [];
      const time = async (into: number[], attempt: () => Promise<unknown>) => {
        const started = process.hrtime.bigint();
        await attempt().catch(() => undefined);
        into.push(Number(process.hrtime.bigint() - started) / 1e6);
      };
      for (let index = 0; index < 11; index += 1) {
        await time(wrongMs, () =>
          service.client.authenticate({ email, password: 'not the password' }),
        );
        await time(unknownMs, () =>
          service.client.authenticate({
            email: 'nobody@example.com',
            password: 'not the password',
          }),
        );
      }
      const fastestUnknown = Math.min(...unknownMs);
      const fastestWrong = Math.min(...wrongMs);
      expect(fastestUnknown).toBeGreaterThan(fastestWrong * 0.5);
      expect(fastestUnknown).toBeLessThan(fastestWrong * 2);
    });

    it('upgrades a hash made with older argon2 parameters at the next login', async () => {
      const { userId, email } = await registerUser();
      const weaker = await new PasswordHasher({
        memoryCost: 8_192,
        timeCost: 1,
        parallelism: 1,
      }).hash(PASSWORD);
      await service.sql.query('UPDATE users SET password_hash = $2 WHERE id = $1', [
        userId,
        weaker,
      ]);
      await login(email);
      const { rows } = await service.sql.query<{ password_hash: string }>(
        'SELECT password_hash FROM users WHERE id = $1',
        [userId],
      );
      expect(readArgon2Parameters(rows[0].password_hash)).toMatchObject({
        memoryCost: 19_456,
        timeCost: 2,
      });
      await expect(login(email)).resolves.toBeDefined();
    });

    it('only checks presence and length of the credentials', async () => {
      expect(
        await grpcFailure(service.client.authenticate({ email: '', password: PASSWORD })),
      ).toMatchObject({
        code: 'INVALID_ARGUMENT',
        field: 'email',
      });
      expect(
        await grpcFailure(service.client.authenticate({ email: 'a@example.com', password: '' })),
      ).toMatchObject({
        code: 'INVALID_ARGUMENT',
        field: 'password',
      });
      expect(
        await grpcFailure(
          service.client.authenticate({ email: 'a@example.com', password: 'x'.repeat(129) }),
        ),
      ).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'password' });
    });
  });

  describe('RefreshSession and RevokeSession', () => {
    it('rotates: the new pair works, the old refresh token does not', async () => {
      const { userId, email } = await registerUser();
      const first = await login(email);
      const { tokens: second } = await service.client.refreshSession({
        refreshToken: first.refreshToken,
      });
      expect(second!.refreshToken).not.toBe(first.refreshToken);
      expect(second!.accessToken).not.toBe(first.accessToken);
      const { tokens: third } = await service.client.refreshSession({
        refreshToken: second!.refreshToken,
      });
      expect(third!.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);

      const families = await service.sql.query(
        'SELECT id FROM session_families WHERE user_id = $1',
        [userId],
      );
      expect(families.rowCount).toBe(1);
    });

    it('revokes the whole family when a rotated token is presented again', async () => {
      const { userId, email } = await registerUser();
      const stolen = await login(email);
      const { tokens: legitimate } = await service.client.refreshSession({
        refreshToken: stolen.refreshToken,
      });

      const reuse = await grpcFailure(
        service.client.refreshSession({ refreshToken: stolen.refreshToken }),
      );
      expect(reuse).toMatchObject({
        code: 'UNAUTHENTICATED',
        reason: 'ERROR_REASON_REFRESH_TOKEN_REUSED',
      });
      // The legitimate holder's newer token died with the family.
      expect(
        (
          await grpcFailure(
            service.client.refreshSession({ refreshToken: legitimate!.refreshToken }),
          )
        ).code,
      ).toBe('UNAUTHENTICATED');
      const family = await service.sql.query<{ revoke_reason: string }>(
        'SELECT revoke_reason FROM session_families WHERE user_id = $1',
        [userId],
      );
      expect(family.rows).toEqual([{ revoke_reason: 'refresh_token_reused' }]);

      // Other sessions of the same user are untouched.
      const other = await login(email);
      await expect(
        service.client.refreshSession({ refreshToken: other.refreshToken }),
      ).resolves.toBeDefined();
    });

    it('lets only one of two concurrent refreshes of one token succeed, and treats the other as reuse', async () => {
      const { email } = await registerUser();
      const session = await login(email);
      const results = await Promise.allSettled([
        service.client.refreshSession({ refreshToken: session.refreshToken }),
        service.client.refreshSession({ refreshToken: session.refreshToken }),
      ]);
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    });

    it('refuses unknown, malformed and expired refresh tokens', async () => {
      const { email } = await registerUser();
      expect(await grpcFailure(service.client.refreshSession({ refreshToken: '' }))).toMatchObject({
        code: 'INVALID_ARGUMENT',
        field: 'refresh_token',
      });
      for (const refreshToken of ['x'.repeat(43), 'short', 'not a token at all']) {
        expect((await grpcFailure(service.client.refreshSession({ refreshToken }))).code).toBe(
          'UNAUTHENTICATED',
        );
      }
      const session = await login(email);
      service.clock.advance(31 * 24 * 3600 * 1000);
      try {
        expect(
          (await grpcFailure(service.client.refreshSession({ refreshToken: session.refreshToken })))
            .code,
        ).toBe('UNAUTHENTICATED');
      } finally {
        service.clock.advance(-31 * 24 * 3600 * 1000);
      }
    });

    it('logs out by revoking the family, idempotently and without revealing token validity', async () => {
      const { email } = await registerUser();
      const session = await login(email);
      const { tokens: rotated } = await service.client.refreshSession({
        refreshToken: session.refreshToken,
      });
      // Any token of the family, even the rotated one, logs the family out.
      await expect(
        service.client.revokeSession({ refreshToken: session.refreshToken }),
      ).resolves.toEqual({});
      expect(
        (await grpcFailure(service.client.refreshSession({ refreshToken: rotated!.refreshToken })))
          .code,
      ).toBe('UNAUTHENTICATED');
      await expect(
        service.client.revokeSession({ refreshToken: session.refreshToken }),
      ).resolves.toEqual({});
      await expect(service.client.revokeSession({ refreshToken: 'y'.repeat(43) })).resolves.toEqual(
        {},
      );
      expect(await grpcFailure(service.client.revokeSession({ refreshToken: '' }))).toMatchObject({
        code: 'INVALID_ARGUMENT',
        field: 'refresh_token',
      });
    });
  });

  describe('VerifyEmail', () => {
    it('verifies with the emailed token once', async () => {
      const { userId } = await registerUser();
      const token = await latestEmailToken(service.sql, userId, 'email-verification');
      await expect(service.client.verifyEmail({ token })).resolves.toEqual({ userId });
      const contact = await service.client.getUserContact({ userId });
      expect(contact.emailVerified).toBe(true);

      expect(await grpcFailure(service.client.verifyEmail({ token }))).toMatchObject({
        code: 'INVALID_ARGUMENT',
        field: 'token',
      });
    });

    it('refuses empty, unknown and expired tokens', async () => {
      const { userId } = await registerUser();
      expect(await grpcFailure(service.client.verifyEmail({ token: '' }))).toMatchObject({
        field: 'token',
      });
      expect(
        await grpcFailure(service.client.verifyEmail({ token: 'z'.repeat(43) })),
      ).toMatchObject({
        code: 'INVALID_ARGUMENT',
        field: 'token',
      });
      const token = await latestEmailToken(service.sql, userId, 'email-verification');
      service.clock.advance(25 * 3600 * 1000);
      try {
        expect((await grpcFailure(service.client.verifyEmail({ token }))).code).toBe(
          'INVALID_ARGUMENT',
        );
      } finally {
        service.clock.advance(-25 * 3600 * 1000);
      }
      expect((await service.client.getUserContact({ userId })).emailVerified).toBe(false);
    });
  });

  describe('RequestPasswordReset and ResetPassword', () => {
    it('answers the same for known and unknown emails, but only mails the known one', async () => {
      const { userId, email } = await registerUser();
      const outboxBefore = await countRows(service.sql, 'outbox_events');
      await expect(
        service.client.requestPasswordReset({ email: 'nobody@example.com' }),
      ).resolves.toEqual({});
      expect(await countRows(service.sql, 'outbox_events')).toBe(outboxBefore);
      await expect(
        service.client.requestPasswordReset({ email: email.toUpperCase() }),
      ).resolves.toEqual({});
      expect(await outboxEmails(service.sql, userId, 'password-reset')).toHaveLength(1);
      expect(
        await grpcFailure(service.client.requestPasswordReset({ email: 'nope' })),
      ).toMatchObject({
        code: 'INVALID_ARGUMENT',
        field: 'email',
      });
    });

    it('sets the new password, revokes every session, and works only once', async () => {
      const { userId, email } = await registerUser();
      const sessionA = await login(email);
      const sessionB = await login(email);
      await service.client.requestPasswordReset({ email });
      await service.client.requestPasswordReset({ email });
      const [firstToken, secondToken] = (
        await outboxEmails(service.sql, userId, 'password-reset')
      ).map((row) => row.payload.data['token']);

      await expect(
        service.client.resetPassword({ token: secondToken, newPassword: NEW_PASSWORD }),
      ).resolves.toEqual({});

      for (const session of [sessionA, sessionB]) {
        expect(
          (await grpcFailure(service.client.refreshSession({ refreshToken: session.refreshToken })))
            .code,
        ).toBe('UNAUTHENTICATED');
      }
      expect(
        (await grpcFailure(service.client.authenticate({ email, password: PASSWORD }))).code,
      ).toBe('UNAUTHENTICATED');
      await expect(login(email, NEW_PASSWORD)).resolves.toBeDefined();

      // Single use, and the other link sent before the reset died with it.
      for (const token of [secondToken, firstToken]) {
        expect(
          await grpcFailure(
            service.client.resetPassword({ token, newPassword: 'yet another passphrase' }),
          ),
        ).toMatchObject({
          code: 'INVALID_ARGUMENT',
          field: 'token',
        });
      }
    });

    it('expires reset tokens after 30 minutes and checks the new password against the policy', async () => {
      const { userId, email } = await registerUser();
      await service.client.requestPasswordReset({ email });
      const token = await latestEmailToken(service.sql, userId, 'password-reset');
      expect(
        await grpcFailure(service.client.resetPassword({ token, newPassword: 'qwertyuiop' })),
      ).toMatchObject({
        code: 'INVALID_ARGUMENT',
        field: 'new_password',
      });
      service.clock.advance(31 * 60 * 1000);
      try {
        expect(
          await grpcFailure(service.client.resetPassword({ token, newPassword: NEW_PASSWORD })),
        ).toMatchObject({
          code: 'INVALID_ARGUMENT',
          field: 'token',
        });
      } finally {
        service.clock.advance(-31 * 60 * 1000);
      }
      // Nothing changed: the old password still works.
      await expect(login(email)).resolves.toBeDefined();
    });
  });

  it('never logs passwords, password hashes or tokens over a full round trip', async () => {
    const email = 'secretive@example.com';
    const password = 'Unmistakable-Pass-phrase-42';
    const { user } = await service.client.register({ email, password, displayName: 'Secretive' });
    const userId = user!.id;
    const session = await login(email, password);
    const { tokens: rotated } = await service.client.refreshSession({
      refreshToken: session.refreshToken,
    });
    await grpcFailure(service.client.refreshSession({ refreshToken: session.refreshToken }));
    const verification = await latestEmailToken(service.sql, userId, 'email-verification');
    await service.client.verifyEmail({ token: verification });
    await service.client.requestPasswordReset({ email });
    const reset = await latestEmailToken(service.sql, userId, 'password-reset');
    const newPassword = 'Another-Unmistakable-Pass-99';
    await service.client.resetPassword({ token: reset, newPassword });
    await grpcFailure(service.client.authenticate({ email, password }));
    await service.client.revokeSession({ refreshToken: rotated!.refreshToken });

    const hash = (
      await service.sql.query<{ password_hash: string }>(
        'SELECT password_hash FROM users WHERE id = $1',
        [userId],
      )
    ).rows[0].password_hash;
    const text = service.logs.text();
    // The service did log these calls (so the assertion below is not vacuous).
    expect(text).toContain('"grpcMethod":"Authenticate"');
    expect(text).toContain('"grpcMethod":"ResetPassword"');
    for (const secret of [
      password,
      newPassword,
      hash,
      hash.split('$').at(-1)!,
      session.accessToken,
      session.refreshToken,
      rotated!.refreshToken,
      verification,
      reset,
    ]) {
      expect(text).not.toContain(secret);
    }
  });
});
