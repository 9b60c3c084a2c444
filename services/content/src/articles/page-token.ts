import { createHash } from 'node:crypto';
import { invalidArgument } from '@strata/grpc';

/**
 * Opaque page tokens: base64url JSON of the last item's sort key plus a fingerprint of the
 * filters it was issued for, so a token reused with other filters is rejected instead of
 * silently paging through the wrong list. Tokens carry no secrets (a client forging one can only
 * start a page elsewhere in a public list), so they are not signed.
 */
export interface KeysetPosition {
  /** Sort timestamp (ms since epoch) of the last item returned. */
  readonly time: number;
  readonly id: string;
  /** Search rank of the last item (relevance order only). */
  readonly rank?: number;
}

interface TokenBody {
  readonly v: 1;
  readonly f: string;
  readonly t: number;
  readonly i: string;
  readonly r?: number;
}

const ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function filterFingerprint(filters: Record<string, string | undefined>): string {
  const canonical = JSON.stringify(
    Object.entries(filters)
      .filter(([, value]) => value !== undefined)
      .sort(),
  );
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 16);
}

export function encodePageToken(fingerprint: string, position: KeysetPosition): string {
  const body: TokenBody = { v: 1, f: fingerprint, t: position.time, i: position.id };
  return Buffer.from(
    JSON.stringify(position.rank === undefined ? body : { ...body, r: position.rank }),
  ).toString('base64url');
}

/** The position in `token`, `undefined` for an empty token; INVALID_ARGUMENT page_token otherwise. */
export function decodePageToken(token: string, fingerprint: string): KeysetPosition | undefined {
  if (token === '') return undefined;
  const malformed = () => invalidArgument('page_token', 'malformed or issued for other filters');
  if (token.length > 512 || !/^[A-Za-z0-9_-]+$/.test(token)) throw malformed();
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw malformed();
  }
  if (typeof body !== 'object' || body === null) throw malformed();
  const { v, f, t, i, r } = body as Record<string, unknown>;
  if (v !== 1 || f !== fingerprint || typeof i !== 'string' || !ID_PATTERN.test(i))
    throw malformed();
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) throw malformed();
  if (r !== undefined && (typeof r !== 'number' || !Number.isFinite(r))) throw malformed();
  return r === undefined ? { time: t, id: i } : { time: t, id: i, rank: r };
}
