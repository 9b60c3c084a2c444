import { type UserProfile, type UserWithAccount } from './user';

interface ProfileRow {
  id: string;
  displayName: string;
  bio: string;
  role: 'member' | 'admin';
  createdAt: Date;
  updatedAt: Date;
}

interface UserWithAccountRow extends ProfileRow {
  email: string;
  emailVerifiedAt: Date | null;
}

export function profileFromRow(row: ProfileRow): UserProfile {
  return {
    id: row.id,
    displayName: row.displayName,
    bio: row.bio,
    role: row.role,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export function userWithAccountFromRow(row: UserWithAccountRow): UserWithAccount {
  return {
    profile: profileFromRow(row),
    account: { email: row.email, emailVerified: row.emailVerifiedAt !== null },
  };
}
