import {
  captureLogs,
  contextFrom,
  createLogger,
  outgoingContextHeaders,
  runWithContext,
} from './index';

describe('createLogger', () => {
  it('stamps lines with the current request context', async () => {
    const captured = captureLogs();
    const logger = createLogger({ name: 'test', destination: captured.stream });
    await runWithContext({ requestId: 'req-1' }, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      logger.info('inside');
      expect(outgoingContextHeaders()).toEqual({ 'x-request-id': 'req-1' });
    });
    logger.info('outside');
    const [inside, outside] = captured.lines();
    expect(inside).toMatchObject({
      msg: 'inside',
      requestId: 'req-1',
      service: 'test',
      level: 'info',
    });
    expect(outside?.requestId).toBeUndefined();
  });

  it('redacts sensitive keys at any depth and card numbers anywhere', () => {
    const captured = captureLogs();
    const logger = createLogger({ name: 'test', destination: captured.stream });
    logger.info(
      {
        request: {
          email: 'a@example.com',
          password: 'correct horse battery',
          nested: { refreshToken: 'rt_abc' },
        },
        headers: { authorization: 'Bearer eyJhbGciOi' },
        note: 'card 4242 4242 4242 4242 on file',
        orderId: '1234567890123',
      },
      'paid with 4111111111111111',
    );
    const text = captured.text();
    expect(text).not.toContain('correct horse');
    expect(text).not.toContain('rt_abc');
    expect(text).not.toContain('eyJhbGciOi');
    expect(text).not.toContain('4242 4242');
    expect(text).not.toContain('4111111111111111');
    expect(text).toContain('a@example.com');
    // Not Luhn-valid, so an ordinary id survives.
    expect(text).toContain('1234567890123');
  });

  it('serialises errors with their message', () => {
    const captured = captureLogs();
    const logger = createLogger({ name: 'test', destination: captured.stream });
    logger.error({ err: new Error('boom') }, 'failed');
    expect(captured.lines()[0]).toMatchObject({ msg: 'failed', err: { message: 'boom' } });
  });
});

describe('contextFrom', () => {
  it('keeps a valid request id and replaces a forged one', () => {
    expect(contextFrom({ requestId: 'abc-123' }).requestId).toBe('abc-123');
    const forged = contextFrom({ requestId: 'evil\n{"level":"fatal"}' }).requestId;
    expect(forged).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('drops a malformed traceparent', () => {
    expect(contextFrom({ traceparent: 'nope' }).traceparent).toBeUndefined();
    const valid = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    expect(contextFrom({ traceparent: valid }).traceparent).toBe(valid);
  });
});
