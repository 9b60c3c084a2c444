import { type Clock } from '../clock';
import { invalidArgument } from '@strata/grpc';
import { hashOpaqueToken, looksLikeOpaqueToken } from '../tokens/opaque-token';
import { type EmailVerificationRepository } from './email-verification.repository';

export class VerifyEmailUseCase {
  constructor(
    private readonly repository: EmailVerificationRepository,
    private readonly clock: Clock,
  ) {}

  async execute(token: string): Promise<{ userId: string }> {
    if (token.length === 0) throw invalidArgument('token', 'is required');
    const invalid = invalidArgument('token', 'is invalid, expired or already used');
    if (!looksLikeOpaqueToken(token)) throw invalid;
    const verified = await this.repository.consume(hashOpaqueToken(token), this.clock());
    if (!verified) throw invalid;
    return verified;
  }
}
