import { type Logger } from '@strata/logger';
import { type Clock } from '../clock';
import { invalidArgument, unauthenticated } from '@strata/grpc';
import { hashOpaqueToken, looksLikeOpaqueToken } from '../tokens/opaque-token';
import { type SessionTokenFactory, type SessionTokens } from './session-tokens';
import { type SessionsRepository } from './sessions.repository';

export const REFRESH_TOKEN_REUSED_REASON = 'ERROR_REASON_REFRESH_TOKEN_REUSED';

/**
 * Rotation with reuse detection (OAuth 2.0 Security BCP, 4.14): a refresh token works once. A
 * rotated token presented again means two parties hold the family (one of them a thief), so the
 * whole family dies and both must sign in again. Two concurrent refreshes of one token are treated
 * the same way: only one can win, and the loser looks exactly like a replay.
 */
export class RefreshSessionUseCase {
  constructor(
    private readonly repository: SessionsRepository,
    private readonly tokens: SessionTokenFactory,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  async execute(refreshToken: string): Promise<SessionTokens> {
    if (refreshToken.length === 0) throw invalidArgument('refresh_token', 'is required');
    const invalid = unauthenticated('refresh token is invalid, expired or revoked');
    if (!looksLikeOpaqueToken(refreshToken)) throw invalid;

    const stored = await this.repository.findRefreshToken(hashOpaqueToken(refreshToken));
    if (!stored || stored.familyRevokedAt) throw invalid;
    const now = this.clock();
    if (stored.rotatedAt) return this.reuseDetected(stored.familyId, stored.userId, now);
    if (stored.expiresAt.getTime() <= now.getTime()) throw invalid;

    const next = this.tokens.newRefreshToken();
    const outcome = await this.repository.rotate(stored.tokenId, stored.familyId, next.stored, now);
    if (outcome === 'lost-race') return this.reuseDetected(stored.familyId, stored.userId, now);
    // The role comes from the database at each refresh, so a role change reaches tokens within one
    // access-token lifetime.
    return this.tokens.pair({ userId: stored.userId, role: stored.role }, next);
  }

  private async reuseDetected(familyId: string, userId: string, now: Date): Promise<never> {
    await this.repository.revokeFamily(familyId, 'refresh_token_reused', now);
    this.logger.warn(
      { userId, familyId },
      'rotated refresh token presented again: session family revoked',
    );
    throw unauthenticated(
      'refresh token was already used; the session has been revoked',
      REFRESH_TOKEN_REUSED_REASON,
    );
  }
}
