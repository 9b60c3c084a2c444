import { createPrivateKey, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { type Role } from '../users/user';

export type SigningAlgorithm = 'EdDSA' | 'ES256';

export interface AccessTokenOptions {
  /** PKCS#8 PEM of an Ed25519 or P-256 private key. */
  readonly privateKeyPem: string;
  readonly keyId: string;
  readonly issuer: string;
  readonly audience: string;
  readonly ttlSeconds: number;
}

export interface PublicSigningKey {
  readonly keyId: string;
  readonly algorithm: SigningAlgorithm;
  /** Public JWK with `kid`, `alg` and `use: "sig"`; never private parameters. */
  readonly publicJwk: Readonly<Record<string, string>>;
}

export interface IssuedAccessToken {
  readonly token: string;
  readonly expiresIn: number;
}

/**
 * The algorithm follows from the key, so there is exactly one per key and no `alg` can be
 * smuggled in by configuration. Anything but Ed25519 and P-256 is refused.
 */
export function signingAlgorithmOf(key: KeyObject): SigningAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1')
    return 'ES256';
  throw new Error('expected an Ed25519 or P-256 (prime256v1) private key');
}

/** Parses and checks a PEM private key; throws with a message safe to show (no key material). */
export function parseSigningKey(pem: string): {
  privateKey: KeyObject;
  algorithm: SigningAlgorithm;
} {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new Error('expected a PKCS#8 PEM private key');
  }
  return { privateKey, algorithm: signingAlgorithmOf(privateKey) };
}

/** Signs short-lived access tokens (RFC 9068 profile) that the gateway verifies offline. */
export class AccessTokenIssuer {
  readonly algorithm: SigningAlgorithm;
  readonly #privateKey: KeyObject;
  readonly #publicKey: PublicSigningKey;

  constructor(private readonly options: AccessTokenOptions) {
    const { privateKey, algorithm } = parseSigningKey(options.privateKeyPem);
    this.#privateKey = privateKey;
    this.algorithm = algorithm;
    const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
    const publicJwk: Record<string, string> = {};
    // Copy only public members: `d` must never leave the process even if export changes shape.
    for (const member of ['kty', 'crv', 'x', 'y'] as const) {
      const value = jwk[member];
      if (typeof value === 'string') publicJwk[member] = value;
    }
    this.#publicKey = {
      keyId: options.keyId,
      algorithm,
      publicJwk: { ...publicJwk, kid: options.keyId, alg: algorithm, use: 'sig' },
    };
  }

  get issuer(): string {
    return this.options.issuer;
  }

  get audience(): string {
    return this.options.audience;
  }

  async issue(subject: { userId: string; role: Role }): Promise<IssuedAccessToken> {
    const token = await new SignJWT({ role: subject.role })
      .setProtectedHeader({ alg: this.algorithm, kid: this.options.keyId, typ: 'at+jwt' })
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setSubject(subject.userId)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(`${this.options.ttlSeconds}s`)
      .sign(this.#privateKey);
    return { token, expiresIn: this.options.ttlSeconds };
  }

  /** Newest first; one key today, a list so rotation can publish the next key before using it. */
  signingKeys(): readonly PublicSigningKey[] {
    return [this.#publicKey];
  }
}
