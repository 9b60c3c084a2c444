import { PROFILE_COLUMNS, type UserDatabase } from '../database';
import { type Role, type UserProfile } from '../users/user';
import { profileFromRow } from '../users/user.rows';

export interface RolesRepository {
  findRole(userId: string): Promise<Role | undefined>;
  /** Undefined when the user does not exist. */
  setRole(userId: string, role: Role): Promise<UserProfile | undefined>;
}

export class PrismaRolesRepository implements RolesRepository {
  constructor(private readonly database: UserDatabase) {}

  async findRole(userId: string): Promise<Role | undefined> {
    const row = await this.database.user.findUnique({
      where: { id: userId },
      select: { role: true },
    });
    return row?.role;
  }

  async setRole(userId: string, role: Role): Promise<UserProfile | undefined> {
    const [row] = await this.database.user.updateManyAndReturn({
      where: { id: userId },
      data: { role },
      select: PROFILE_COLUMNS,
    });
    return row ? profileFromRow(row) : undefined;
  }
}
