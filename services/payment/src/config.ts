import { baseConfigShape, env, z } from '@strata/config';

export const SERVICE_NAME = 'payment-service';

const currencyList = () =>
  env
    .list()
    .pipe(
      z.array(z.string().regex(/^[A-Z]{3}$/, 'expected ISO 4217 codes such as EUR,USD')).min(1),
    );

export const paymentServiceConfigSchema = z
  .object({
    ...baseConfigShape,
    PAYMENT_GRPC_HOST: env.string().default('0.0.0.0'),
    PAYMENT_GRPC_PORT: env.port().default(50052),
    DATABASE_URL: env.url('postgres', 'postgresql'),
    DB_POOL_MAX: env.int(1, 200).default(10),
    DB_STATEMENT_TIMEOUT_MS: env.int(100, 600_000).default(5_000),
    REDIS_CACHE_URL: env.url('redis', 'rediss'),
    REDIS_QUEUE_URL: env.url('redis', 'rediss'),
    REDIS_EVENTS_URL: env.url('redis', 'rediss'),
    USER_SERVICE_URL: env.string(),
    PSP_URL: env.url('http', 'https'),
    PSP_API_KEY: env.secret(8),
    PSP_WEBHOOK_SECRET: env.secret(16),
    /** How far a webhook's signed timestamp may be from now (replay window). */
    PSP_WEBHOOK_TOLERANCE_SECONDS: env.int(1, 3_600).default(300),
    PSP_TIMEOUT_MS: env.int(100, 60_000).default(10_000),
    PAYMENT_MIN_AMOUNT: env.int(1, Number.MAX_SAFE_INTEGER).default(100),
    PAYMENT_MAX_AMOUNT: env.int(1, Number.MAX_SAFE_INTEGER).default(1_000_000),
    PAYMENT_CURRENCIES: currencyList().default(['EUR', 'USD', 'GBP']),
    /** Platform fee in basis points of the amount (250 = 2.5 %), kept at settlement. */
    PLATFORM_FEE_BPS: env.int(0, 5_000).default(500),
    IDEMPOTENCY_KEY_TTL_HOURS: env.int(1, 24 * 30).default(24),
    /** Refund jobs in flight per worker process (each holds a database transaction). */
    WORKER_CONCURRENCY: env.int(1, 500).default(20),
    /**
     * Payments settled at once per worker process (the worker takes this many divided by the
     * settlement job's group size in jobs, see payment.jobs.ts). Most of a payment's time is the
     * provider call; the payments in flight share their statements (SETTLEMENT_BATCH_MAX_SIZE),
     * so more of them in flight means fewer statements and commits per payment, not more
     * connections.
     */
    SETTLEMENT_CONCURRENCY: env.int(1, 1_000).default(100),
    /**
     * Settlement jobs in flight in one worker share their statements, up to this many payments
     * per statement (group commit); 1 = one statement per payment.
     */
    SETTLEMENT_BATCH_MAX_SIZE: env.int(1, 500).default(20),
    /**
     * How often the outbox relay looks for new rows while it keeps finding some (it backs off to
     * 200 ms when idle). Each round is one transaction and one Redis round trip per queue, and
     * the settlements it relays go as one job (payment.jobs.ts): a longer interval means fewer,
     * larger rounds and groups, and settlement starting that much later.
     */
    OUTBOX_RELAY_INTERVAL_MS: env.int(1, 1_000).default(20),
    /**
     * CreatePayment calls that arrive while earlier ones are being written share one statement
     * and one commit, up to this many payments per statement (group commit); 1 = one statement
     * per create.
     */
    CREATE_PAYMENT_BATCH_MAX_SIZE: env.int(1, 500).default(32),
    /**
     * How long a CreatePayment that finds no other waiting waits for more to share its statement
     * (group-commit.ts `lingerMs`); 0 = written at once. Each statement costs PostgreSQL and the
     * server a wake-up and a commit whatever its size, which at a moderate rate is most of a
     * create's price: at 500/s (one create every 2 ms) 4 ms make batches of ~3, and cut the
     * create path's CPU by a fifth (services/payment/README.md, "Session 10"). An idle service
     * pays up to this much latency per create.
     */
    CREATE_PAYMENT_BATCH_LINGER_MS: env.int(0, 50).default(4),
    BALANCE_CACHE_TTL_SECONDS: env.int(1, 86_400).default(300),
    METRICS_PORT: env.port().optional(),
  })
  .refine((config) => config.PAYMENT_MIN_AMOUNT <= config.PAYMENT_MAX_AMOUNT, {
    path: ['PAYMENT_MAX_AMOUNT'],
    message: 'must be at least PAYMENT_MIN_AMOUNT',
  });

export type PaymentServiceConfig = z.infer<typeof paymentServiceConfigSchema>;
