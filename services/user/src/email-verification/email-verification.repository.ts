import { withTransaction } from '@strata/db';
import { type UserDatabase } from '../database';

export interface EmailVerificationRepository {
  /**
   * Uses the token once: marks it used and the user's email verified in one transaction, only if
   * it is unused and unexpired at `now`. Undefined when it is unknown, used or expired.
   */
  consume(tokenHash: string, now: Date): Promise<{ userId: string } | undefined>;
}

export class PrismaEmailVerificationRepository implements EmailVerificationRepository {
  constructor(private readonly database: UserDatabase) {}

  consume(tokenHash: string, now: Date): Promise<{ userId: string } | undefined> {
    return withTransaction(this.database, async (tx) => {
      // One conditional UPDATE both checks and uses the token, so two concurrent calls cannot
      // both succeed.
      const [token] = await tx.emailVerificationToken.updateManyAndReturn({
        where: { tokenHash, usedAt: null, expiresAt: { gt: now } },
        data: { usedAt: now },
        select: { userId: true },
      });
      if (!token) return undefined;
      await tx.user.updateMany({
        where: { id: token.userId, emailVerifiedAt: null },
        data: { emailVerifiedAt: now },
      });
      return { userId: token.userId };
    });
  }
}
