import { PROFILE_COLUMNS, type UserDatabase, USER_WITH_ACCOUNT_COLUMNS } from '../database';
import { type UserProfile, type UserWithAccount } from '../users/user';
import { profileFromRow, userWithAccountFromRow } from '../users/user.rows';

export interface ProfileChanges {
  readonly displayName?: string;
  readonly bio?: string;
}

export interface ProfilesRepository {
  findProfile(userId: string): Promise<UserProfile | undefined>;
  /** One SQL query whatever the number of ids; unknown ids are simply absent. */
  findProfiles(userIds: readonly string[]): Promise<UserProfile[]>;
  findUserWithAccount(userId: string): Promise<UserWithAccount | undefined>;
  /** Undefined when the user does not exist (nothing written). */
  updateProfile(userId: string, changes: ProfileChanges): Promise<UserWithAccount | undefined>;
}

/** Cache-aside over public profiles; every method falls back to the loader when Redis is down. */
export interface ProfileCache {
  get(
    userId: string,
    load: () => Promise<UserProfile | undefined>,
  ): Promise<UserProfile | undefined>;
  /** One Redis round trip for the cached part, one `load` call for all the misses. */
  getMany(
    userIds: readonly string[],
    load: (missing: readonly string[]) => Promise<UserProfile[]>,
  ): Promise<Map<string, UserProfile>>;
  invalidate(userId: string): Promise<void>;
}

export class PrismaProfilesRepository implements ProfilesRepository {
  constructor(private readonly database: UserDatabase) {}

  async findProfile(userId: string): Promise<UserProfile | undefined> {
    const row = await this.database.user.findUnique({
      where: { id: userId },
      select: PROFILE_COLUMNS,
    });
    return row ? profileFromRow(row) : undefined;
  }

  async findProfiles(userIds: readonly string[]): Promise<UserProfile[]> {
    if (userIds.length === 0) return [];
    const rows = await this.database.user.findMany({
      where: { id: { in: [...userIds] } },
      select: PROFILE_COLUMNS,
    });
    return rows.map(profileFromRow);
  }

  async findUserWithAccount(userId: string): Promise<UserWithAccount | undefined> {
    const row = await this.database.user.findUnique({
      where: { id: userId },
      select: USER_WITH_ACCOUNT_COLUMNS,
    });
    return row ? userWithAccountFromRow(row) : undefined;
  }

  async updateProfile(
    userId: string,
    changes: ProfileChanges,
  ): Promise<UserWithAccount | undefined> {
    const [row] = await this.database.user.updateManyAndReturn({
      where: { id: userId },
      data: changes,
      select: USER_WITH_ACCOUNT_COLUMNS,
    });
    return row ? userWithAccountFromRow(row) : undefined;
  }
}
