import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';

/**
 * OWASP Password Storage Cheat Sheet baseline for argon2id: 19 MiB, 2 iterations, 1 lane.
 * Changing these is safe: stored hashes carry their own parameters, and a login with an older hash
 * rehashes it (see {@link PasswordHasher.needsRehash}).
 */
export const ARGON2_PARAMETERS = {
  type: argon2.argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

export interface Argon2Parameters {
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

/**
 * Passwords are NFKC-normalised before hashing, so the same password typed on two keyboards that
 * produce different Unicode forms still matches (NIST SP 800-63B 5.1.1.2).
 */
function normalise(password: string): string {
  return password.normalize('NFKC');
}

export class PasswordHasher {
  #dummyHash: Promise<string> | undefined;

  constructor(private readonly parameters: Argon2Parameters = ARGON2_PARAMETERS) {}

  hash(password: string): Promise<string> {
    return argon2.hash(normalise(password), { ...this.parameters, type: argon2.argon2id });
  }

  /** False for a wrong password and for a hash that cannot be parsed (never throws on bad data). */
  async verify(storedHash: string, password: string): Promise<boolean> {
    try {
      return await argon2.verify(storedHash, normalise(password));
    } catch {
      return false;
    }
  }

  /**
   * Burns the same time as {@link verify} against a real hash, for a login with an unknown email,
   * so response time does not tell which emails have accounts. Always false.
   */
  async verifyDummy(password: string): Promise<false> {
    await this.verify(await this.dummyHash(), password);
    return false;
  }

  /** True when a stored hash was made with other parameters than the current ones. */
  needsRehash(storedHash: string): boolean {
    return argon2.needsRehash(storedHash, this.parameters);
  }

  /** Computes the dummy hash ahead of the first unknown-email login (called at start-up). */
  async warmUp(): Promise<void> {
    await this.dummyHash();
  }

  private dummyHash(): Promise<string> {
    this.#dummyHash ??= this.hash(randomBytes(24).toString('base64url'));
    return this.#dummyHash;
  }
}

/**
 * Reads the parameters a PHC string was made with (`$argon2id$v=19$m=19456,p=1,t=2$salt$hash`;
 * the parameter order varies between libraries), for tests and diagnostics.
 */
export function readArgon2Parameters(
  storedHash: string,
): { algorithm: string; version: number } & Argon2Parameters {
  const [, algorithm, versionPart, parameterPart] = storedHash.split('$');
  if (!algorithm?.startsWith('argon2') || !versionPart?.startsWith('v=') || !parameterPart) {
    throw new Error('not an argon2 PHC string');
  }
  const parameters = new Map(
    parameterPart.split(',').map((pair) => {
      const [name = '', value = ''] = pair.split('=');
      return [name, Number(value)] as const;
    }),
  );
  return {
    algorithm,
    version: Number(versionPart.slice(2)),
    memoryCost: parameters.get('m') ?? Number.NaN,
    timeCost: parameters.get('t') ?? Number.NaN,
    parallelism: parameters.get('p') ?? Number.NaN,
  };
}
