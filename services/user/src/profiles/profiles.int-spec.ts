import { randomUUID } from 'node:crypto';
import { loadConfig } from '@strata/config';
import { Role } from '@strata/contracts';
import { userServiceConfigSchema } from '../config';
import {
  grpcFailure,
  runUserService,
  startUserService,
  type RunningUserService,
  type UserServiceHarness,
} from '../testing/user-service.harness';

const PASSWORD = 'correct horse battery staple';

describe('profiles and roles (real gRPC server, PostgreSQL, Redis)', () => {
  let service: UserServiceHarness;
  let counter = 0;
  const emailOf = new Map<string, string>();

  beforeAll(async () => {
    service = await startUserService();
  });

  afterAll(async () => {
    await service?.close();
  });

  async function registerUser(displayName = 'Someone'): Promise<string> {
    counter += 1;
    const email = `profile${counter}@example.com`;
    const { user } = await service.client.register({ email, password: PASSWORD, displayName });
    emailOf.set(user!.id, email);
    return user!.id;
  }

  /** Changes a row behind the service's back, to tell a cached read from a database read. */
  async function renameInDatabaseOnly(userId: string, displayName: string): Promise<void> {
    await service.sql.query('UPDATE users SET display_name = $2 WHERE id = $1', [
      userId,
      displayName,
    ]);
  }

  async function makeAdmin(userId: string): Promise<void> {
    await service.sql.query("UPDATE users SET role = 'admin' WHERE id = $1", [userId]);
  }

  describe('GetUser', () => {
    it('returns the public profile to anyone and the account only to the user or an admin', async () => {
      const userId = await registerUser('Public Person');
      const otherId = await registerUser();

      const anonymous = await service.client.getUser({ userId });
      expect(anonymous.user).toMatchObject({
        id: userId,
        displayName: 'Public Person',
        role: Role.MEMBER,
      });
      expect(anonymous.user!.createTime).toBeInstanceOf(Date);
      expect(anonymous.account).toBeUndefined();

      const stranger = await service.client.getUser({
        userId,
        actor: { userId: otherId, role: Role.MEMBER },
      });
      expect(stranger.account).toBeUndefined();

      const self = await service.client.getUser({ userId, actor: { userId, role: Role.MEMBER } });
      expect(self.account).toEqual({ email: emailOf.get(userId), emailVerified: false });

      const admin = await service.client.getUser({
        userId,
        actor: { userId: otherId, role: Role.ADMIN },
      });
      expect(admin.account).toBeDefined();
    });

    it('answers NOT_FOUND for unknown and malformed ids and INVALID_ARGUMENT for an empty one', async () => {
      expect((await grpcFailure(service.client.getUser({ userId: randomUUID() }))).code).toBe(
        'NOT_FOUND',
      );
      expect((await grpcFailure(service.client.getUser({ userId: 'not-a-uuid' }))).code).toBe(
        'NOT_FOUND',
      );
      expect(await grpcFailure(service.client.getUser({ userId: '' }))).toMatchObject({
        code: 'INVALID_ARGUMENT',
        field: 'user_id',
      });
    });

    it('serves a warm profile from the cache', async () => {
      const userId = await registerUser('Cached Name');
      await service.client.getUser({ userId });
      await service.waitForCachedProfile(userId);
      await renameInDatabaseOnly(userId, 'Changed Behind The Back');
      expect((await service.client.getUser({ userId })).user!.displayName).toBe('Cached Name');
      // The account view always reads the database.
      expect(
        (await service.client.getUser({ userId, actor: { userId, role: Role.MEMBER } })).user!
          .displayName,
      ).toBe('Changed Behind The Back');
    });
  });

  describe('BatchGetUsers', () => {
    it('returns profiles in request order, collapses duplicates and reports unknown and malformed ids', async () => {
      const first = await registerUser('First');
      const second = await registerUser('Second');
      const unknown = randomUUID();
      const response = await service.client.batchGetUsers({
        userIds: [second, unknown, first, second, 'junk'],
      });
      expect(response.users.map((user) => user.displayName)).toEqual(['Second', 'First']);
      expect(response.notFoundUserIds).toEqual([unknown, 'junk']);
    });

    it('serves warm entries from the cache', async () => {
      const ids = [await registerUser('Batch A'), await registerUser('Batch B')];
      await service.client.batchGetUsers({ userIds: ids });
      for (const id of ids) await service.waitForCachedProfile(id);
      await renameInDatabaseOnly(ids[0], 'Behind The Back');
      const response = await service.client.batchGetUsers({ userIds: ids });
      expect(response.users.map((user) => user.displayName)).toEqual(['Batch A', 'Batch B']);
    });

    it('accepts 100 distinct ids and refuses 101', async () => {
      const hundred = Array.from({ length: 100 }, () => randomUUID());
      const response = await service.client.batchGetUsers({ userIds: [...hundred, ...hundred] });
      expect(response.notFoundUserIds).toHaveLength(100);
      expect(
        await grpcFailure(service.client.batchGetUsers({ userIds: [...hundred, randomUUID()] })),
      ).toMatchObject({
        code: 'INVALID_ARGUMENT',
        field: 'user_ids',
      });
    });
  });

  describe('GetUserContact', () => {
    it('gives the notification worker the address and name', async () => {
      const userId = await registerUser('Mail Me');
      const contact = await service.client.getUserContact({ userId });
      expect(contact).toEqual({
        email: emailOf.get(userId),
        displayName: 'Mail Me',
        emailVerified: false,
      });
      expect(
        (await grpcFailure(service.client.getUserContact({ userId: randomUUID() }))).code,
      ).toBe('NOT_FOUND');
      expect(await grpcFailure(service.client.getUserContact({ userId: '' }))).toMatchObject({
        field: 'user_id',
      });
    });
  });

  describe('UpdateProfile', () => {
    it('changes only the fields present, and the next read is fresh although the old profile was cached', async () => {
      const userId = await registerUser('Before');
      const actor = { userId, role: Role.MEMBER };
      expect((await service.client.getUser({ userId })).user!.displayName).toBe('Before');
      await service.waitForCachedProfile(userId);

      const updated = await service.client.updateProfile({ actor, displayName: '  After  ' });
      expect(updated.user).toMatchObject({ displayName: 'After', bio: '' });
      expect(updated.account!.email).toMatch(/@example\.com$/);
      expect((await service.client.getUser({ userId })).user!.displayName).toBe('After');
      expect((await service.client.batchGetUsers({ userIds: [userId] })).users[0].displayName).toBe(
        'After',
      );

      await service.client.updateProfile({ actor, bio: 'Writes about tea.\nAnd cake.' });
      expect((await service.client.getUser({ userId })).user).toMatchObject({
        displayName: 'After',
        bio: 'Writes about tea.\nAnd cake.',
      });
      await service.client.updateProfile({ actor, bio: '' });
      expect((await service.client.getUser({ userId })).user!.bio).toBe('');
    });

    it('names invalid fields, requires an actor, and writes nothing on error', async () => {
      const userId = await registerUser('Unchanged');
      const actor = { userId, role: Role.MEMBER };
      for (const [field, change] of [
        ['display_name', { displayName: '' }],
        ['display_name', { displayName: 'x'.repeat(65) }],
        ['bio', { bio: 'x'.repeat(501) }],
        ['bio', { bio: 'nul\u0000byte' }],
      ] as const) {
        const failure = await grpcFailure(
          service.client.updateProfile({ actor, bio: 'new bio', ...change }),
        );
        expect(failure).toMatchObject({ code: 'INVALID_ARGUMENT', field });
      }
      expect((await service.client.getUser({ userId, actor })).user).toMatchObject({
        displayName: 'Unchanged',
        bio: '',
      });
      expect(
        (await grpcFailure(service.client.updateProfile({ displayName: 'Nobody' }))).code,
      ).toBe('UNAUTHENTICATED');
      expect(
        (
          await grpcFailure(
            service.client.updateProfile({
              actor: { userId: randomUUID(), role: Role.MEMBER },
              bio: 'x',
            }),
          )
        ).code,
      ).toBe('NOT_FOUND');
    });
  });

  describe('SetUserRole', () => {
    it('lets an admin change a role; the profile read right after shows it', async () => {
      const adminId = await registerUser('Admin');
      await makeAdmin(adminId);
      const memberId = await registerUser('Member');
      await service.client.getUser({ userId: memberId });
      await service.waitForCachedProfile(memberId);

      const response = await service.client.setUserRole({
        actor: { userId: adminId, role: Role.ADMIN },
        userId: memberId,
        role: Role.ADMIN,
      });
      expect(response.user).toMatchObject({ id: memberId, role: Role.ADMIN });
      expect((await service.client.getUser({ userId: memberId })).user!.role).toBe(Role.ADMIN);
    });

    it('refuses members, and admins whose role claim is stale', async () => {
      const memberId = await registerUser('Plain Member');
      const targetId = await registerUser('Target');
      const asMember = await grpcFailure(
        service.client.setUserRole({
          actor: { userId: memberId, role: Role.MEMBER },
          userId: targetId,
          role: Role.ADMIN,
        }),
      );
      expect(asMember.code).toBe('PERMISSION_DENIED');
      // A token still claiming admin for a user who is a member in the database.
      const staleClaim = await grpcFailure(
        service.client.setUserRole({
          actor: { userId: memberId, role: Role.ADMIN },
          userId: targetId,
          role: Role.ADMIN,
        }),
      );
      expect(staleClaim.code).toBe('PERMISSION_DENIED');
      expect(
        (await grpcFailure(service.client.setUserRole({ userId: targetId, role: Role.ADMIN })))
          .code,
      ).toBe('UNAUTHENTICATED');
      expect((await service.client.getUser({ userId: targetId })).user!.role).toBe(Role.MEMBER);
    });

    it('validates the request and reports unknown users', async () => {
      const adminId = await registerUser('Another Admin');
      await makeAdmin(adminId);
      const actor = { userId: adminId, role: Role.ADMIN };
      expect(
        await grpcFailure(
          service.client.setUserRole({ actor, userId: adminId, role: Role.UNSPECIFIED }),
        ),
      ).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'role' });
      expect(
        await grpcFailure(service.client.setUserRole({ actor, userId: '', role: Role.MEMBER })),
      ).toMatchObject({
        code: 'INVALID_ARGUMENT',
        field: 'user_id',
      });
      expect(
        (
          await grpcFailure(
            service.client.setUserRole({ actor, userId: randomUUID(), role: Role.MEMBER }),
          )
        ).code,
      ).toBe('NOT_FOUND');
    });

    it('puts the new role into the access token at the next refresh', async () => {
      const adminId = await registerUser('Promoter');
      await makeAdmin(adminId);
      const memberId = await registerUser('Promoted');
      const { tokens } = await service.client.authenticate({
        email: emailOf.get(memberId)!,
        password: PASSWORD,
      });
      await service.client.setUserRole({
        actor: { userId: adminId, role: Role.ADMIN },
        userId: memberId,
        role: Role.ADMIN,
      });
      const { tokens: refreshed } = await service.client.refreshSession({
        refreshToken: tokens!.refreshToken,
      });
      const claims = JSON.parse(
        Buffer.from(refreshed!.accessToken.split('.')[1], 'base64url').toString(),
      ) as {
        role: string;
      };
      expect(claims.role).toBe('admin');
    });
  });

  describe('with the cache Redis unreachable', () => {
    let degraded: RunningUserService;

    beforeAll(async () => {
      // A second instance on the same database, its cache pointed at a port nothing listens on.
      const config = loadConfig(userServiceConfigSchema, {
        ...Object.fromEntries(
          Object.entries(service.config)
            .filter(([, value]) => value !== undefined)
            .map(([key, value]) => [key, String(value)]),
        ),
        JWT_PRIVATE_KEY: service.config.JWT_PRIVATE_KEY.reveal(),
        REDIS_CACHE_URL: 'redis://127.0.0.1:1',
      });
      degraded = await runUserService(config, {
        cacheKeyPrefix: `${service.redis.prefix}degraded`,
      });
    });

    afterAll(async () => {
      await degraded?.close();
    });

    it('still serves reads and writes from PostgreSQL', async () => {
      const { user } = await degraded.client.register({
        email: 'no-cache@example.com',
        password: PASSWORD,
        displayName: 'No Cache',
      });
      const userId = user!.id;
      expect((await degraded.client.getUser({ userId })).user!.displayName).toBe('No Cache');
      expect((await degraded.client.batchGetUsers({ userIds: [userId] })).users).toHaveLength(1);
      await degraded.client.updateProfile({
        actor: { userId, role: Role.MEMBER },
        displayName: 'Still Works',
      });
      expect((await degraded.client.getUser({ userId })).user!.displayName).toBe('Still Works');
      expect(degraded.logs.text()).toMatch(/redis|cache/i);
    });
  });
});
