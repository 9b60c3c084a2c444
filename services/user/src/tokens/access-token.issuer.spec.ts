import { generateKeyPairSync } from 'node:crypto';
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { AccessTokenIssuer, parseSigningKey } from './access-token.issuer';

function pkcs8(type: 'ed25519' | 'p256' | 'rsa'): string {
  const pair =
    type === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : type === 'p256'
        ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

const options = { keyId: 'key-1', issuer: 'strata-user', audience: 'strata', ttlSeconds: 900 };

describe('AccessTokenIssuer', () => {
  it.each([
    ['ed25519', 'EdDSA'],
    ['p256', 'ES256'],
  ] as const)(
    'signs %s tokens a verifier checks with the published JWK alone',
    async (type, algorithm) => {
      const issuer = new AccessTokenIssuer({ ...options, privateKeyPem: pkcs8(type) });
      const [key] = issuer.signingKeys();
      expect(key).toMatchObject({ keyId: 'key-1', algorithm });
      expect(key.publicJwk).toMatchObject({ kid: 'key-1', alg: algorithm, use: 'sig' });
      expect(key.publicJwk).not.toHaveProperty('d');

      const { token, expiresIn } = await issuer.issue({ userId: 'user-1', role: 'admin' });
      expect(decodeProtectedHeader(token)).toEqual({ alg: algorithm, kid: 'key-1', typ: 'at+jwt' });
      const publicKey = await importJWK(key.publicJwk, algorithm);
      const { payload } = await jwtVerify(token, publicKey, {
        algorithms: [algorithm],
        issuer: 'strata-user',
        audience: 'strata',
      });
      expect(payload).toMatchObject({
        sub: 'user-1',
        role: 'admin',
        iss: 'strata-user',
        aud: 'strata',
      });
      expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
      expect(payload.exp! - payload.iat!).toBe(900);
      expect(expiresIn).toBe(900);
    },
  );

  it('gives each token its own jti', async () => {
    const issuer = new AccessTokenIssuer({ ...options, privateKeyPem: pkcs8('ed25519') });
    const first = await issuer.issue({ userId: 'user-1', role: 'member' });
    const second = await issuer.issue({ userId: 'user-1', role: 'member' });
    const { payload: a } = await jwtVerify(
      first.token,
      await importJWK(issuer.signingKeys()[0].publicJwk, 'EdDSA'),
    );
    const { payload: b } = await jwtVerify(
      second.token,
      await importJWK(issuer.signingKeys()[0].publicJwk, 'EdDSA'),
    );
    expect(a.jti).not.toBe(b.jti);
  });

  it('refuses keys of other types and garbage', () => {
    expect(() => parseSigningKey(pkcs8('rsa'))).toThrow(
      'expected an Ed25519 or P-256 (prime256v1) private key',
    );
    expect(() =>
      parseSigningKey('-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----'),
    ).toThrow('expected a PKCS#8 PEM private key');
  });
});
