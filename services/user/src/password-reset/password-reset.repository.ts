import { withTransaction } from '@strata/db';
import { type UserDatabase } from '../database';
import { enqueueInOutbox } from '../outbox';
import { sendEmailJob, type EmailJobPayload } from '@strata/jobs';

export interface NewPasswordResetToken {
  readonly userId: string;
  readonly tokenHash: string;
  readonly expiresAt: Date;
  readonly email: EmailJobPayload;
}

export interface PasswordResetRepository {
  findUserIdByEmail(email: string): Promise<string | undefined>;
  /** Stores the token and enqueues its email (outbox) in one transaction. */
  createToken(token: NewPasswordResetToken): Promise<void>;
  /** True when the token exists, is unused and unexpired at `now` (a cheap check before hashing). */
  isUsable(tokenHash: string, now: Date): Promise<boolean>;
  /**
   * In one transaction: uses the token (only if still usable), sets the new password hash,
   * retires the user's other reset tokens and revokes every session family of the user.
   * Undefined when the token was not usable (nothing written).
   */
  resetPassword(
    tokenHash: string,
    passwordHash: string,
    now: Date,
  ): Promise<{ userId: string } | undefined>;
}

export class PrismaPasswordResetRepository implements PasswordResetRepository {
  constructor(private readonly database: UserDatabase) {}

  async findUserIdByEmail(email: string): Promise<string | undefined> {
    const row = await this.database.user.findUnique({ where: { email }, select: { id: true } });
    return row?.id;
  }

  async createToken(token: NewPasswordResetToken): Promise<void> {
    await withTransaction(this.database, async (tx) => {
      await tx.passwordResetToken.create({
        data: { userId: token.userId, tokenHash: token.tokenHash, expiresAt: token.expiresAt },
      });
      await enqueueInOutbox(tx, sendEmailJob, token.email);
    });
  }

  async isUsable(tokenHash: string, now: Date): Promise<boolean> {
    const row = await this.database.passwordResetToken.findUnique({
      where: { tokenHash },
      select: { usedAt: true, expiresAt: true },
    });
    return row !== null && row.usedAt === null && row.expiresAt.getTime() > now.getTime();
  }

  resetPassword(
    tokenHash: string,
    passwordHash: string,
    now: Date,
  ): Promise<{ userId: string } | undefined> {
    return withTransaction(this.database, async (tx) => {
      const [token] = await tx.passwordResetToken.updateManyAndReturn({
        where: { tokenHash, usedAt: null, expiresAt: { gt: now } },
        data: { usedAt: now },
        select: { userId: true },
      });
      if (!token) return undefined;
      await tx.user.update({ where: { id: token.userId }, data: { passwordHash } });
      // Other links sent before this reset must not work afterwards either.
      await tx.passwordResetToken.updateMany({
        where: { userId: token.userId, usedAt: null },
        data: { usedAt: now },
      });
      await tx.sessionFamily.updateMany({
        where: { userId: token.userId, revokedAt: null },
        data: { revokedAt: now, revokeReason: 'password_reset' },
      });
      return { userId: token.userId };
    });
  }
}
