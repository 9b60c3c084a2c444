import { invalidArgument } from '@strata/grpc';
import { type UserProfile } from '../users/user';
import { isUuid } from '../users/user-fields';
import { type ProfileCache, type ProfilesRepository } from './profiles.repository';

/** Bounds one request to one MGET and one `WHERE id IN (…)` of a reasonable size. */
export const BATCH_GET_MAX_IDS = 100;

export class BatchGetUsersUseCase {
  constructor(
    private readonly repository: ProfilesRepository,
    private readonly cache: ProfileCache,
  ) {}

  async execute(
    requestedIds: readonly string[],
  ): Promise<{ users: UserProfile[]; notFoundUserIds: string[] }> {
    const distinct = [...new Set(requestedIds)];
    if (distinct.length > BATCH_GET_MAX_IDS) {
      throw invalidArgument('user_ids', `must contain at most ${BATCH_GET_MAX_IDS} distinct ids`);
    }
    // Malformed ids cannot exist; they are reported as not found without touching Redis or SQL
    // (and would make PostgreSQL reject the whole uuid[] parameter).
    const wellFormed = distinct.filter(isUuid);
    const found =
      wellFormed.length === 0
        ? new Map<string, UserProfile>()
        : await this.cache.getMany(wellFormed, (missing) => this.repository.findProfiles(missing));
    const users: UserProfile[] = [];
    const notFoundUserIds: string[] = [];
    for (const id of distinct) {
      const profile = found.get(id);
      if (profile) users.push(profile);
      else notFoundUserIds.push(id);
    }
    return { users, notFoundUserIds };
  }
}
