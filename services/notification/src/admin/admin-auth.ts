import { createHash, timingSafeEqual } from 'node:crypto';
import { type Secret } from '@strata/config';

/** Who may open the dashboard: a bearer token, a Basic user/password pair, or both. */
export interface AdminCredentials {
  /** `Authorization: Bearer <token>`; also accepted as the Basic password (any user name). */
  readonly token?: Secret | undefined;
  readonly user?: string | undefined;
  readonly password?: Secret | undefined;
}

// Hashing first gives equal-length buffers, so the comparison time says nothing about the length
// or the prefix of the secret.
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function decodeBasic(encoded: string): { user: string; password: string } | undefined {
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  if (separator < 0) return undefined;
  return { user: decoded.slice(0, separator), password: decoded.slice(separator + 1) };
}

/** Whether an `Authorization` header carries valid admin credentials. */
export function isAuthorized(header: string | undefined, credentials: AdminCredentials): boolean {
  if (!header) return false;
  const [scheme = '', value = ''] = header.trim().split(/\s+/, 2);
  const token = credentials.token?.reveal();
  if (scheme.toLowerCase() === 'bearer') {
    return token !== undefined && value.length > 0 && sameSecret(value, token);
  }
  if (scheme.toLowerCase() !== 'basic') return false;
  const basic = decodeBasic(value);
  if (!basic) return false;
  const password = credentials.password?.reveal();
  // Evaluate both checks every time so the response time does not tell which one matched.
  const userMatches =
    credentials.user !== undefined &&
    password !== undefined &&
    sameSecret(basic.user, credentials.user) &&
    sameSecret(basic.password, password);
  const tokenMatches = token !== undefined && sameSecret(basic.password, token);
  return userMatches || tokenMatches;
}
