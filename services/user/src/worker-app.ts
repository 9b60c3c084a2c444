import { type Logger } from '@strata/logger';
import { createOutboxRelay } from '@strata/queue';
import { SERVICE_NAME, type UserServiceConfig } from './config';
import { openUserDatabase } from './database';
import { outboxDatabase } from './outbox';

/**
 * Published outbox rows are kept one hour, not the kit's default week: verification and reset
 * emails carry their token in the payload, and a copy of a live token should not sit in the
 * database longer than the token lives (reset: 30 min; verification: a day, see README).
 */
export const OUTBOX_RETENTION_MS = 60 * 60 * 1000;

export interface UserWorker {
  start(): void;
  /** Stops the relay (finishing the batch in flight), then closes the database. */
  close(): Promise<void>;
}

export interface BuildWorkerOptions {
  /** BullMQ key prefix; tests use a unique one. Production keeps BullMQ's default. */
  readonly queuePrefix?: string;
}

/** The user service's background process: it relays committed outbox rows to BullMQ. */
export function buildWorker(
  config: UserServiceConfig,
  logger: Logger,
  options: BuildWorkerOptions = {},
): UserWorker {
  // The relay holds one transaction at a time; two connections leave room for the purge.
  const database = openUserDatabase({
    url: config.DATABASE_URL,
    poolMax: 2,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    applicationName: `${SERVICE_NAME}-worker`,
    logger,
  });
  const relay = createOutboxRelay({
    database: outboxDatabase(database.prisma),
    producer: {
      connection: { url: config.REDIS_QUEUE_URL },
      ...(options.queuePrefix === undefined ? {} : { prefix: options.queuePrefix }),
    },
    logger,
    retainPublishedMs: OUTBOX_RETENTION_MS,
  });
  let closing: Promise<void> | undefined;
  return {
    start: () => relay.start(),
    close() {
      closing ??= (async () => {
        await relay.stop();
        await database.close();
      })();
      return closing;
    },
  };
}
