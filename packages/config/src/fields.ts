import { z } from 'zod';
import { Secret } from './secret';

/**
 * Field builders for environment variables. Every variable arrives as a string (or is absent), so
 * each builder parses from string and says in its error what it expects.
 */
export const env = {
  /** A non-empty string. */
  string: () => z.string().trim().min(1, 'expected a non-empty string'),

  /** An integer in [min, max]. */
  int: (min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) =>
    z
      .string()
      .trim()
      .regex(/^-?\d+$/, `expected an integer between ${min} and ${max}`)
      .transform(Number)
      .pipe(z.number().int().min(min).max(max)),

  /** A TCP port; 0 asks the OS for a free one (tests). */
  port: () =>
    z
      .string()
      .trim()
      .regex(/^\d+$/, 'expected a port number 0-65535')
      .transform(Number)
      .pipe(z.number().int().min(0).max(65535)),

  /** `true/false/1/0/yes/no`. */
  bool: () =>
    z
      .string()
      .trim()
      .toLowerCase()
      .refine((value) => ['true', 'false', '1', '0', 'yes', 'no'].includes(value), {
        message: 'expected true or false',
      })
      .transform((value) => value === 'true' || value === '1' || value === 'yes'),

  /** A URL whose scheme is one of `protocols` (without the colon). */
  url: (...protocols: string[]) =>
    z
      .string()
      .trim()
      .refine(
        (value) => {
          try {
            const parsed = new URL(value);
            return protocols.length === 0 || protocols.includes(parsed.protocol.slice(0, -1));
          } catch {
            return false;
          }
        },
        { message: `expected a URL${protocols.length ? ` (${protocols.join(', ')})` : ''}` },
      ),

  /** One of a fixed set of values. */
  oneOf: <const Values extends readonly [string, ...string[]]>(values: Values) =>
    z.enum(values, { error: `expected one of: ${values.join(', ')}` }),

  /** A comma-separated list of non-empty items. */
  list: () =>
    z.string().transform((value) =>
      value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0),
    ),

  /** A value that is wrapped so it cannot be logged by accident. */
  secret: (minLength = 1) =>
    z
      .string()
      .min(minLength, `expected a secret of at least ${minLength} characters`)
      .transform((value) => new Secret(value)),
};

/** Log levels pino understands. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Variables that every Strata process reads; extend this shape in a service's own schema. */
export const baseConfigShape = {
  NODE_ENV: env.oneOf(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: env.oneOf(LOG_LEVELS).default('info'),
};
