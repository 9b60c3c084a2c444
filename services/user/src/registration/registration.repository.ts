import { isUniqueViolation, withTransaction } from '@strata/db';
import { type UserDatabase, USER_WITH_ACCOUNT_COLUMNS } from '../database';
import { enqueueInOutbox } from '../outbox';
import { sendEmailJob, type EmailJobPayload } from '@strata/jobs';
import { type UserWithAccount } from '../users/user';
import { userWithAccountFromRow } from '../users/user.rows';

export interface NewRegistration {
  readonly email: string;
  readonly passwordHash: string;
  readonly displayName: string;
  readonly verificationTokenHash: string;
  readonly verificationExpiresAt: Date;
  /** Built once the user id is known; enqueued in the same transaction as the user row. */
  readonly verificationEmail: (userId: string) => EmailJobPayload;
}

export interface RegistrationRepository {
  /** Creates user + verification token + outbox row atomically; `email-taken` writes nothing. */
  register(registration: NewRegistration): Promise<UserWithAccount | 'email-taken'>;
}

export class PrismaRegistrationRepository implements RegistrationRepository {
  constructor(private readonly database: UserDatabase) {}

  async register(registration: NewRegistration): Promise<UserWithAccount | 'email-taken'> {
    try {
      return await withTransaction(this.database, async (tx) => {
        const row = await tx.user.create({
          data: {
            email: registration.email,
            passwordHash: registration.passwordHash,
            displayName: registration.displayName,
            emailVerificationTokens: {
              create: {
                tokenHash: registration.verificationTokenHash,
                expiresAt: registration.verificationExpiresAt,
              },
            },
          },
          select: USER_WITH_ACCOUNT_COLUMNS,
        });
        await enqueueInOutbox(tx, sendEmailJob, registration.verificationEmail(row.id));
        return userWithAccountFromRow(row);
      });
    } catch (error) {
      // The unique index decides, not a prior SELECT: two concurrent sign-ups with one email
      // cannot both pass, and the loser's transaction (token, outbox row) rolls back whole.
      if (isUniqueViolation(error)) return 'email-taken';
      throw error;
    }
  }
}
