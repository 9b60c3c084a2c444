import {
  contentServiceConfigSchema,
  mediaSandboxConfigSchema,
  mediaSandboxEnvironment,
  type MediaSandboxConfig,
} from './config';

describe('media sandbox config', () => {
  it('hands the sandbox exactly what the worker parsed, through the environment', () => {
    const config = contentServiceConfigSchema.parse({
      NODE_ENV: 'production',
      LOG_LEVEL: 'debug',
      DATABASE_URL: 'postgres://content:secret@db.internal:5432/content',
      DB_STATEMENT_TIMEOUT_MS: '2500',
      REDIS_CACHE_URL: 'redis://cache:6379',
      REDIS_QUEUE_URL: 'redis://queue:6379',
      REDIS_EVENTS_URL: 'redis://events:6379/2',
      USER_SERVICE_URL: 'dns:///user:50051',
      MEDIA_STORAGE_DIR: '/data/media',
      IMAGE_MAX_PIXELS: '1234567',
    });
    const environment = mediaSandboxEnvironment(config);
    const expected: MediaSandboxConfig = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'debug',
      DATABASE_URL: 'postgres://content:secret@db.internal:5432/content',
      DB_STATEMENT_TIMEOUT_MS: 2500,
      REDIS_EVENTS_URL: 'redis://events:6379/2',
      MEDIA_STORAGE_DIR: '/data/media',
      IMAGE_MAX_PIXELS: 1234567,
    };
    expect(mediaSandboxConfigSchema.parse(environment)).toEqual(expected);
    // Only what the sandbox uses: no cache or queue URLs, no gRPC settings.
    expect(Object.keys(environment).sort()).toEqual(Object.keys(expected).sort());
  });
});
