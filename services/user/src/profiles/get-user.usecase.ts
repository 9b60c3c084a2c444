import { invalidArgument, notFound } from '@strata/grpc';
import { type Actor, type UserAccount, type UserProfile } from '../users/user';
import { isUuid } from '../users/user-fields';
import { type ProfileCache, type ProfilesRepository } from './profiles.repository';

export class GetUserUseCase {
  constructor(
    private readonly repository: ProfilesRepository,
    private readonly cache: ProfileCache,
  ) {}

  async execute(input: {
    userId: string;
    actor: Actor | undefined;
  }): Promise<{ profile: UserProfile; account: UserAccount | undefined }> {
    if (input.userId.length === 0) throw invalidArgument('user_id', 'is required');
    const missing = notFound('user not found');
    if (!isUuid(input.userId)) throw missing;

    const seesAccount =
      input.actor !== undefined &&
      (input.actor.userId === input.userId || input.actor.role === 'admin');
    if (seesAccount) {
      // Private details are never cached; the profile comes along in the same single-row read.
      const found = await this.repository.findUserWithAccount(input.userId);
      if (!found) throw missing;
      return { profile: found.profile, account: found.account };
    }
    const profile = await this.cache.get(input.userId, () =>
      this.repository.findProfile(input.userId),
    );
    if (!profile) throw missing;
    return { profile, account: undefined };
  }
}
