import { generateKeyPairSync } from 'node:crypto';
import { ConfigError, loadConfig } from '@strata/config';
import { userServiceConfigSchema } from './config';

const pem = generateKeyPairSync('ed25519')
  .privateKey.export({ format: 'pem', type: 'pkcs8' })
  .toString();

const complete = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/user',
  REDIS_CACHE_URL: 'redis://127.0.0.1:6379/0',
  REDIS_QUEUE_URL: 'redis://127.0.0.1:6379/1',
  JWT_PRIVATE_KEY: pem,
  JWT_KEY_ID: 'key-1',
  JWT_ISSUER: 'strata-user',
  JWT_AUDIENCE: 'strata',
};

function issuesOf(source: Record<string, string>): string[] {
  try {
    loadConfig(userServiceConfigSchema, source);
  } catch (error) {
    if (error instanceof ConfigError)
      return error.issues.map((issue) => `${issue.variable}: ${issue.message}`);
    throw error;
  }
  return [];
}

describe('user service config', () => {
  it('applies defaults and keeps the key secret', () => {
    const config = loadConfig(userServiceConfigSchema, complete);
    expect(config.USER_GRPC_PORT).toBe(50051);
    expect(config.ACCESS_TOKEN_TTL_SECONDS).toBe(900);
    expect(config.REFRESH_TOKEN_TTL_DAYS).toBe(30);
    expect(config.METRICS_PORT).toBeUndefined();
    expect(JSON.stringify(config)).not.toContain('PRIVATE KEY');
    expect(config.JWT_PRIVATE_KEY.reveal()).toBe(pem);
  });

  it('names a missing required variable', () => {
    const { JWT_KEY_ID: _omitted, ...rest } = complete;
    expect(issuesOf(rest)).toEqual(['JWT_KEY_ID: is required']);
  });

  it('caps the access token lifetime at 15 minutes', () => {
    expect(issuesOf({ ...complete, ACCESS_TOKEN_TTL_SECONDS: '901' })).toEqual([
      expect.stringMatching(/^ACCESS_TOKEN_TTL_SECONDS: /),
    ]);
  });

  it('accepts a PEM with escaped newlines and rejects an unusable key without echoing it', () => {
    expect(
      loadConfig(userServiceConfigSchema, {
        ...complete,
        JWT_PRIVATE_KEY: pem.replace(/\n/g, '\\n'),
      }).JWT_PRIVATE_KEY.reveal(),
    ).toBe(pem);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    const issues = issuesOf({ ...complete, JWT_PRIVATE_KEY: rsa });
    expect(issues).toEqual([
      'JWT_PRIVATE_KEY: expected an Ed25519 or P-256 (prime256v1) private key',
    ]);
    expect(issues.join('')).not.toContain('PRIVATE KEY-----');
  });
});
