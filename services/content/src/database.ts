import { createDatabase, type Database, type DatabaseOptions } from '@strata/db';
import { type Prisma, PrismaClient } from './generated/prisma/client';

/** This service's Prisma client (generated from prisma/schema.prisma). */
export type ContentDatabase = PrismaClient;
/** The client handed to `$transaction(async (tx) => …)` callbacks. */
export type ContentTransaction = Prisma.TransactionClient;
/** The pool, timeouts and client of this service's database (connects on first use). */
export type ContentDatabaseHandle = Database<ContentDatabase>;

/** `@strata/db` over this service's generated client; `onQuery` lets tests count SQL statements. */
export function openContentDatabase(options: DatabaseOptions): ContentDatabaseHandle {
  return createDatabase(options, PrismaClient);
}
