// Access tokens for seeded users, signed with the cluster's own development key (the launcher
// writes it to <run dir>/keys/jwt-ed25519.pem and gives it to the user service), in the user
// service's format. Logging 1,000 users in would spend minutes in argon2id, which is not what the
// read and WebSocket scenarios measure; the gateway verifies these exactly like issued ones.
import { createPrivateKey, randomUUID, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const KEY_ID = 'dev-1'; // deploy/local/start.mjs JWT_KEY_ID
const ISSUER = 'strata-user';
const AUDIENCE = 'strata-api';
const TTL_SECONDS = 3_600;

const base64url = (value: string | Buffer): string => Buffer.from(value).toString('base64url');

export function accessTokenMinter(runDir: string): (userId: string) => string {
  const key = createPrivateKey(readFileSync(join(runDir, 'keys', 'jwt-ed25519.pem'), 'utf8'));
  const header = base64url(JSON.stringify({ alg: 'EdDSA', kid: KEY_ID, typ: 'at+jwt' }));
  return (userId) => {
    const now = Math.floor(Date.now() / 1_000);
    const payload = base64url(
      JSON.stringify({
        role: 'member',
        iss: ISSUER,
        aud: AUDIENCE,
        sub: userId,
        jti: randomUUID(),
        iat: now,
        exp: now + TTL_SECONDS,
      }),
    );
    const signature = sign(null, Buffer.from(`${header}.${payload}`), key);
    return `${header}.${payload}.${base64url(signature)}`;
  };
}
