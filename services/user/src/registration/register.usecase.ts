import { randomUUID } from 'node:crypto';
import { type Clock } from '../clock';
import { alreadyExists, invalidArgument } from '@strata/grpc';
import { type PasswordHasher } from '../passwords/password-hasher';
import { type PasswordPolicy } from '../passwords/password-policy';
import { newOpaqueToken } from '../tokens/opaque-token';
import { type UserWithAccount } from '../users/user';
import {
  displayNameViolation,
  emailViolation,
  normaliseDisplayName,
  normaliseEmail,
} from '../users/user-fields';
import { type RegistrationRepository } from './registration.repository';

/** Verification links stay valid for a day: long enough to find the mail, short enough to matter. */
export const EMAIL_VERIFICATION_TTL_MS = 24 * 60 * 60 * 1000;

export interface RegisterInput {
  readonly email: string;
  readonly password: string;
  readonly displayName: string;
}

export class RegisterUseCase {
  constructor(
    private readonly repository: RegistrationRepository,
    private readonly passwordPolicy: PasswordPolicy,
    private readonly passwordHasher: PasswordHasher,
    private readonly clock: Clock,
  ) {}

  async execute(input: RegisterInput): Promise<UserWithAccount> {
    const email = normaliseEmail(input.email);
    const displayName = normaliseDisplayName(input.displayName);
    // All checks run before any hashing or writing: an invalid request costs nothing and changes nothing.
    const emailProblem = emailViolation(email);
    if (emailProblem) throw invalidArgument('email', emailProblem);
    const passwordProblem = this.passwordPolicy.violation(input.password);
    if (passwordProblem) throw invalidArgument('password', passwordProblem);
    const displayNameProblem = displayNameViolation(displayName);
    if (displayNameProblem) throw invalidArgument('display_name', displayNameProblem);

    const passwordHash = await this.passwordHasher.hash(input.password);
    const verification = newOpaqueToken();
    const result = await this.repository.register({
      email,
      passwordHash,
      displayName,
      verificationTokenHash: verification.hash,
      verificationExpiresAt: new Date(this.clock().getTime() + EMAIL_VERIFICATION_TTL_MS),
      verificationEmail: (userId) => ({
        toUserId: userId,
        template: 'email-verification',
        data: { token: verification.token },
        idempotencyKey: `email-verification:${randomUUID()}`,
      }),
    });
    if (result === 'email-taken')
      throw alreadyExists('email: an account with this email already exists');
    return result;
  }
}
