import { createDatabase, type Database, type DatabaseOptions } from '@strata/db';
import { type Prisma, PrismaClient } from './generated/prisma/client';

/** This service's Prisma client (generated from prisma/schema.prisma). */
export type PaymentDatabase = PrismaClient;
/** The client handed to `$transaction(async (tx) => …)` callbacks. */
export type PaymentTransaction = Prisma.TransactionClient;
/** The pool, timeouts and client of this service's database (connects on first use). */
export type PaymentDatabaseHandle = Database<PaymentDatabase>;

/**
 * A burst larger than the pool queues for a connection: every `$transaction` waits up to 5 s
 * (Prisma's 2 s default turned short load spikes into INTERNAL errors), bounded below the usual
 * client deadline, and may run up to 10 s.
 */
export const PAYMENT_TRANSACTION_DEFAULTS = {
  transactionMaxWaitMs: 5_000,
  transactionTimeoutMs: 10_000,
} as const;

/** `@strata/db` over this service's generated client, with the payment transaction defaults. */
export function openPaymentDatabase(
  options: Omit<DatabaseOptions, keyof typeof PAYMENT_TRANSACTION_DEFAULTS>,
): PaymentDatabaseHandle {
  return createDatabase({ ...options, ...PAYMENT_TRANSACTION_DEFAULTS }, PrismaClient);
}
