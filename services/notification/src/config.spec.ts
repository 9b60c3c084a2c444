import { ConfigError, loadConfig } from '@strata/config';
import { DEFAULT_DASHBOARD_QUEUES, mailFromDomain, notificationConfigSchema } from './config';

const REQUIRED = {
  REDIS_QUEUE_URL: 'redis://127.0.0.1:6379',
  USER_SERVICE_URL: 'dns:///user:50051',
  SMTP_URL: 'smtp://mailer:s3cret@mail.example:587',
  MAIL_FROM: 'Strata <no-reply@strata.example>',
  PUBLIC_WEB_URL: 'https://strata.example',
  ADMIN_TOKEN: 'a'.repeat(24),
};

function variablesOf(error: unknown): string[] {
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).issues.map((issue) => issue.variable);
}

describe('notification config', () => {
  it('has production defaults and hides secrets', () => {
    const config = loadConfig(notificationConfigSchema, REQUIRED);
    expect(config).toMatchObject({
      QUEUE_PREFIX: 'bull',
      EMAIL_WORKER_CONCURRENCY: 10,
      ADMIN_PORT: 9400,
      METRICS_PORT: 9464,
      QUEUE_NAMES: DEFAULT_DASHBOARD_QUEUES,
      EMAIL_SEND_LEASE_MS: 120_000,
    });
    expect(config.SMTP_URL.reveal()).toBe(REQUIRED.SMTP_URL);
    expect(JSON.stringify(config)).not.toContain('s3cret');
    expect(JSON.stringify(config)).not.toContain('a'.repeat(24));
  });

  it('names every missing variable', () => {
    const error = (() => {
      try {
        loadConfig(notificationConfigSchema, {});
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(variablesOf(error)).toEqual(
      expect.arrayContaining([
        'REDIS_QUEUE_URL',
        'USER_SERVICE_URL',
        'SMTP_URL',
        'MAIL_FROM',
        'PUBLIC_WEB_URL',
      ]),
    );
  });

  it('refuses a dashboard without credentials, and half a Basic pair', () => {
    const { ADMIN_TOKEN: _token, ...withoutToken } = REQUIRED;
    expect(() => loadConfig(notificationConfigSchema, withoutToken)).toThrow(
      /ADMIN_TOKEN: the dashboard needs credentials/,
    );
    expect(() =>
      loadConfig(notificationConfigSchema, { ...withoutToken, ADMIN_USER: 'ops' }),
    ).toThrow(/ADMIN_PASSWORD: ADMIN_USER and ADMIN_PASSWORD go together/);
    expect(
      loadConfig(notificationConfigSchema, {
        ...withoutToken,
        ADMIN_USER: 'ops',
        ADMIN_PASSWORD: 'long enough pw',
      }).ADMIN_USER,
    ).toBe('ops');
    expect(() =>
      loadConfig(notificationConfigSchema, { ...REQUIRED, ADMIN_TOKEN: 'short' }),
    ).toThrow(/ADMIN_TOKEN/);
  });

  it('validates SMTP_URL, MAIL_FROM and QUEUE_NAMES', () => {
    expect(() =>
      loadConfig(notificationConfigSchema, { ...REQUIRED, SMTP_URL: 'http://mail' }),
    ).toThrow(/SMTP_URL/);
    expect(() =>
      loadConfig(notificationConfigSchema, { ...REQUIRED, MAIL_FROM: 'Strata' }),
    ).toThrow(/MAIL_FROM/);
    expect(() => loadConfig(notificationConfigSchema, { ...REQUIRED, QUEUE_NAMES: 'a:b' })).toThrow(
      /QUEUE_NAMES/,
    );
    expect(
      loadConfig(notificationConfigSchema, { ...REQUIRED, QUEUE_NAMES: ' a, b ,' }).QUEUE_NAMES,
    ).toEqual(['a', 'b']);
  });

  it('takes the Message-ID domain from MAIL_FROM', () => {
    expect(mailFromDomain('Strata <no-reply@strata.example>')).toBe('strata.example');
    expect(mailFromDomain('no-reply@mail.strata.example')).toBe('mail.strata.example');
  });
});
