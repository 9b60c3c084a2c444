import { Role, type Actor } from '@strata/contracts';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { ApiError, unauthorized } from '../errors/api-error';
import { type SigningKeyStore } from './signing-keys';

export interface AccessTokenVerifierOptions {
  readonly keys: SigningKeyStore;
  readonly issuer: string;
  readonly audience: string;
}

export interface VerifiedToken {
  readonly actor: Actor;
  /** Expiry, in ms since the epoch (sockets close when it passes). */
  readonly expiresAtMs: number;
}

const ROLES: Readonly<Record<string, Role>> = { member: Role.MEMBER, admin: Role.ADMIN };
// A JWS compact serialisation is three base64url parts; anything longer than this is not ours.
const MAX_TOKEN_LENGTH = 4096;
const JWS_PATTERN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Verifies access tokens locally: signature with the key named by `kid`, the algorithm pinned to
 * that key's (never the token's own choice), `iss`, `aud`, `exp`/`nbf`, and the claims Strata
 * needs (`sub`, `role`). Every failure is the same 401 so nothing is learnt from the difference.
 */
export class AccessTokenVerifier {
  constructor(private readonly options: AccessTokenVerifierOptions) {}

  async verify(token: string): Promise<VerifiedToken> {
    if (token.length > MAX_TOKEN_LENGTH || !JWS_PATTERN.test(token)) throw invalidToken();
    let keyId: string | undefined;
    try {
      keyId = decodeProtectedHeader(token).kid;
    } catch {
      throw invalidToken();
    }
    if (typeof keyId !== 'string') throw invalidToken();
    // Key lookup failures (user service down) are not the client's fault: they surface as 503.
    const key = await this.options.keys.get(keyId).catch(() => {
      throw new ApiError(503, 'UNAVAILABLE', 'service unavailable');
    });
    if (!key) throw invalidToken();
    try {
      const { payload } = await jwtVerify(token, key.key, {
        algorithms: [key.algorithm],
        issuer: this.options.issuer,
        audience: this.options.audience,
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      const role = typeof payload.role === 'string' ? ROLES[payload.role] : undefined;
      if (
        typeof payload.sub !== 'string' ||
        payload.sub === '' ||
        role === undefined ||
        payload.exp === undefined
      ) {
        throw invalidToken();
      }
      return { actor: { userId: payload.sub, role }, expiresAtMs: payload.exp * 1000 };
    } catch (error) {
      if (error instanceof ApiError) throw error;
      if (error instanceof joseErrors.JOSEError) throw invalidToken();
      throw error;
    }
  }
}

function invalidToken(): ApiError {
  return unauthorized('invalid or expired access token');
}

/** The bearer token of an `Authorization` header, `undefined` when absent, 401 when malformed. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer ([^\s]+)$/i.exec(header.trim());
  if (!match?.[1]) throw unauthorized('malformed Authorization header');
  return match[1];
}
