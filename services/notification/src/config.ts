import { baseConfigShape, env, Secret, z } from '@strata/config';

export const SERVICE_NAME = 'notification-service';

/** Queues of the other services shown in the dashboard and exported as metrics. */
export const DEFAULT_DASHBOARD_QUEUES = ['payment-settlement', 'payment-refunds', 'content-media'];

const BULLMQ_QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** `Name <address@domain>` or a bare address: the domain also names our Message-IDs. */
const MAIL_FROM_PATTERN = /^(?:[^<>]*<\s*([^<>\s@]+@([^<>\s@]+))\s*>|([^<>\s@]+@([^<>\s@]+)))$/;

export const notificationConfigSchema = z
  .object({
    ...baseConfigShape,
    /** The queues' own Redis (noeviction, AOF); also holds the email idempotency records. */
    REDIS_QUEUE_URL: env.url('redis', 'rediss'),
    /**
     * BullMQ key prefix, identical in every process that touches these queues. Only changed to
     * share one Redis between environments (or by tests).
     */
    QUEUE_PREFIX: env.string().default('bull'),
    /** e.g. dns:///user:50051 (GetUserContact resolves `toUserId`). */
    USER_SERVICE_URL: env.string(),
    USER_SERVICE_DEADLINE_MS: env.int(50, 30_000).default(2_000),
    /** smtp://user:pass@host:587 or smtps://…:465; a secret, since it may carry a password. */
    SMTP_URL: env.url('smtp', 'smtps').transform((value) => new Secret(value)),
    /** Pooled SMTP connections per process (also bounded by the worker concurrency). */
    SMTP_MAX_CONNECTIONS: env.int(1, 100).default(5),
    /** Bound of each SMTP step (connect, greeting, every reply). */
    SMTP_TIMEOUT_MS: env.int(1_000, 120_000).default(15_000),
    MAIL_FROM: env
      .string()
      .regex(MAIL_FROM_PATTERN, 'expected "Name <address@domain>" or "address@domain"'),
    /** Base of the links in emails (web front end), e.g. https://strata.example */
    PUBLIC_WEB_URL: env.url('http', 'https'),
    EMAIL_WORKER_CONCURRENCY: env.int(1, 512).default(10),
    /**
     * How long a "sending" claim on an idempotency key lives. A worker that died mid-send blocks
     * other deliveries of the same key this long; it must exceed the longest SMTP send.
     */
    EMAIL_SEND_LEASE_MS: env.int(5_000, 3_600_000).default(120_000),
    /** How long "sent" is remembered per idempotency key. */
    EMAIL_IDEMPOTENCY_TTL_DAYS: env.int(1, 365).default(30),
    /** Other queues shown in the dashboard and exported as metrics (comma-separated). */
    QUEUE_NAMES: env
      .list()
      .pipe(
        z.array(
          z.string().regex(BULLMQ_QUEUE_NAME, 'expected queue names (letters, digits, . _ -)'),
        ),
      )
      .default(DEFAULT_DASHBOARD_QUEUES),
    /** Admin app (dashboard). Never routed by the public Nginx. */
    ADMIN_HOST: env.string().default('0.0.0.0'),
    ADMIN_PORT: env.port().default(9400),
    /** Accepted as `Authorization: Bearer <token>` (and as the Basic password of any user). */
    ADMIN_TOKEN: env.secret(24).optional(),
    /** Basic auth for browsers, as an alternative or in addition to ADMIN_TOKEN. */
    ADMIN_USER: env.string().optional(),
    ADMIN_PASSWORD: env.secret(12).optional(),
    METRICS_PORT: env.port().default(9464),
  })
  .superRefine((config, context) => {
    if (config.ADMIN_TOKEN === undefined && config.ADMIN_PASSWORD === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['ADMIN_TOKEN'],
        message: 'the dashboard needs credentials: set ADMIN_TOKEN or ADMIN_USER + ADMIN_PASSWORD',
      });
    }
    if ((config.ADMIN_USER === undefined) !== (config.ADMIN_PASSWORD === undefined)) {
      context.addIssue({
        code: 'custom',
        path: [config.ADMIN_USER === undefined ? 'ADMIN_USER' : 'ADMIN_PASSWORD'],
        message: 'ADMIN_USER and ADMIN_PASSWORD go together',
      });
    }
  });

export type NotificationConfig = z.infer<typeof notificationConfigSchema>;

/** The address part of MAIL_FROM's domain, for Message-IDs. */
export function mailFromDomain(mailFrom: string): string {
  const match = MAIL_FROM_PATTERN.exec(mailFrom.trim());
  const domain = match?.[2] ?? match?.[4];
  if (!domain) throw new Error('MAIL_FROM has no address');
  return domain;
}

/** What the operations CLI needs: only the queues' Redis. */
export const opsConfigSchema = z.object({
  REDIS_QUEUE_URL: notificationConfigSchema.shape.REDIS_QUEUE_URL,
  QUEUE_PREFIX: notificationConfigSchema.shape.QUEUE_PREFIX,
});
export type OpsConfig = z.infer<typeof opsConfigSchema>;
