import { randomUUID } from 'node:crypto';
import { captureContext } from './job-context';
import { type JobDefinition } from './job-definition';
import { jobOptionsFor } from './producer';

/**
 * The part of a Prisma *interactive transaction* client the outbox needs. The generated
 * transaction client (`prisma.$transaction(async (tx) => …)`) fits it structurally; the root
 * `PrismaClient` does not (it has `$disconnect`, which Prisma removes from transaction clients),
 * so writing an outbox row outside the business transaction is a type error.
 */
export interface OutboxTransactionClient {
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<number>;
  $queryRaw<Row = unknown>(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<Row>;
  readonly $disconnect?: never;
}

/** The part of a root Prisma client the relay needs (to open its own short transactions). */
export interface OutboxDatabase {
  $transaction<Result>(
    work: (tx: OutboxTransactionClient) => Promise<Result>,
    options?: { maxWait?: number; timeout?: number },
  ): Promise<Result>;
}

export interface EnqueueInTransactionOptions {
  /** Milliseconds after the commit before the job may run (counted from the row's creation). */
  readonly delay?: number;
  readonly priority?: number;
}

/**
 * The outbox model every service's `schema.prisma` contains, verbatim: the relay's SQL uses these
 * table and column names. Kept here so tests can assert the README and the schemas agree.
 */
export const OUTBOX_PRISMA_MODEL = `model OutboxEvent {
  id          String    @id @db.Uuid
  queue       String
  name        String
  payload     Json
  context     Json?
  options     Json
  delayMs     Int       @default(0) @map("delay_ms")
  createdAt   DateTime  @default(now()) @map("created_at") @db.Timestamptz(3)
  publishedAt DateTime? @map("published_at") @db.Timestamptz(3)
  attempts    Int       @default(0)
  lastError   String?   @map("last_error")

  @@index([publishedAt, createdAt])
  @@map("outbox_events")
}`;

/**
 * Writes a job into the outbox **inside the caller's transaction**: the job exists if and only
 * if the transaction commits. The relay later publishes it to BullMQ with `jobId` = the returned
 * outbox id, which processors can use as an idempotency key.
 *
 * ```ts
 * await prisma.$transaction(async (tx) => {
 *   const payment = await tx.payment.create({ data });
 *   await enqueueInTransaction(tx, settlePayment, { paymentId: payment.id });
 * });
 * relay.notify(); // optional: publish now instead of at the next poll
 * ```
 * @throws InvalidJobPayloadError when the payload does not match the definition (the caller's
 * transaction then rolls back: a job that could never run is never committed).
 */
export async function enqueueInTransaction<Payload extends object>(
  tx: OutboxTransactionClient,
  definition: JobDefinition<Payload>,
  payload: Payload,
  options: EnqueueInTransactionOptions = {},
): Promise<string> {
  if (typeof (tx as { $disconnect?: unknown }).$disconnect === 'function') {
    // Also guards callers whose types were widened: a root client would commit the row on its
    // own, outside the business transaction.
    throw new Error('enqueueInTransaction needs the transaction client (tx), not the root client');
  }
  await definition.parse(payload);
  const delay = Math.max(0, Math.trunc(options.delay ?? 0));
  // The job options are fixed at enqueue time, with the definition the enqueuing code knows.
  const {
    delay: _delay,
    jobId: _jobId,
    ...jobOptions
  } = jobOptionsFor(
    definition,
    options.priority === undefined ? {} : { priority: options.priority },
  );
  const id = randomUUID();
  const context = captureContext();
  await tx.$executeRaw`
    INSERT INTO outbox_events (id, queue, name, payload, context, options, delay_ms)
    VALUES (${id}::uuid, ${definition.queue}, ${definition.name}, ${JSON.stringify(payload)}::jsonb,
            ${context === undefined ? null : JSON.stringify(context)}::jsonb,
            ${JSON.stringify(jobOptions)}::jsonb, ${delay})`;
  return id;
}
