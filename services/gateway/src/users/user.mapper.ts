import { Role, type userV1 } from '@strata/contracts';
import { iso } from '../http/schemas';

export const userProfileProperties = {
  id: { type: 'string' },
  name: { type: 'string' },
  bio: { type: 'string' },
  role: { type: 'string', enum: ['member', 'admin'] },
  createdAt: { type: 'string', format: 'date-time' },
  updatedAt: { type: 'string', format: 'date-time' },
} as const;

export const userProfileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'bio', 'role', 'createdAt', 'updatedAt'],
  properties: userProfileProperties,
} as const;

export const ownProfileSchema = {
  type: 'object',
  additionalProperties: false,
  required: [...userProfileSchema.required, 'email', 'emailVerified'],
  properties: {
    ...userProfileProperties,
    email: { type: 'string' },
    emailVerified: { type: 'boolean' },
  },
} as const;

export interface UserProfileDto {
  id: string;
  name: string;
  bio: string;
  role: 'member' | 'admin';
  createdAt: string;
  updatedAt: string;
}

export interface OwnProfileDto extends UserProfileDto {
  email: string;
  emailVerified: boolean;
}

export function toUserProfile(user: userV1.User | undefined): UserProfileDto {
  if (!user) throw new Error('downstream response without a user');
  return {
    id: user.id,
    name: user.displayName,
    bio: user.bio,
    role: user.role === Role.ADMIN ? 'admin' : 'member',
    createdAt: iso(user.createTime),
    updatedAt: iso(user.updateTime),
  };
}

export function toOwnProfile(
  user: userV1.User | undefined,
  account: userV1.UserAccount | undefined,
): OwnProfileDto {
  return {
    ...toUserProfile(user),
    email: account?.email ?? '',
    emailVerified: account?.emailVerified ?? false,
  };
}

export const sessionTokensSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['accessToken', 'refreshToken', 'expiresIn', 'tokenType'],
  properties: {
    accessToken: { type: 'string' },
    refreshToken: { type: 'string' },
    tokenType: { type: 'string', enum: ['Bearer'] },
    expiresIn: { type: 'integer', description: 'Seconds until the access token expires' },
    refreshTokenExpiresAt: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

export function toSessionTokens(tokens: userV1.SessionTokens | undefined): Record<string, unknown> {
  if (!tokens) throw new Error('downstream response without tokens');
  return {
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    tokenType: 'Bearer',
    expiresIn: tokens.expiresIn,
    refreshTokenExpiresAt: tokens.refreshTokenExpireTime?.toISOString() ?? null,
  };
}
