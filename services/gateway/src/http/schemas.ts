// JSON schemas shared by the routes. Every body schema says `additionalProperties: false`; every
// response schema lists its properties, so fast-json-stringify drops anything else (no leaks).

export const ERROR_SCHEMA_ID = 'ErrorResponse';

export const errorResponseSchema = {
  $id: ERROR_SCHEMA_ID,
  type: 'object',
  description: 'Every error: a stable machine code, a safe message and the request id to quote.',
  additionalProperties: false,
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      additionalProperties: false,
      required: ['code', 'message', 'requestId'],
      properties: {
        code: { type: 'string', examples: ['NOT_FOUND'] },
        message: { type: 'string' },
        requestId: { type: 'string' },
      },
    },
  },
} as const;

const errorRef = { $ref: `${ERROR_SCHEMA_ID}#` } as const;

/** Response entries for error statuses, all in the one error shape. */
export function errorResponses<const Codes extends readonly number[]>(
  ...codes: Codes
): Record<Codes[number], typeof errorRef> {
  // Every route can also answer 429 (rate limit) and 5xx (downstream trouble).
  const all = new Set<number>([...codes, 429, 500, 503, 504]);
  return Object.fromEntries([...all].map((code) => [code, errorRef])) as Record<
    Codes[number],
    typeof errorRef
  >;
}

export const UUID_PATTERN =
  '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

export const uuidString = { type: 'string', pattern: UUID_PATTERN, maxLength: 36 } as const;

export const idParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: uuidString },
} as const;

export interface IdParams {
  id: string;
}

export const timestamp = { type: 'string', format: 'date-time' } as const;
export const nullableTimestamp = { type: ['string', 'null'], format: 'date-time' } as const;
export const nullableString = { type: ['string', 'null'] } as const;

export const pageQueryProperties = {
  cursor: { type: 'string', minLength: 1, maxLength: 512 },
  limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
} as const;

export interface PageQuery {
  cursor?: string;
  limit: number;
}

export const authorSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name'],
  properties: { id: { type: 'string' }, name: { type: 'string' } },
} as const;

/** `Date | undefined` (proto Timestamp) → RFC 3339 or null. */
export function isoOrNull(date: Date | undefined): string | null {
  return date ? date.toISOString() : null;
}

export function iso(date: Date | undefined): string {
  return (date ?? new Date(0)).toISOString();
}

/** proto `next_page_token` ("" on the last page) → `nextCursor` (null on the last page). */
export function cursorOrNull(token: string): string | null {
  return token === '' ? null : token;
}

/** The lower-case JSON name of a proto enum value (`PAYMENT_STATUS_SETTLED` → `settled`). */
export function enumName(json: string, prefix: string): string {
  return json.startsWith(prefix) ? json.slice(prefix.length).toLowerCase() : 'unspecified';
}

export const securityBearer = [{ bearerAuth: [] }];
