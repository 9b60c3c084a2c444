import { invalidArgument, notFound, permissionDenied, unauthenticated } from '@strata/grpc';
import { type ProfileCache } from '../profiles/profiles.repository';
import { type Actor, type Role, type UserProfile } from '../users/user';
import { isUuid } from '../users/user-fields';
import { type RolesRepository } from './roles.repository';

export class SetUserRoleUseCase {
  constructor(
    private readonly repository: RolesRepository,
    private readonly cache: ProfileCache,
  ) {}

  async execute(input: {
    actor: Actor | undefined;
    userId: string;
    role: Role | undefined;
  }): Promise<UserProfile> {
    const { actor } = input;
    if (!actor || actor.userId.length === 0) throw unauthenticated('actor is required');
    const denied = permissionDenied('only an admin can change roles');
    // The claim is checked first (cheap, and a member learns nothing about the target), then the
    // database, since a demoted admin's access token keeps its role claim until it expires.
    if (actor.role !== 'admin') throw denied;
    if (input.userId.length === 0) throw invalidArgument('user_id', 'is required');
    if (input.role === undefined)
      throw invalidArgument('role', 'must be ROLE_MEMBER or ROLE_ADMIN');
    if (!isUuid(actor.userId) || (await this.repository.findRole(actor.userId)) !== 'admin')
      throw denied;

    const updated = isUuid(input.userId)
      ? await this.repository.setRole(input.userId, input.role)
      : undefined;
    if (!updated) throw notFound('user not found');
    await this.cache.invalidate(input.userId);
    return updated;
  }
}
