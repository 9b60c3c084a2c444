import { type CryptoKey, SignJWT, generateKeyPair } from 'jose';
import { ApiError } from '../errors/api-error';
import { AccessTokenVerifier, type VerificationKeyLookup } from './access-token.verifier';
import { type VerificationKey } from './signing-keys';

const ISSUER = 'strata-user';
const AUDIENCE = 'strata-api';

interface TestKey {
  readonly verification: VerificationKey;
  readonly privateKey: CryptoKey;
}

async function newKey(keyId: string): Promise<TestKey> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA');
  return { verification: { keyId, algorithm: 'EdDSA', key: publicKey }, privateKey };
}

function sign(key: TestKey, subject: string, expiresInSeconds = 600): Promise<string> {
  const nowSeconds = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: 'member' })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.verification.keyId })
    .setSubject(subject)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + expiresInSeconds)
    .sign(key.privateKey);
}

/** A key store whose current keys the test swaps, as a refresh would. */
class FakeKeys implements VerificationKeyLookup {
  current = new Map<string, VerificationKey>();
  get(keyId: string): Promise<VerificationKey | undefined> {
    return Promise.resolve(this.current.get(keyId));
  }
}

describe('AccessTokenVerifier', () => {
  let key: TestKey;
  let keys: FakeKeys;
  let now: number;

  beforeAll(async () => {
    key = await newKey('k1');
  });

  beforeEach(() => {
    keys = new FakeKeys();
    keys.current.set('k1', key.verification);
    now = Date.now();
  });

  function verifier(cacheMaxEntries?: number): AccessTokenVerifier {
    return new AccessTokenVerifier({
      keys,
      issuer: ISSUER,
      audience: AUDIENCE,
      now: () => now,
      ...(cacheMaxEntries === undefined ? {} : { cacheMaxEntries }),
    });
  }

  it('verifies a token and answers it again from memory (the same result object)', async () => {
    const tokens = verifier();
    const token = await sign(key, 'user-1');
    const first = await tokens.verify(token);
    expect(first.actor.userId).toBe('user-1');
    expect(await tokens.verify(token)).toBe(first);
  });

  it('never answers a different string from memory: a tampered token is rejected', async () => {
    const tokens = verifier();
    const token = await sign(key, 'user-1');
    await tokens.verify(token);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    await expect(tokens.verify(`${header}.${payload}.${flipped}`)).rejects.toMatchObject({
      statusCode: 401,
    });
  });

  it('re-verifies once the token has expired by the clock', async () => {
    const tokens = verifier();
    const token = await sign(key, 'user-1', 60);
    const first = await tokens.verify(token);
    now = first.expiresAtMs; // expired for the cache; jose's own clock still accepts it
    const second = await tokens.verify(token);
    expect(second).not.toBe(first);
    expect(second).toEqual(first);
  });

  it('re-verifies after a key refresh, and rejects once the key is withdrawn', async () => {
    const tokens = verifier();
    const token = await sign(key, 'user-1');
    const first = await tokens.verify(token);

    keys.current.set('k1', { ...key.verification }); // a refresh: same key, new object
    const second = await tokens.verify(token);
    expect(second).not.toBe(first);
    expect(await tokens.verify(token)).toBe(second);

    keys.current.delete('k1'); // the user service no longer lists the key
    await expect(tokens.verify(token)).rejects.toBeInstanceOf(ApiError);
    await expect(tokens.verify(token)).rejects.toMatchObject({ statusCode: 401 });
  });

  it('keeps at most cacheMaxEntries tokens, dropping the oldest first', async () => {
    const tokens = verifier(2);
    const [a, b, c] = await Promise.all([
      sign(key, 'user-a'),
      sign(key, 'user-b'),
      sign(key, 'user-c'),
    ]);
    const first = await tokens.verify(a);
    const second = await tokens.verify(b);
    await tokens.verify(c); // a is dropped
    expect(await tokens.verify(b)).toBe(second);
    expect(await tokens.verify(a)).not.toBe(first);
  });

  it('with cacheMaxEntries 0 verifies every time', async () => {
    const tokens = verifier(0);
    const token = await sign(key, 'user-1');
    const first = await tokens.verify(token);
    expect(await tokens.verify(token)).not.toBe(first);
  });

  it('answers 503, not 401, when the keys cannot be fetched', async () => {
    const tokens = new AccessTokenVerifier({
      keys: { get: () => Promise.reject(new Error('user service down')) },
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    await expect(tokens.verify(await sign(key, 'user-1'))).rejects.toMatchObject({
      statusCode: 503,
    });
  });
});
