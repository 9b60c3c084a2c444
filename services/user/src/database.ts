import { createDatabase, type Database } from '@strata/db';
import { type Logger } from '@strata/logger';
import { type Prisma, PrismaClient } from './generated/prisma/client';

/** This service's Prisma client (generated from prisma/schema.prisma). */
export type UserDatabase = PrismaClient;
/** The client handed to `$transaction(async (tx) => …)` callbacks. */
export type UserTransaction = Prisma.TransactionClient;

/** Columns of the public profile: what the cache holds and BatchGetUsers returns. */
export const PROFILE_COLUMNS = {
  id: true,
  displayName: true,
  bio: true,
  role: true,
  createdAt: true,
  updatedAt: true,
} as const satisfies Prisma.UserSelect;

export const USER_WITH_ACCOUNT_COLUMNS = {
  ...PROFILE_COLUMNS,
  email: true,
  emailVerifiedAt: true,
} as const satisfies Prisma.UserSelect;

/** The pool, timeouts and client of this service's database (connects on first use). */
export type UserDatabaseHandle = Database<UserDatabase>;

export function openUserDatabase(options: {
  url: string;
  poolMax: number;
  statementTimeoutMs: number;
  applicationName: string;
  logger: Logger;
}): UserDatabaseHandle {
  return createDatabase(options, PrismaClient);
}
