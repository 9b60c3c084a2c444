import {
  DEFAULT_POSTGRES_IMAGE,
  DEFAULT_REDIS_IMAGE,
  publishTestServerUrls,
  readTestEnvironment,
  unpublishTestServerUrls,
} from './test-environment';

describe('readTestEnvironment', () => {
  it('reads the URLs and images from the given variables', () => {
    expect(
      readTestEnvironment({
        TEST_DATABASE_URL: 'postgres://postgres@db:5432/postgres',
        TEST_REDIS_URL: 'redis://cache:6379',
        TEST_POSTGRES_IMAGE: 'localhost/postgres:16',
        TEST_REDIS_IMAGE: 'localhost/redis:7',
      }),
    ).toEqual({
      databaseUrl: 'postgres://postgres@db:5432/postgres',
      redisUrl: 'redis://cache:6379',
      postgresImage: 'localhost/postgres:16',
      redisImage: 'localhost/redis:7',
    });
  });

  it('treats empty variables as unset and defaults the images', () => {
    expect(
      readTestEnvironment({ TEST_DATABASE_URL: '', TEST_REDIS_URL: '  ', TEST_POSTGRES_IMAGE: '' }),
    ).toEqual({
      databaseUrl: undefined,
      redisUrl: undefined,
      postgresImage: DEFAULT_POSTGRES_IMAGE,
      redisImage: DEFAULT_REDIS_IMAGE,
    });
    expect(DEFAULT_POSTGRES_IMAGE).toBe('postgres:16-alpine');
    expect(DEFAULT_REDIS_IMAGE).toBe('redis:7-alpine');
  });
});

describe('publishTestServerUrls / unpublishTestServerUrls', () => {
  it('exports the URLs and removes only the values it exported', () => {
    const target: Record<string, string | undefined> = { TEST_REDIS_URL: 'redis://kept:6379' };
    publishTestServerUrls({ databaseUrl: 'postgres://a/postgres' }, target);
    expect(target).toEqual({
      TEST_DATABASE_URL: 'postgres://a/postgres',
      TEST_REDIS_URL: 'redis://kept:6379',
    });

    unpublishTestServerUrls(
      { databaseUrl: 'postgres://a/postgres', redisUrl: 'redis://other:6379' },
      target,
    );
    expect(target).toEqual({ TEST_REDIS_URL: 'redis://kept:6379' });
  });
});
