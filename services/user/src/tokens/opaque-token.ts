import { createHash, randomBytes } from 'node:crypto';

/** 256 bits: guessing is hopeless, so a fast hash at rest is enough (no salt, no argon2). */
export const OPAQUE_TOKEN_BYTES = 32;

export interface OpaqueToken {
  /** Handed to the user once (response or email), never stored or logged. */
  readonly token: string;
  /** What the database keeps: hex SHA-256 of the token, looked up through a unique index. */
  readonly hash: string;
}

export function hashOpaqueToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newOpaqueToken(): OpaqueToken {
  const token = randomBytes(OPAQUE_TOKEN_BYTES).toString('base64url');
  return { token, hash: hashOpaqueToken(token) };
}

/** Cheap shape check before any database work: 32 bytes in base64url are 43 characters. */
export function looksLikeOpaqueToken(value: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(value);
}
