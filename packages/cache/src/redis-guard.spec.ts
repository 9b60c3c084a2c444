import { RedisUnavailableError } from './redis-guard';

describe('RedisUnavailableError', () => {
  it('is a named Error with its message and no stack frames (raised per request in an outage)', () => {
    const error = new RedisUnavailableError('redis not ready (status reconnecting)');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('RedisUnavailableError');
    expect(error.message).toBe('redis not ready (status reconnecting)');
    expect(error.stack?.split('\n')).toEqual([
      'RedisUnavailableError: redis not ready (status reconnecting)',
    ]);
  });

  it('leaves the stack trace limit of other errors as it was', () => {
    const limit = Error.stackTraceLimit;
    new RedisUnavailableError('skipped');
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new Error('other').stack?.split('\n').length).toBeGreaterThan(1);
  });
});
