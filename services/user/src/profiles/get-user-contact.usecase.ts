import { invalidArgument, notFound } from '@strata/grpc';
import { isUuid } from '../users/user-fields';
import { type ProfilesRepository } from './profiles.repository';

export interface UserContact {
  readonly email: string;
  readonly displayName: string;
  readonly emailVerified: boolean;
}

/** For the notification worker only: the gateway never exposes it. Always read from PostgreSQL. */
export class GetUserContactUseCase {
  constructor(private readonly repository: ProfilesRepository) {}

  async execute(userId: string): Promise<UserContact> {
    if (userId.length === 0) throw invalidArgument('user_id', 'is required');
    const found = isUuid(userId) ? await this.repository.findUserWithAccount(userId) : undefined;
    if (!found) throw notFound('user not found');
    return {
      email: found.account.email,
      displayName: found.profile.displayName,
      emailVerified: found.account.emailVerified,
    };
  }
}
