import { randomUUID } from 'node:crypto';
import {
  captureContext,
  enqueueInTransaction,
  jobOptionsFor,
  type JobDefinition,
  type OutboxTransactionClient,
} from '@strata/queue';
import { type PaymentTransaction } from './database';

// @strata/queue types its outbox clients so that a root Prisma client cannot be passed where a
// transaction client belongs ("no `$transaction` method"), and checks it at run time. Prisma 7's
// interactive-transaction client has a `$transaction` method too, so neither the real `tx` nor
// the root client fits as is. These adapters expose exactly what the outbox uses.

/** A view of `tx` with only the raw-query methods the outbox needs. */
function outboxView(tx: PaymentTransaction): OutboxTransactionClient {
  return {
    $executeRaw: (query, ...values) => tx.$executeRaw(query, ...values),
    $queryRaw: <Row>(query: TemplateStringsArray, ...values: unknown[]) =>
      tx.$queryRaw<Row>(query, ...values),
  };
}

/** Writes a job into the outbox inside `tx`: it exists if and only if `tx` commits. */
export function enqueueInOutbox<Payload extends object>(
  tx: PaymentTransaction,
  definition: JobDefinition<Payload>,
  payload: Payload,
): Promise<string> {
  return enqueueInTransaction(outboxView(tx), definition, payload);
}

/** The column values of one `outbox_events` row, as `enqueueInTransaction` would write them. */
export interface OutboxRow {
  readonly id: string;
  readonly queue: string;
  readonly name: string;
  /** JSON text for the `jsonb` columns. */
  readonly payload: string;
  readonly context: string | null;
  readonly options: string;
  readonly delayMs: number;
}

// A definition's options never change; serialising them once saves work on every create.
const optionsJsonByDefinition = new WeakMap<object, string>();

/** A definition's job options as the outbox stores them (`options` column, JSON text). */
export function outboxOptionsJson(definition: JobDefinition<object>): string {
  let json = optionsJsonByDefinition.get(definition);
  if (json === undefined) {
    const { delay: _delay, jobId: _jobId, ...jobOptions } = jobOptionsFor(definition);
    json = JSON.stringify(jobOptions);
    optionsJsonByDefinition.set(definition, json);
  }
  return json;
}

/**
 * The outbox row for a job, for callers that fold the INSERT into a larger single statement
 * (CreatePayment's one-round-trip CTE) instead of a Prisma interactive transaction.
 * Mirrors `enqueueInTransaction` of @strata/queue (payload validated by the definition, options
 * fixed at enqueue time without `delay`/`jobId`, the request context captured); `outbox.spec.ts`
 * compares the two so that a change in the kit's row format fails a test here.
 */
export async function outboxRow<Payload extends object>(
  definition: JobDefinition<Payload>,
  payload: Payload,
): Promise<OutboxRow> {
  await definition.parse(payload);
  const context = captureContext();
  return {
    id: randomUUID(),
    queue: definition.queue,
    name: definition.name,
    payload: JSON.stringify(payload),
    context: context === undefined ? null : JSON.stringify(context),
    options: outboxOptionsJson(definition),
    delayMs: 0,
  };
}
