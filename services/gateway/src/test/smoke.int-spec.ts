import { captureLogs, createLogger } from '@strata/logger';
import { signUp, useGatewaySuite } from '../testing/gateway-harness';

describe('gateway smoke', () => {
  const logs = captureLogs();
  const suite = useGatewaySuite({
    logger: createLogger({ name: 'gateway-test', level: 'info', destination: logs.stream }),
  });

  it('boots, registers, signs in and reads /v1/users/me', async () => {
    const user = await signUp(suite.gateway.app);
    const me = await suite.gateway.app.inject({
      method: 'GET',
      url: '/v1/users/me',
      headers: { authorization: user.authorization },
    });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ id: user.id, email: user.email });
    const ready = await suite.gateway.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.json()).toEqual({
      status: 'ready',
      checks: { acceptingTraffic: true, redis: true, user: true, payment: true, content: true },
    });
  });

  it('logs each request under `requestId`, the id it returns in X-Request-Id', async () => {
    const kept = await suite.gateway.app.inject({
      method: 'GET',
      url: '/v1/nope',
      headers: { 'x-request-id': 'smoke-request-1' },
    });
    expect(kept.headers['x-request-id']).toBe('smoke-request-1');
    const generated = await suite.gateway.app.inject({ method: 'GET', url: '/healthz' });
    const generatedId = generated.headers['x-request-id'];
    expect(generatedId).toMatch(/^[0-9a-f-]{36}$/);

    const lines = logs.lines();
    for (const requestId of ['smoke-request-1', generatedId]) {
      const messages = lines.filter((line) => line.requestId === requestId).map((line) => line.msg);
      expect(messages).toEqual(expect.arrayContaining(['incoming request', 'request completed']));
    }
    // One key across the platform (gRPC services and jobs log `requestId` too).
    expect(lines.filter((line) => 'reqId' in line)).toEqual([]);
  });
});
