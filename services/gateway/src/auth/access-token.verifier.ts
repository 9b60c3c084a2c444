import { Role, type Actor } from '@strata/contracts';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { ApiError, unauthorized } from '../errors/api-error';
import { type VerificationKey } from './signing-keys';

/** Where verification keys come from (a `SigningKeyStore`). */
export interface VerificationKeyLookup {
  get(keyId: string): Promise<VerificationKey | undefined>;
}

export interface AccessTokenVerifierOptions {
  readonly keys: VerificationKeyLookup;
  readonly issuer: string;
  readonly audience: string;
  /** Verified tokens remembered (see {@link AccessTokenVerifier}); 0 turns it off. Default 10 000. */
  readonly cacheMaxEntries?: number;
  readonly now?: () => number;
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

interface RememberedToken {
  readonly verified: VerifiedToken;
  readonly keyId: string;
  /** The key object that verified it: a key refresh replaces every key object. */
  readonly key: VerificationKey;
}

const DEFAULT_CACHE_MAX_ENTRIES = 10_000;

/**
 * Verifies access tokens locally: signature with the key named by `kid`, the algorithm pinned to
 * that key's (never the token's own choice), `iss`, `aud`, `exp`/`nbf`, and the claims Strata
 * needs (`sub`, `role`). Every failure is the same 401 so nothing is learnt from the difference.
 *
 * A token that verified is remembered (bounded, oldest first out) and answered again without the
 * signature check, which was ~16 % of a gateway's CPU on the authenticated read path
 * (bench/FINDINGS.md): a client sends the same token on every request for its lifetime. Only the
 * exact string that verified is remembered, and only while it is unexpired **and** its key is the
 * very key object the key store holds now: a key refresh (every JWT_KEYS_TTL_SECONDS, or an
 * unknown kid) re-verifies everything, and a key withdrawn by the user service stops verifying
 * its tokens at that refresh, as it would without this cache.
 */
export class AccessTokenVerifier {
  readonly #remembered = new Map<string, RememberedToken>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(private readonly options: AccessTokenVerifierOptions) {
    this.#maxEntries = options.cacheMaxEntries ?? DEFAULT_CACHE_MAX_ENTRIES;
    this.#now = options.now ?? Date.now;
  }

  async verify(token: string): Promise<VerifiedToken> {
    const remembered = this.#remembered.get(token);
    if (remembered !== undefined) {
      if (
        remembered.verified.expiresAtMs > this.#now() &&
        (await this.currentKey(remembered.keyId)) === remembered.key
      ) {
        return remembered.verified;
      }
      this.#remembered.delete(token);
    }
    if (token.length > MAX_TOKEN_LENGTH || !JWS_PATTERN.test(token)) throw invalidToken();
    let keyId: string | undefined;
    try {
      keyId = decodeProtectedHeader(token).kid;
    } catch {
      throw invalidToken();
    }
    if (typeof keyId !== 'string') throw invalidToken();
    const key = await this.currentKey(keyId);
    if (!key) throw invalidToken();
    const verified = await this.verifySignatureAndClaims(token, key);
    this.remember(token, { verified, keyId, key });
    return verified;
  }

  private currentKey(keyId: string): Promise<VerificationKey | undefined> {
    // Key lookup failures (user service down) are not the client's fault: they surface as 503.
    return this.options.keys.get(keyId).catch(() => {
      throw new ApiError(503, 'UNAVAILABLE', 'service unavailable');
    });
  }

  private remember(token: string, entry: RememberedToken): void {
    if (this.#maxEntries <= 0) return;
    this.#remembered.set(token, entry);
    // A Map iterates in insertion order: the first keys are the oldest.
    for (const oldest of this.#remembered.keys()) {
      if (this.#remembered.size <= this.#maxEntries) break;
      this.#remembered.delete(oldest);
    }
  }

  private async verifySignatureAndClaims(
    token: string,
    key: VerificationKey,
  ): Promise<VerifiedToken> {
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
