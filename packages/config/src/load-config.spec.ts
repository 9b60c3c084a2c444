import { inspect } from 'node:util';
import { ConfigError, env, loadConfig, Secret, z } from './index';

const schema = z.object({
  DATABASE_URL: env.url('postgres', 'postgresql'),
  DB_POOL_MAX: env.int(1, 100).default(10),
  FEATURE_ENABLED: env.bool().default(false),
  JWT_SECRET: env.secret(16),
  ORIGINS: env.list().default([]),
});

describe('loadConfig', () => {
  it('parses and applies defaults', () => {
    const config = loadConfig(schema, {
      DATABASE_URL: 'postgres://localhost/db',
      JWT_SECRET: 'a-very-long-secret-value',
      ORIGINS: 'a, b,,c',
    });
    expect(config.DB_POOL_MAX).toBe(10);
    expect(config.FEATURE_ENABLED).toBe(false);
    expect(config.ORIGINS).toEqual(['a', 'b', 'c']);
    expect(config.JWT_SECRET).toBeInstanceOf(Secret);
    expect(config.JWT_SECRET.reveal()).toBe('a-very-long-secret-value');
  });

  it('names every missing or malformed variable and never echoes a value', () => {
    let caught: unknown;
    try {
      loadConfig(schema, {
        DATABASE_URL: 'mysql://nope',
        DB_POOL_MAX: '500',
        JWT_SECRET: 'short-secret',
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const configError = caught as ConfigError;
    expect(configError.issues.map((issue) => issue.variable).sort()).toEqual([
      'DATABASE_URL',
      'DB_POOL_MAX',
      'JWT_SECRET',
    ]);
    expect(configError.message).toContain('DATABASE_URL: expected a URL (postgres, postgresql)');
    expect(configError.message).not.toContain('short-secret');
  });

  it('reports an absent required variable as required', () => {
    expect(() => loadConfig(schema, { JWT_SECRET: 'a-very-long-secret-value' })).toThrow(
      /DATABASE_URL: is required/,
    );
  });

  it('treats empty strings as absent', () => {
    const config = loadConfig(schema, {
      DATABASE_URL: 'postgres://localhost/db',
      JWT_SECRET: 'a-very-long-secret-value',
      DB_POOL_MAX: '',
    });
    expect(config.DB_POOL_MAX).toBe(10);
  });

  it('keeps secrets out of string, JSON and inspect output', () => {
    const secret = new Secret('hunter2-hunter2');
    expect(String(secret)).toBe('[redacted]');
    expect(JSON.stringify({ secret })).toBe('{"secret":"[redacted]"}');
    expect(inspect({ secret })).not.toContain('hunter2');
  });
});
