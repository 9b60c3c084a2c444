import {
  enqueueInTransaction,
  type JobDefinition,
  type OutboxDatabase,
  type OutboxTransactionClient,
} from '@strata/queue';
import { type UserDatabase, type UserTransaction } from './database';

// @strata/queue types its outbox clients so that a root Prisma client cannot be passed where a
// transaction client belongs ("no `$transaction` method"), and checks it at run time. Prisma 7's
// interactive-transaction client has a `$transaction` method too, so neither the real `tx` nor
// the root client fits as is. These adapters expose exactly what the outbox uses.

/** A view of `tx` with only the raw-query methods the outbox needs. */
function outboxView(tx: UserTransaction): OutboxTransactionClient {
  return {
    $executeRaw: (query, ...values) => tx.$executeRaw(query, ...values),
    $queryRaw: <Row>(query: TemplateStringsArray, ...values: unknown[]) =>
      tx.$queryRaw<Row>(query, ...values),
  };
}

/** Writes a job into the outbox inside `tx`: it exists if and only if `tx` commits. */
export function enqueueInOutbox<Payload extends object>(
  tx: UserTransaction,
  definition: JobDefinition<Payload>,
  payload: Payload,
): Promise<string> {
  return enqueueInTransaction(outboxView(tx), definition, payload);
}

/** The root client as the outbox relay wants it (it opens its own transactions). */
export function outboxDatabase(database: UserDatabase): OutboxDatabase {
  return {
    $transaction: (work, options) => database.$transaction((tx) => work(outboxView(tx)), options),
  };
}
