import { baseConfigShape, env, z } from '@strata/config';

export const SERVICE_NAME = 'psp-simulator';

/** A probability in [0, 1], e.g. `0.05`. */
const rate = () =>
  z
    .string()
    .trim()
    .regex(/^(0(\.\d+)?|1(\.0+)?)$/, 'expected a number between 0 and 1')
    .transform(Number);

export const pspConfigSchema = z.object({
  ...baseConfigShape,
  PSP_HOST: env.string().default('0.0.0.0'),
  PSP_PORT: env.port().default(4010),
  /** Clients authenticate with `Authorization: Bearer <PSP_API_KEY>`. */
  PSP_API_KEY: env.secret(8),
  /** Where charge/refund events are POSTed (the gateway's /v1/webhooks/psp); none → not sent. */
  PSP_WEBHOOK_URL: env.url('http', 'https').optional(),
  PSP_WEBHOOK_SECRET: env.secret(16),
  PSP_WEBHOOK_MAX_ATTEMPTS: env.int(1, 100).default(12),
  PSP_WEBHOOK_BACKOFF_MS: env.int(1, 600_000).default(1_000),
  PSP_LATENCY_MIN_MS: env.int(0, 60_000).default(0),
  PSP_LATENCY_MAX_MS: env.int(0, 60_000).default(0),
  /** Share of charges declined (`card_declined`): a definitive outcome, stored under the key. */
  PSP_DECLINE_RATE: rate().default(0),
  /** Share of requests answered 503 with no effect (transient: a retry with the key may succeed). */
  PSP_ERROR_RATE: rate().default(0),
  /**
   * Fastify's two log lines per request (at `info`). Off for load tests: the simulator stands in
   * for an external provider, and logging each charge cost it more CPU than answering it.
   */
  PSP_REQUEST_LOGGING: env.bool().default(true),
  /** Seed of the outcome generator; set it to make declines and errors reproducible. */
  PSP_SEED: env.int(0, 2 ** 31 - 1).optional(),
});

export type PspConfig = z.infer<typeof pspConfigSchema>;
