import { type Clock } from '../clock';
import { type AccessTokenIssuer } from '../tokens/access-token.issuer';
import { newOpaqueToken } from '../tokens/opaque-token';
import { type Role } from '../users/user';
import { type NewRefreshToken } from './sessions.repository';

export interface SessionTokens {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresIn: number;
  readonly refreshTokenExpiresAt: Date;
}

/** Mints the pair handed out by Authenticate and RefreshSession. */
export class SessionTokenFactory {
  constructor(
    private readonly accessTokens: AccessTokenIssuer,
    private readonly refreshTokenTtlMs: number,
    private readonly clock: Clock,
  ) {}

  /** A refresh token to store (hash) and to hand out (token). */
  newRefreshToken(): { token: string; stored: NewRefreshToken } {
    const { token, hash } = newOpaqueToken();
    return {
      token,
      stored: {
        tokenHash: hash,
        expiresAt: new Date(this.clock().getTime() + this.refreshTokenTtlMs),
      },
    };
  }

  async pair(
    subject: { userId: string; role: Role },
    refresh: { token: string; stored: NewRefreshToken },
  ): Promise<SessionTokens> {
    const access = await this.accessTokens.issue(subject);
    return {
      accessToken: access.token,
      refreshToken: refresh.token,
      expiresIn: access.expiresIn,
      refreshTokenExpiresAt: refresh.stored.expiresAt,
    };
  }
}
