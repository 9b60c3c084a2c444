import { type Clock } from '../clock';
import { invalidArgument } from '@strata/grpc';
import { type PasswordHasher } from '../passwords/password-hasher';
import { type PasswordPolicy } from '../passwords/password-policy';
import { hashOpaqueToken, looksLikeOpaqueToken } from '../tokens/opaque-token';
import { type PasswordResetRepository } from './password-reset.repository';

export class ResetPasswordUseCase {
  constructor(
    private readonly repository: PasswordResetRepository,
    private readonly passwordPolicy: PasswordPolicy,
    private readonly passwordHasher: PasswordHasher,
    private readonly clock: Clock,
  ) {}

  async execute(input: { token: string; newPassword: string }): Promise<{ userId: string }> {
    if (input.token.length === 0) throw invalidArgument('token', 'is required');
    const passwordProblem = this.passwordPolicy.violation(input.newPassword);
    if (passwordProblem) throw invalidArgument('new_password', passwordProblem);
    const invalid = invalidArgument('token', 'is invalid, expired or already used');
    if (!looksLikeOpaqueToken(input.token)) throw invalid;

    const tokenHash = hashOpaqueToken(input.token);
    // Checked before argon2 so a stream of bad tokens costs an index lookup each, not a hash.
    if (!(await this.repository.isUsable(tokenHash, this.clock()))) throw invalid;
    const passwordHash = await this.passwordHasher.hash(input.newPassword);
    const result = await this.repository.resetPassword(tokenHash, passwordHash, this.clock());
    if (!result) throw invalid;
    return result;
  }
}
