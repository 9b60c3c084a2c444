import {
  deleteKeys,
  signUp,
  startFakeServices,
  startGateway,
  uniquePrefix,
  type FakeServices,
  type GatewayUnderTest,
} from '../testing/gateway-harness';

describe('gateway smoke', () => {
  let fakes: FakeServices;
  let gateway: GatewayUnderTest;
  const prefix = uniquePrefix();

  beforeAll(async () => {
    fakes = await startFakeServices();
    gateway = await startGateway({ target: fakes.target, keyPrefix: prefix });
  });
  afterAll(async () => {
    await gateway?.app.close();
    await fakes?.close();
    await deleteKeys(prefix);
  });

  it('boots, registers, signs in and reads /v1/users/me', async () => {
    const user = await signUp(gateway.app);
    const me = await gateway.app.inject({
      method: 'GET',
      url: '/v1/users/me',
      headers: { authorization: user.authorization },
    });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ id: user.id, email: user.email });
    const ready = await gateway.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.json()).toEqual({
      status: 'ready',
      checks: { acceptingTraffic: true, redis: true, user: true, payment: true, content: true },
    });
  });
});
