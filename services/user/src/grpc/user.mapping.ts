import { Role, type commonV1, type userV1 } from '@strata/contracts';
import { type SessionTokens } from '../sessions/session-tokens';
import {
  type Actor,
  type Role as DomainRole,
  type UserAccount,
  type UserProfile,
} from '../users/user';

export function roleToProto(role: DomainRole): Role {
  return role === 'admin' ? Role.ADMIN : Role.MEMBER;
}

/** Undefined for UNSPECIFIED/UNRECOGNIZED: never a valid role to act with or to assign. */
export function roleFromProto(role: Role): DomainRole | undefined {
  if (role === Role.ADMIN) return 'admin';
  if (role === Role.MEMBER) return 'member';
  return undefined;
}

export function actorFromProto(actor: commonV1.Actor | undefined): Actor | undefined {
  if (!actor || actor.userId === '') return undefined;
  return { userId: actor.userId, role: roleFromProto(actor.role) };
}

export function userToProto(profile: UserProfile): userV1.User {
  return {
    id: profile.id,
    displayName: profile.displayName,
    bio: profile.bio,
    role: roleToProto(profile.role),
    createTime: profile.createdAt,
    updateTime: profile.updatedAt,
  };
}

export function accountToProto(account: UserAccount): userV1.UserAccount {
  return { email: account.email, emailVerified: account.emailVerified };
}

export function sessionTokensToProto(tokens: SessionTokens): userV1.SessionTokens {
  return {
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    expiresIn: tokens.expiresIn,
    refreshTokenExpireTime: tokens.refreshTokenExpiresAt,
  };
}
