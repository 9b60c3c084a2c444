import { baseConfigShape, env, Secret, z } from '@strata/config';
import { parseSigningKey } from './tokens/access-token.issuer';

export const SERVICE_NAME = 'user-service';

/** 15 minutes: the longest an access token may live (issue 3), so a revoked session dies soon. */
export const MAX_ACCESS_TOKEN_TTL_SECONDS = 900;

/**
 * PEM keys often arrive through one-line environment files with `\n` escaped; accept both forms.
 * The key is parsed here so a wrong key stops the process at boot, naming JWT_PRIVATE_KEY.
 */
const signingKey = () =>
  z
    .string()
    .min(1)
    .transform((value) => value.replace(/\\n/g, '\n'))
    .superRefine((pem, context) => {
      try {
        parseSigningKey(pem);
      } catch (error) {
        context.addIssue({
          code: 'custom',
          message: error instanceof Error ? error.message : 'invalid key',
        });
      }
    })
    .transform((pem) => new Secret(pem));

export const userServiceConfigSchema = z.object({
  ...baseConfigShape,
  USER_GRPC_HOST: env.string().default('0.0.0.0'),
  USER_GRPC_PORT: env.port().default(50051),
  DATABASE_URL: env.url('postgres', 'postgresql'),
  DB_POOL_MAX: env.int(1, 200).default(10),
  DB_STATEMENT_TIMEOUT_MS: env.int(100, 600_000).default(5_000),
  REDIS_CACHE_URL: env.url('redis', 'rediss'),
  REDIS_QUEUE_URL: env.url('redis', 'rediss'),
  JWT_PRIVATE_KEY: signingKey(),
  JWT_KEY_ID: env.string(),
  JWT_ISSUER: env.string(),
  JWT_AUDIENCE: env.string(),
  ACCESS_TOKEN_TTL_SECONDS: env
    .int(30, MAX_ACCESS_TOKEN_TTL_SECONDS)
    .default(MAX_ACCESS_TOKEN_TTL_SECONDS),
  REFRESH_TOKEN_TTL_DAYS: env.int(1, 365).default(30),
  METRICS_PORT: env.port().optional(),
});

export type UserServiceConfig = z.infer<typeof userServiceConfigSchema>;
