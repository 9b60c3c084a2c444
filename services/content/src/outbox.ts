import {
  enqueueInTransaction,
  type JobDefinition,
  type OutboxDatabase,
  type OutboxTransactionClient,
} from '@strata/queue';
import { type ContentDatabase, type ContentTransaction } from './database';

/**
 * Writes a job into the outbox inside `tx`. @strata/queue refuses any client with a `$transaction`
 * method (to catch a root client passed by mistake), but Prisma 7's interactive transaction client
 * has one too, so it gets a view with only the raw-query methods.
 */
export function enqueueInOutbox<Payload extends object>(
  tx: ContentTransaction,
  definition: JobDefinition<Payload>,
  payload: Payload,
): Promise<string> {
  return enqueueInTransaction(transactionView(tx), definition, payload);
}

function transactionView(tx: ContentTransaction): OutboxTransactionClient {
  return {
    $executeRaw: (query, ...values) => tx.$executeRaw(query, ...values),
    $queryRaw: <Row>(query: TemplateStringsArray, ...values: unknown[]) =>
      tx.$queryRaw<Row>(query, ...values),
  };
}

/** The root client as the relay sees it: transactions hand out the same raw-query view. */
export function outboxDatabase(client: ContentDatabase): OutboxDatabase {
  return {
    $transaction: (work, options) =>
      client.$transaction((tx) => work(transactionView(tx)), options),
  };
}
