import { type Clock } from '../clock';
import { invalidArgument } from '@strata/grpc';
import { hashOpaqueToken, looksLikeOpaqueToken } from '../tokens/opaque-token';
import { type SessionsRepository } from './sessions.repository';

/** Logout. Succeeds for unknown or dead tokens too, so it cannot be used to probe token validity. */
export class RevokeSessionUseCase {
  constructor(
    private readonly repository: SessionsRepository,
    private readonly clock: Clock,
  ) {}

  async execute(refreshToken: string): Promise<void> {
    if (refreshToken.length === 0) throw invalidArgument('refresh_token', 'is required');
    if (!looksLikeOpaqueToken(refreshToken)) return;
    const stored = await this.repository.findRefreshToken(hashOpaqueToken(refreshToken));
    if (!stored || stored.familyRevokedAt) return;
    await this.repository.revokeFamily(stored.familyId, 'logout', this.clock());
  }
}
