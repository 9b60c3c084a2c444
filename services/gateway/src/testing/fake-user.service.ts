/* eslint-disable @typescript-eslint/require-await -- unary() handlers return promises; these in-memory fakes mostly have nothing to await. */
import { randomBytes, randomUUID } from 'node:crypto';
import { Role, type UserServiceServer, type userV1 } from '@strata/contracts';
import {
  alreadyExists,
  invalidArgument,
  notFound,
  permissionDenied,
  unauthenticated,
  unary,
} from '@strata/grpc';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { requireActor } from './fake-helpers';

export const FAKE_ISSUER = 'strata-test';
export const FAKE_AUDIENCE = 'strata-test-api';

interface StoredUser {
  id: string;
  email: string;
  password: string;
  displayName: string;
  bio: string;
  role: Role;
  emailVerified: boolean;
  createTime: Date;
  updateTime: Date;
}

interface RefreshRecord {
  userId: string;
  family: string;
  rotated: boolean;
}

export interface IssueTokenOptions {
  role?: 'member' | 'admin';
  issuer?: string;
  audience?: string;
  expiresInSeconds?: number;
  keyId?: string;
}

/**
 * In-memory stand-in for the user service, behaving as user.proto documents (codes, reasons,
 * fields), with real EdDSA-signed access tokens so the gateway's verification is exercised.
 */
export class FakeUserService {
  readonly users = new Map<string, StoredUser>();
  private readonly byEmail = new Map<string, string>();
  private readonly refreshTokens = new Map<string, RefreshRecord>();
  private readonly revokedFamilies = new Set<string>();
  readonly verificationTokens = new Map<string, string>();
  readonly resetTokens = new Map<string, string>();
  getSigningKeysCalls = 0;

  private constructor(
    private readonly privateKey: CryptoKey,
    private readonly publicJwkJson: string,
    readonly keyId: string,
  ) {}

  static async create(): Promise<FakeUserService> {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
    const keyId = `k-${randomUUID().slice(0, 8)}`;
    const jwk = { ...(await exportJWK(publicKey)), kid: keyId, alg: 'EdDSA', use: 'sig' };
    return new FakeUserService(privateKey, JSON.stringify(jwk), keyId);
  }

  /** Signs an access token as the real service would (tests bend claims to check rejection). */
  async issueAccessToken(userId: string, options: IssueTokenOptions = {}): Promise<string> {
    const expiresIn = options.expiresInSeconds ?? 900;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ role: options.role ?? this.roleName(userId) })
      .setProtectedHeader({ alg: 'EdDSA', kid: options.keyId ?? this.keyId })
      .setIssuer(options.issuer ?? FAKE_ISSUER)
      .setAudience(options.audience ?? FAKE_AUDIENCE)
      .setSubject(userId)
      .setJti(randomUUID())
      .setIssuedAt(now - (expiresIn < 0 ? 1_000 : 0))
      .setExpirationTime(now + expiresIn)
      .sign(this.privateKey);
  }

  exists(userId: string): boolean {
    return this.users.has(userId);
  }

  displayName(userId: string): string {
    return this.users.get(userId)?.displayName ?? '';
  }

  private roleName(userId: string): 'member' | 'admin' {
    return this.users.get(userId)?.role === Role.ADMIN ? 'admin' : 'member';
  }

  private async session(
    userId: string,
    family: string = randomUUID(),
  ): Promise<userV1.SessionTokens> {
    const refreshToken = randomBytes(24).toString('base64url');
    this.refreshTokens.set(refreshToken, { userId, family, rotated: false });
    return {
      accessToken: await this.issueAccessToken(userId),
      refreshToken,
      expiresIn: 900,
      refreshTokenExpireTime: new Date(Date.now() + 30 * 86_400_000),
    };
  }

  private profile(user: StoredUser): userV1.User {
    return {
      id: user.id,
      displayName: user.displayName,
      bio: user.bio,
      role: user.role,
      createTime: user.createTime,
      updateTime: user.updateTime,
    };
  }

  private account(user: StoredUser): userV1.UserAccount {
    return { email: user.email, emailVerified: user.emailVerified };
  }

  readonly implementation: UserServiceServer = {
    register: unary(async (request) => {
      const email = request.email.trim().toLowerCase();
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email) || email.length > 254)
        throw invalidArgument('email', 'not a valid address');
      if (request.password.length < 10 || request.password.length > 128)
        throw invalidArgument('password', 'must be 10 to 128 characters');
      const displayName = request.displayName.trim();
      if (displayName.length < 1 || displayName.length > 64)
        throw invalidArgument('display_name', 'must be 1 to 64 characters');
      if (this.byEmail.has(email)) throw alreadyExists('email already registered');
      const now = new Date();
      const user: StoredUser = {
        id: randomUUID(),
        email,
        password: request.password,
        displayName,
        bio: '',
        role: Role.MEMBER,
        emailVerified: false,
        createTime: now,
        updateTime: now,
      };
      this.users.set(user.id, user);
      this.byEmail.set(email, user.id);
      this.verificationTokens.set(randomBytes(16).toString('hex'), user.id);
      return { user: this.profile(user), account: this.account(user) };
    }),
    authenticate: unary(async (request) => {
      if (request.email === '' || request.password === '')
        throw invalidArgument('email', 'required');
      const id = this.byEmail.get(request.email.trim().toLowerCase());
      const user = id === undefined ? undefined : this.users.get(id);
      if (!user || user.password !== request.password) {
        throw unauthenticated('invalid email or password', 'ERROR_REASON_INVALID_CREDENTIALS');
      }
      return { tokens: await this.session(user.id), userId: user.id };
    }),
    refreshSession: unary(async (request) => {
      if (request.refreshToken === '') throw invalidArgument('refresh_token', 'required');
      const record = this.refreshTokens.get(request.refreshToken);
      if (!record || this.revokedFamilies.has(record.family))
        throw unauthenticated('invalid refresh token');
      if (record.rotated) {
        this.revokedFamilies.add(record.family);
        throw unauthenticated('refresh token reused', 'ERROR_REASON_REFRESH_TOKEN_REUSED');
      }
      record.rotated = true;
      return { tokens: await this.session(record.userId, record.family) };
    }),
    revokeSession: unary(async (request) => {
      if (request.refreshToken === '') throw invalidArgument('refresh_token', 'required');
      const record = this.refreshTokens.get(request.refreshToken);
      if (record) this.revokedFamilies.add(record.family);
      return {};
    }),
    verifyEmail: unary(async (request) => {
      const userId = this.verificationTokens.get(request.token);
      const user = userId === undefined ? undefined : this.users.get(userId);
      if (!user) throw invalidArgument('token', 'unknown, expired or used token');
      this.verificationTokens.delete(request.token);
      user.emailVerified = true;
      return { userId: user.id };
    }),
    requestPasswordReset: unary(async (request) => {
      const email = request.email.trim().toLowerCase();
      if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw invalidArgument('email', 'not a valid address');
      const id = this.byEmail.get(email);
      if (id !== undefined) this.resetTokens.set(randomBytes(16).toString('hex'), id);
      return {};
    }),
    resetPassword: unary(async (request) => {
      const userId = this.resetTokens.get(request.token);
      const user = userId === undefined ? undefined : this.users.get(userId);
      if (!user) throw invalidArgument('token', 'unknown, expired or used token');
      if (request.newPassword.length < 10 || request.newPassword.length > 128)
        throw invalidArgument('new_password', 'must be 10 to 128 characters');
      this.resetTokens.delete(request.token);
      user.password = request.newPassword;
      for (const record of this.refreshTokens.values())
        if (record.userId === user.id) this.revokedFamilies.add(record.family);
      return {};
    }),
    getUser: unary(async (request) => {
      if (request.userId === '') throw invalidArgument('user_id', 'required');
      const user = this.users.get(request.userId);
      if (!user) throw notFound('user not found');
      const self =
        request.actor && (request.actor.userId === user.id || request.actor.role === Role.ADMIN);
      return self
        ? { user: this.profile(user), account: this.account(user) }
        : { user: this.profile(user) };
    }),
    batchGetUsers: unary(async (request) => {
      const ids = [...new Set(request.userIds)];
      if (ids.length > 100) throw invalidArgument('user_ids', 'at most 100');
      const users = ids.flatMap((id) => {
        const user = this.users.get(id);
        return user ? [this.profile(user)] : [];
      });
      return { users, notFoundUserIds: ids.filter((id) => !this.users.has(id)) };
    }),
    getUserContact: unary(async (request) => {
      const user = this.users.get(request.userId);
      if (!user) throw notFound('user not found');
      return {
        email: user.email,
        displayName: user.displayName,
        emailVerified: user.emailVerified,
      };
    }),
    updateProfile: unary(async (request) => {
      const actor = requireActor(request.actor);
      const user = this.users.get(actor.userId);
      if (!user) throw notFound('user not found');
      if (request.displayName !== undefined) {
        const name = request.displayName.trim();
        if (name.length < 1 || name.length > 64)
          throw invalidArgument('display_name', 'must be 1 to 64 characters');
        user.displayName = name;
      }
      if (request.bio !== undefined) {
        if (request.bio.length > 500) throw invalidArgument('bio', 'at most 500 characters');
        user.bio = request.bio;
      }
      user.updateTime = new Date();
      return { user: this.profile(user), account: this.account(user) };
    }),
    setUserRole: unary(async (request) => {
      const actor = requireActor(request.actor);
      if (this.users.get(actor.userId)?.role !== Role.ADMIN) throw permissionDenied();
      const user = this.users.get(request.userId);
      if (!user) throw notFound('user not found');
      user.role = request.role;
      return { user: this.profile(user) };
    }),
    getSigningKeys: unary(async () => {
      this.getSigningKeysCalls += 1;
      return {
        keys: [{ keyId: this.keyId, algorithm: 'EdDSA', publicJwkJson: this.publicJwkJson }],
        issuer: FAKE_ISSUER,
        audience: FAKE_AUDIENCE,
      };
    }),
  };
}
