import { randomUUID } from 'node:crypto';
import { type Clock } from '../clock';
import { invalidArgument } from '@strata/grpc';
import { newOpaqueToken } from '../tokens/opaque-token';
import { emailViolation, normaliseEmail } from '../users/user-fields';
import { type PasswordResetRepository } from './password-reset.repository';

export const PASSWORD_RESET_TTL_MS = 30 * 60 * 1000;

/** Always "accepted" for a well-formed email, so the answer does not reveal who has an account. */
export class RequestPasswordResetUseCase {
  constructor(
    private readonly repository: PasswordResetRepository,
    private readonly clock: Clock,
  ) {}

  async execute(rawEmail: string): Promise<void> {
    const email = normaliseEmail(rawEmail);
    const problem = emailViolation(email);
    if (problem) throw invalidArgument('email', problem);
    const userId = await this.repository.findUserIdByEmail(email);
    if (!userId) return;
    const reset = newOpaqueToken();
    await this.repository.createToken({
      userId,
      tokenHash: reset.hash,
      expiresAt: new Date(this.clock().getTime() + PASSWORD_RESET_TTL_MS),
      email: {
        toUserId: userId,
        template: 'password-reset',
        data: { token: reset.token },
        idempotencyKey: `password-reset:${randomUUID()}`,
      },
    });
  }
}
