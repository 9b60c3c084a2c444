import { withTransaction } from '@strata/db';
import { type UserDatabase } from '../database';
import { type Role } from '../users/user';

export type RevokeReason = 'logout' | 'refresh_token_reused' | 'password_reset';

export interface LoginCredentials {
  readonly userId: string;
  readonly passwordHash: string;
  readonly role: Role;
}

export interface StoredRefreshToken {
  readonly tokenId: string;
  readonly familyId: string;
  readonly userId: string;
  readonly role: Role;
  readonly expiresAt: Date;
  readonly rotatedAt: Date | null;
  readonly familyRevokedAt: Date | null;
}

export interface NewRefreshToken {
  readonly tokenHash: string;
  readonly expiresAt: Date;
}

export interface SessionsRepository {
  /** The login lookup: one indexed read on the normalised email. */
  findCredentialsByEmail(email: string): Promise<LoginCredentials | undefined>;
  updatePasswordHash(userId: string, passwordHash: string): Promise<void>;
  /** Opens a session family holding its first refresh token. */
  openFamily(userId: string, firstToken: NewRefreshToken): Promise<{ familyId: string }>;
  findRefreshToken(tokenHash: string): Promise<StoredRefreshToken | undefined>;
  /**
   * Marks `tokenId` rotated and adds `next` to its family, atomically and only if the token was
   * still current and the family alive; `lost-race` means another request rotated it first.
   */
  rotate(
    tokenId: string,
    familyId: string,
    next: NewRefreshToken,
    now: Date,
  ): Promise<'rotated' | 'lost-race'>;
  revokeFamily(familyId: string, reason: RevokeReason, now: Date): Promise<void>;
}

export class PrismaSessionsRepository implements SessionsRepository {
  constructor(private readonly database: UserDatabase) {}

  async findCredentialsByEmail(email: string): Promise<LoginCredentials | undefined> {
    const row = await this.database.user.findUnique({
      where: { email },
      select: { id: true, passwordHash: true, role: true },
    });
    return row ? { userId: row.id, passwordHash: row.passwordHash, role: row.role } : undefined;
  }

  async updatePasswordHash(userId: string, passwordHash: string): Promise<void> {
    await this.database.user.update({ where: { id: userId }, data: { passwordHash } });
  }

  async openFamily(userId: string, firstToken: NewRefreshToken): Promise<{ familyId: string }> {
    const family = await this.database.sessionFamily.create({
      data: {
        userId,
        refreshTokens: {
          create: { tokenHash: firstToken.tokenHash, expiresAt: firstToken.expiresAt },
        },
      },
      select: { id: true },
    });
    return { familyId: family.id };
  }

  async findRefreshToken(tokenHash: string): Promise<StoredRefreshToken | undefined> {
    const row = await this.database.refreshToken.findUnique({
      where: { tokenHash },
      select: {
        id: true,
        familyId: true,
        expiresAt: true,
        rotatedAt: true,
        family: { select: { revokedAt: true, userId: true, user: { select: { role: true } } } },
      },
    });
    if (!row) return undefined;
    return {
      tokenId: row.id,
      familyId: row.familyId,
      userId: row.family.userId,
      role: row.family.user.role,
      expiresAt: row.expiresAt,
      rotatedAt: row.rotatedAt,
      familyRevokedAt: row.family.revokedAt,
    };
  }

  rotate(
    tokenId: string,
    familyId: string,
    next: NewRefreshToken,
    now: Date,
  ): Promise<'rotated' | 'lost-race'> {
    return withTransaction(this.database, async (tx) => {
      // The conditional UPDATE is the lock: of two concurrent rotations of one token, the second
      // waits for the first to commit, re-checks `rotated_at IS NULL`, and matches nothing.
      const { count } = await tx.refreshToken.updateMany({
        where: { id: tokenId, rotatedAt: null, family: { revokedAt: null } },
        data: { rotatedAt: now },
      });
      if (count === 0) return 'lost-race' as const;
      await tx.refreshToken.create({
        data: { familyId, tokenHash: next.tokenHash, expiresAt: next.expiresAt },
      });
      return 'rotated' as const;
    });
  }

  async revokeFamily(familyId: string, reason: RevokeReason, now: Date): Promise<void> {
    await this.database.sessionFamily.updateMany({
      where: { id: familyId, revokedAt: null },
      data: { revokedAt: now, revokeReason: reason },
    });
  }
}
