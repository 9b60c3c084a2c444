import { importJWK, type CryptoKey, type JWK } from 'jose';
import { type Logger } from '@strata/logger';
import { type Downstream } from '../downstream/downstream';

export interface VerificationKey {
  readonly keyId: string;
  readonly algorithm: string;
  readonly key: CryptoKey | Uint8Array;
}

export interface SigningKeyStoreOptions {
  readonly downstream: Downstream;
  readonly logger: Logger;
  /** Keys older than this are refetched in the background. */
  readonly ttlMs: number;
  /** An unknown `kid` triggers a refetch at most this often (a forged kid must not DoS the user service). */
  readonly unknownKidRefetchMs?: number;
  readonly now?: () => number;
}

// Algorithms the gateway ever accepts; the key's own `algorithm` then pins one per key.
const ASYMMETRIC_ALGORITHMS = new Set([
  'EdDSA',
  'Ed25519',
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'PS256',
]);

/**
 * The user service's public keys (GetSigningKeys), cached in memory with single-flight refresh.
 * Each key keeps the algorithm the service declared for it, so a token cannot pick its own.
 */
export class SigningKeyStore {
  private keys = new Map<string, VerificationKey>();
  private fetchedAt = 0;
  private lastUnknownKidFetch = 0;
  private inFlight: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: SigningKeyStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The key for `keyId`, fetching keys when none are cached, they are stale, or the kid is new. */
  async get(keyId: string): Promise<VerificationKey | undefined> {
    if (this.fetchedAt === 0) await this.refresh();
    else if (this.now() - this.fetchedAt > this.options.ttlMs) {
      // Stale keys still verify while the refresh runs; a rotation keeps old keys listed.
      this.refresh().catch((error: unknown) =>
        this.options.logger.warn({ err: error }, 'signing key refresh failed; keeping cached keys'),
      );
    }
    const key = this.keys.get(keyId);
    if (key) return key;
    const minInterval = this.options.unknownKidRefetchMs ?? 10_000;
    if (this.now() - this.lastUnknownKidFetch < minInterval) return undefined;
    this.lastUnknownKidFetch = this.now();
    await this.refresh();
    return this.keys.get(keyId);
  }

  refresh(): Promise<void> {
    this.inFlight ??= this.load().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async load(): Promise<void> {
    const response = await this.options.downstream.users.getSigningKeys({});
    const next = new Map<string, VerificationKey>();
    for (const signingKey of response.keys) {
      if (!ASYMMETRIC_ALGORITHMS.has(signingKey.algorithm)) {
        this.options.logger.warn(
          { keyId: signingKey.keyId, algorithm: signingKey.algorithm },
          'ignoring signing key with an unexpected algorithm',
        );
        continue;
      }
      try {
        const jwk = JSON.parse(signingKey.publicJwkJson) as JWK;
        if ('d' in jwk) throw new Error('private key material in a public key');
        next.set(signingKey.keyId, {
          keyId: signingKey.keyId,
          algorithm: signingKey.algorithm,
          key: await importJWK(jwk, signingKey.algorithm),
        });
      } catch (error) {
        this.options.logger.warn(
          { err: error, keyId: signingKey.keyId },
          'ignoring unusable signing key',
        );
      }
    }
    this.keys = next;
    this.fetchedAt = this.now();
  }
}
