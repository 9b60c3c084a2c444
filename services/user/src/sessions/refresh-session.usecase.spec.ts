import { generateKeyPairSync } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { DomainError } from '@strata/grpc';
import { createLogger } from '@strata/logger';
import { AccessTokenIssuer } from '../tokens/access-token.issuer';
import { hashOpaqueToken, newOpaqueToken } from '../tokens/opaque-token';
import { RefreshSessionUseCase } from './refresh-session.usecase';
import { SessionTokenFactory } from './session-tokens';
import {
  type LoginCredentials,
  type NewRefreshToken,
  type RevokeReason,
  type SessionsRepository,
  type StoredRefreshToken,
} from './sessions.repository';

/** In-memory repository: the use case's decisions, without a database. */
class FakeSessions implements SessionsRepository {
  readonly tokens = new Map<string, StoredRefreshToken & { tokenHash: string }>();
  readonly revocations: Array<{ familyId: string; reason: RevokeReason }> = [];
  loseNextRace = false;

  add(token: string, overrides: Partial<StoredRefreshToken> = {}): void {
    const tokenHash = hashOpaqueToken(token);
    this.tokens.set(tokenHash, {
      tokenHash,
      tokenId: `token-${this.tokens.size}`,
      familyId: 'family-1',
      userId: 'user-1',
      role: 'member',
      expiresAt: new Date(Date.now() + 60_000),
      rotatedAt: null,
      familyRevokedAt: null,
      ...overrides,
    });
  }

  findCredentialsByEmail(): Promise<LoginCredentials | undefined> {
    return Promise.resolve(undefined);
  }
  updatePasswordHash(): Promise<void> {
    return Promise.resolve();
  }
  openFamily(): Promise<{ familyId: string }> {
    return Promise.resolve({ familyId: 'family-1' });
  }
  findRefreshToken(tokenHash: string): Promise<StoredRefreshToken | undefined> {
    return Promise.resolve(this.tokens.get(tokenHash));
  }
  rotate(
    tokenId: string,
    familyId: string,
    next: NewRefreshToken,
    now: Date,
  ): Promise<'rotated' | 'lost-race'> {
    if (this.loseNextRace) return Promise.resolve('lost-race');
    const current = [...this.tokens.values()].find((token) => token.tokenId === tokenId)!;
    this.tokens.set(current.tokenHash, { ...current, rotatedAt: now });
    this.tokens.set(next.tokenHash, {
      ...current,
      tokenHash: next.tokenHash,
      tokenId: `${tokenId}+1`,
      familyId,
      rotatedAt: null,
    });
    return Promise.resolve('rotated');
  }
  revokeFamily(familyId: string, reason: RevokeReason): Promise<void> {
    this.revocations.push({ familyId, reason });
    return Promise.resolve();
  }
}

describe('RefreshSessionUseCase', () => {
  const privateKeyPem = generateKeyPairSync('ed25519')
    .privateKey.export({ format: 'pem', type: 'pkcs8' })
    .toString();
  const issuer = new AccessTokenIssuer({
    privateKeyPem,
    keyId: 'k',
    issuer: 'i',
    audience: 'a',
    ttlSeconds: 60,
  });
  const clock = () => new Date();
  const logger = createLogger({ name: 'test', level: 'silent' });
  let sessions: FakeSessions;
  let useCase: RefreshSessionUseCase;

  beforeEach(() => {
    sessions = new FakeSessions();
    useCase = new RefreshSessionUseCase(
      sessions,
      new SessionTokenFactory(issuer, 86_400_000, clock),
      clock,
      logger,
    );
  });

  async function failureOf(refreshToken: string): Promise<DomainError> {
    const error: unknown = await useCase.execute(refreshToken).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    if (!(error instanceof DomainError)) throw new Error('expected a DomainError');
    return error;
  }

  it('rotates a current token into a new one of the same family', async () => {
    const { token } = newOpaqueToken();
    sessions.add(token);
    const next = await useCase.execute(token);
    expect(next.refreshToken).not.toBe(token);
    expect(sessions.tokens.get(hashOpaqueToken(next.refreshToken))?.familyId).toBe('family-1');
    expect(sessions.revocations).toEqual([]);
  });

  it('revokes the family when a rotated token comes back, and says why', async () => {
    const { token } = newOpaqueToken();
    sessions.add(token, { rotatedAt: new Date() });
    const error = await failureOf(token);
    expect(error.code).toBe(status.UNAUTHENTICATED);
    expect(error.reason).toBe('ERROR_REASON_REFRESH_TOKEN_REUSED');
    expect(sessions.revocations).toEqual([
      { familyId: 'family-1', reason: 'refresh_token_reused' },
    ]);
  });

  it('treats losing a concurrent rotation as reuse', async () => {
    const { token } = newOpaqueToken();
    sessions.add(token);
    sessions.loseNextRace = true;
    expect((await failureOf(token)).reason).toBe('ERROR_REASON_REFRESH_TOKEN_REUSED');
    expect(sessions.revocations).toHaveLength(1);
  });

  it('refuses expired and revoked tokens without revoking anything', async () => {
    const expired = newOpaqueToken().token;
    const revoked = newOpaqueToken().token;
    sessions.add(expired, { expiresAt: new Date(Date.now() - 1) });
    sessions.add(revoked, { familyRevokedAt: new Date() });
    for (const token of [expired, revoked, newOpaqueToken().token]) {
      const error = await failureOf(token);
      expect(error.code).toBe(status.UNAUTHENTICATED);
      expect(error.reason).toBeUndefined();
    }
    expect(sessions.revocations).toEqual([]);
    expect((await failureOf('')).field).toBe('refresh_token');
  });
});
