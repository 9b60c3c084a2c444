import { invalidArgument, notFound, unauthenticated } from '@strata/grpc';
import { type Actor, type UserWithAccount } from '../users/user';
import {
  bioViolation,
  displayNameViolation,
  isUuid,
  normaliseDisplayName,
} from '../users/user-fields';
import {
  type ProfileCache,
  type ProfileChanges,
  type ProfilesRepository,
} from './profiles.repository';

export interface UpdateProfileInput {
  readonly actor: Actor | undefined;
  readonly displayName?: string | undefined;
  readonly bio?: string | undefined;
}

/** A user edits their own display name and bio; nothing else about an account changes here. */
export class UpdateProfileUseCase {
  constructor(
    private readonly repository: ProfilesRepository,
    private readonly cache: ProfileCache,
  ) {}

  async execute(input: UpdateProfileInput): Promise<UserWithAccount> {
    if (!input.actor || input.actor.userId.length === 0) throw unauthenticated('actor is required');
    const missing = notFound('user not found');
    if (!isUuid(input.actor.userId)) throw missing;

    const changes: { displayName?: string; bio?: string } = {};
    if (input.displayName !== undefined) {
      const displayName = normaliseDisplayName(input.displayName);
      const problem = displayNameViolation(displayName);
      if (problem) throw invalidArgument('display_name', problem);
      changes.displayName = displayName;
    }
    if (input.bio !== undefined) {
      const problem = bioViolation(input.bio);
      if (problem) throw invalidArgument('bio', problem);
      changes.bio = input.bio;
    }

    const updated = await this.apply(input.actor.userId, changes);
    if (!updated) throw missing;
    // Awaited before answering: once the caller sees the new profile, no reader sees the old one.
    await this.cache.invalidate(input.actor.userId);
    return updated;
  }

  private apply(userId: string, changes: ProfileChanges): Promise<UserWithAccount | undefined> {
    return Object.keys(changes).length === 0
      ? this.repository.findUserWithAccount(userId)
      : this.repository.updateProfile(userId, changes);
  }
}
