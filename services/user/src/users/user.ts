/** Domain view of a user, independent of Prisma rows and proto messages. */

export const ROLES = ['member', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Public profile: safe to show to anyone, and what the profile cache holds. */
export interface UserProfile {
  readonly id: string;
  readonly displayName: string;
  readonly bio: string;
  readonly role: Role;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Private details, for the user themself, admins and the notification worker. */
export interface UserAccount {
  readonly email: string;
  readonly emailVerified: boolean;
}

export interface UserWithAccount {
  readonly profile: UserProfile;
  readonly account: UserAccount;
}

/** Who is asking, as the gateway took it from a verified access token. */
export interface Actor {
  readonly userId: string;
  readonly role: Role | undefined;
}
