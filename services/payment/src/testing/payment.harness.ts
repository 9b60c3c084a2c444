import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '@strata/config';
import { PaymentServiceClient, Role } from '@strata/contracts';
import { createGrpcClient, type GrpcClient } from '@strata/grpc';
import { createLogger, type Logger } from '@strata/logger';
import {
  createTestDatabase,
  createTestRedis,
  TestResources,
  type TestDatabase,
  type TestRedis,
} from '@strata/testing';
import { Pool } from 'pg';
import { buildApp, type PaymentApp } from '../app';
import { type PaymentServiceConfig, paymentServiceConfigSchema } from '../config';
import { buildWorker, type BuildWorkerOptions, type PaymentWorker } from '../worker-app';
import { startFakeUserService, type FakeUserService } from './fake-user-service';
import { PSP_API_KEY, PSP_WEBHOOK_SECRET, startPsp, type PspProcess } from './psp-process';

export const SERVICE_DIR = path.join(__dirname, '..', '..');

export const actor = (userId: string) => ({ userId, role: Role.MEMBER });

export interface PaymentStack {
  readonly config: PaymentServiceConfig;
  readonly env: Record<string, string>;
  readonly client: GrpcClient<PaymentServiceClient>;
  readonly sql: Pool;
  readonly psp: PspProcess;
  readonly users: FakeUserService;
  readonly redis: TestRedis;
  readonly logger: Logger;
  worker: PaymentWorker | undefined;
  startWorker(options?: BuildWorkerOptions): PaymentWorker;
  newUser(): string;
  /** Polls `check` until it returns a value other than undefined. */
  eventually<T>(check: () => Promise<T | undefined>, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

export interface StackOptions {
  readonly pspEnv?: Record<string, string>;
  readonly env?: Record<string, string>;
  readonly withWorker?: boolean;
}

/** Fresh database and Redis prefix, the simulator as a process, a fake user service, the app in-process. */
export async function startPaymentStack(
  name: string,
  options: StackOptions = {},
): Promise<PaymentStack> {
  const resources = new TestResources();
  const database: TestDatabase = await resources.open(
    () => createTestDatabase({ serviceDir: SERVICE_DIR, name }),
    (opened) => opened.drop(),
  );
  const redis = await resources.open(
    () => createTestRedis({ name }),
    (opened) => opened.cleanup(),
  );
  const psp = await resources.open(
    () => startPsp(options.pspEnv),
    (opened) => opened.close(),
  );
  const users = await resources.open(startFakeUserService, (opened) => opened.close());
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    DB_POOL_MAX: '20',
    REDIS_CACHE_URL: redis.url,
    REDIS_QUEUE_URL: redis.url,
    REDIS_EVENTS_URL: redis.url,
    USER_SERVICE_URL: users.target,
    PSP_URL: psp.url,
    PSP_API_KEY,
    PSP_WEBHOOK_SECRET,
    PAYMENT_GRPC_HOST: '127.0.0.1',
    PAYMENT_GRPC_PORT: '0',
    PLATFORM_FEE_BPS: '500',
    WORKER_CONCURRENCY: '8',
    LOG_LEVEL: 'silent',
    ...options.env,
  };
  const config = loadConfig(paymentServiceConfigSchema, env);
  const logger = createLogger({ name, level: 'silent' });
  const app: PaymentApp = buildApp(config, logger, {
    cacheKeyPrefix: `${redis.prefix}payment`,
    shutdownGraceMs: 2_000,
  });
  const { port } = await resources.open(
    () => app.start(),
    () => app.close(),
  );
  const client = createGrpcClient(PaymentServiceClient, {
    target: `127.0.0.1:${port}`,
    defaultDeadlineMs: 10_000,
  });
  const sql = new Pool({ connectionString: database.url, max: 3 });

  const stack: PaymentStack = {
    config,
    env,
    client,
    sql,
    psp,
    users,
    redis,
    logger,
    worker: undefined,
    startWorker(workerOptions = {}) {
      const worker = buildWorker(config, logger, {
        queuePrefix: redis.queuePrefix,
        cacheKeyPrefix: `${redis.prefix}payment`,
        ...workerOptions,
      });
      worker.start();
      stack.worker = worker;
      return worker;
    },
    newUser() {
      const id = randomUUID();
      users.users.add(id);
      return id;
    },
    async eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = await check();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error('condition not met in time');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async close() {
      client.close();
      await stack.worker?.close();
      await sql.end();
      // The app, then the fake user service, the simulator, Redis keys and the database.
      await resources.closeAll();
    },
  };
  if (options.withWorker) stack.startWorker();
  return stack;
}

/** Ledger-wide checks used by several suites. */
export async function ledgerInvariants(sql: Pool): Promise<{
  unbalancedTransactions: number;
  globalSums: Array<{ currency: string; total: string }>;
}> {
  const unbalanced = await sql.query<{ count: string }>(`
    SELECT count(*) FROM (
      SELECT transaction_id FROM postings GROUP BY transaction_id, currency HAVING SUM(amount_minor) <> 0) t`);
  const sums = await sql.query<{ currency: string; total: string }>(
    `SELECT currency, SUM(amount_minor)::text AS total FROM postings GROUP BY currency ORDER BY currency`,
  );
  return { unbalancedTransactions: Number(unbalanced.rows[0].count), globalSums: sums.rows };
}
