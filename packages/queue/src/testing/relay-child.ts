// A relay in its own process, for the "killed between publishing and marking" test: it publishes
// one batch, reports the outbox ids on stdout, then hangs with its transaction open until the
// test SIGKILLs it.
import { createLogger } from '@strata/logger';
import { PrismaPg } from '@prisma/adapter-pg';
import { createOutboxRelay } from '../outbox.relay';
import { PrismaClient } from '../generated/prisma/client';

const databaseUrl = process.env['CHILD_DATABASE_URL'] ?? '';
const redisUrl = process.env['CHILD_REDIS_URL'];
const prefix = process.env['CHILD_PREFIX'] ?? '';

const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) });
const relay = createOutboxRelay({
  database: prisma,
  producer: {
    connection: redisUrl ? { url: redisUrl } : { host: '127.0.0.1', port: 6379 },
    prefix,
  },
  logger: createLogger({ name: 'relay-child', level: 'warn' }),
  transactionTimeoutMs: 60_000,
  afterPublish: async (ids) => {
    process.stdout.write(`PUBLISHED ${ids.join(',')}\n`);
    await new Promise(() => undefined);
  },
});

relay.relayOnce().catch((error: unknown) => {
  process.stderr.write(`relay-child failed: ${String(error)}\n`);
  process.exit(1);
});
