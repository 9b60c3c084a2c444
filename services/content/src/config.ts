import { baseConfigShape, env, z } from '@strata/config';

export const SERVICE_NAME = 'content-service';

/** 10 MiB: the contract's default upload limit. */
export const DEFAULT_MEDIA_MAX_BYTES = 10 * 1024 * 1024;

export const contentServiceConfigSchema = z.object({
  ...baseConfigShape,
  CONTENT_GRPC_HOST: env.string().default('0.0.0.0'),
  CONTENT_GRPC_PORT: env.port().default(50053),
  DATABASE_URL: env.url('postgres', 'postgresql'),
  DB_POOL_MAX: env.int(1, 200).default(10),
  DB_STATEMENT_TIMEOUT_MS: env.int(100, 600_000).default(5_000),
  /** Object, fragment and list caches (fail open: an outage only slows reads down). */
  REDIS_CACHE_URL: env.url('redis', 'rediss'),
  /** BullMQ (media processing, email) and the outbox relay. */
  /** Bound of every cache call: a slower Redis is skipped (fail open), never waited for. */
  CACHE_COMMAND_TIMEOUT_MS: env.int(5, 5_000).default(50),
  REDIS_QUEUE_URL: env.url('redis', 'rediss'),
  /** The gateway's pub/sub Redis that carries real-time events to users. */
  REDIS_EVENTS_URL: env.url('redis', 'rediss'),
  /** e.g. dns:///user:50051 */
  USER_SERVICE_URL: env.string(),
  USER_SERVICE_DEADLINE_MS: env.int(50, 30_000).default(1_000),
  /** How long an author's display name from the user service is reused in-process; 0: never. */
  AUTHOR_NAME_CACHE_TTL_MS: env.int(0, 600_000).default(10_000),
  AUTHOR_NAME_CACHE_MAX_ENTRIES: env.int(1, 1_000_000).default(50_000),
  MEDIA_STORAGE_DIR: env.string(),
  MEDIA_MAX_BYTES: env.int(1024, 100 * 1024 * 1024).default(DEFAULT_MEDIA_MAX_BYTES),
  /** Decompression-bomb guard: images with more pixels fail processing (sharp `limitInputPixels`). */
  IMAGE_MAX_PIXELS: env.int(1, 1_000_000_000).default(50_000_000),
  ARTICLE_CACHE_TTL_SECONDS: env.int(1, 86_400).default(300),
  LIST_CACHE_TTL_SECONDS: env.int(1, 3_600).default(60),
  FRAGMENT_CACHE_TTL_SECONDS: env.int(1, 7 * 86_400).default(86_400),
  MEDIA_WORKER_CONCURRENCY: env.int(1, 64).default(2),
  METRICS_PORT: env.port().optional(),
});

export type ContentServiceConfig = z.infer<typeof contentServiceConfigSchema>;

/**
 * What the media sandbox (`src/media/media.sandbox.ts`, a child process of the worker) parses
 * from the environment its worker hands it: the part of this schema it uses, with the same rules.
 */
export const mediaSandboxConfigSchema = contentServiceConfigSchema.pick({
  NODE_ENV: true,
  LOG_LEVEL: true,
  DATABASE_URL: true,
  DB_STATEMENT_TIMEOUT_MS: true,
  REDIS_EVENTS_URL: true,
  MEDIA_STORAGE_DIR: true,
  IMAGE_MAX_PIXELS: true,
});

export type MediaSandboxConfig = z.infer<typeof mediaSandboxConfigSchema>;

/**
 * The sandbox's environment, written from the worker's parsed config (a superset), so that the
 * sandbox sees exactly what its worker parsed, wherever that came from (tests build it in code).
 */
export function mediaSandboxEnvironment(config: MediaSandboxConfig): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const key of Object.keys(mediaSandboxConfigSchema.shape) as Array<
    keyof MediaSandboxConfig
  >) {
    environment[key] = String(config[key]);
  }
  return environment;
}
