import { createServer, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { Secret } from '@strata/config';
import { createLogger } from '@strata/logger';
import { buildPspApp, type PspApp, type PspAppConfig } from './app';
import { verifyWebhookSignature } from './webhook-signature';

const API_KEY = 'test-api-key-123';
const WEBHOOK_SECRET = 'whsec_test_0123456789abcdef';
const logger = createLogger({ name: 'psp-test', level: 'silent' });

function config(overrides: Partial<PspAppConfig> = {}): PspAppConfig {
  return {
    PSP_API_KEY: new Secret(API_KEY),
    PSP_WEBHOOK_URL: undefined,
    PSP_WEBHOOK_SECRET: new Secret(WEBHOOK_SECRET),
    PSP_WEBHOOK_MAX_ATTEMPTS: 5,
    PSP_WEBHOOK_BACKOFF_MS: 20,
    PSP_LATENCY_MIN_MS: 0,
    PSP_LATENCY_MAX_MS: 0,
    PSP_DECLINE_RATE: 0,
    PSP_ERROR_RATE: 0,
    PSP_SEED: 42,
    ...overrides,
  };
}

const headers = (key?: string) => ({
  authorization: `Bearer ${API_KEY}`,
  ...(key === undefined ? {} : { 'idempotency-key': key }),
});

describe('psp-simulator', () => {
  let psp: PspApp;
  afterEach(async () => psp.server.close());

  it.each([
    [true, 2],
    [false, 0],
  ])(
    'PSP_REQUEST_LOGGING=%s: %i request log lines per request',
    async (requestLogging, expectedLines) => {
      const lines: string[] = [];
      const captured = createLogger({
        name: 'psp-test',
        level: 'info',
        destination: { write: (line: string) => void lines.push(line) },
      });
      psp = buildPspApp(config({ PSP_REQUEST_LOGGING: requestLogging }), captured);
      const response = await psp.server.inject({ method: 'GET', url: '/healthz' });
      expect(response.statusCode).toBeLessThan(500);
      const requestLines = lines.filter((line) =>
        /"msg":"(incoming request|request completed)"/.test(line),
      );
      expect(requestLines).toHaveLength(expectedLines);
    },
  );

  it('rejects requests without the API key', async () => {
    psp = buildPspApp(config(), logger);
    const response = await psp.server.inject({
      method: 'POST',
      url: '/v1/charges',
      payload: { amount: 100, currency: 'EUR' },
    });
    expect(response.statusCode).toBe(401);
    expect(psp.processor.charges.size).toBe(0);
  });

  it('charges once per idempotency key and replays the stored answer', async () => {
    psp = buildPspApp(config(), logger);
    const payload = { amount: 500, currency: 'EUR', reference: 'pay_1' };
    const responses = await Promise.all(
      Array.from({ length: 5 }, () =>
        psp.server.inject({ method: 'POST', url: '/v1/charges', headers: headers('k1'), payload }),
      ),
    );
    const bodies = new Set(
      responses.filter((response) => response.statusCode === 201).map((response) => response.body),
    );
    expect(bodies.size).toBe(1);
    expect(psp.processor.charges.size).toBe(1);
    const listed = await psp.server.inject({
      method: 'GET',
      url: '/v1/charges?reference=pay_1',
      headers: headers(),
    });
    expect(listed.json<{ data: unknown[] }>().data).toHaveLength(1);

    const reused = await psp.server.inject({
      method: 'POST',
      url: '/v1/charges',
      headers: headers('k1'),
      payload: { ...payload, amount: 501 },
    });
    expect(reused.statusCode).toBe(422);
    expect(psp.processor.charges.size).toBe(1);
  });

  it('answers 409 while the first request with a key is still running', async () => {
    psp = buildPspApp(config({ PSP_LATENCY_MIN_MS: 100, PSP_LATENCY_MAX_MS: 100 }), logger);
    const payload = { amount: 500, currency: 'EUR' };
    const first = psp.server.inject({
      method: 'POST',
      url: '/v1/charges',
      headers: headers('slow'),
      payload,
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = await psp.server.inject({
      method: 'POST',
      url: '/v1/charges',
      headers: headers('slow'),
      payload,
    });
    expect(second.statusCode).toBe(409);
    expect((await first).statusCode).toBe(201);
  });

  it('stores declines under the key; transient errors have no effect', async () => {
    psp = buildPspApp(config({ PSP_DECLINE_RATE: 1 }), logger);
    const payload = { amount: 500, currency: 'EUR' };
    const declined = await psp.server.inject({
      method: 'POST',
      url: '/v1/charges',
      headers: headers('d'),
      payload,
    });
    expect(declined.statusCode).toBe(402);
    expect(declined.json<{ failure_code: string }>().failure_code).toBe('card_declined');
    const replay = await psp.server.inject({
      method: 'POST',
      url: '/v1/charges',
      headers: headers('d'),
      payload,
    });
    expect(replay.body).toBe(declined.body);
    await psp.server.close();

    psp = buildPspApp(config({ PSP_ERROR_RATE: 1 }), logger);
    const failed = await psp.server.inject({
      method: 'POST',
      url: '/v1/charges',
      headers: headers('e'),
      payload,
    });
    expect(failed.statusCode).toBe(503);
    expect(psp.processor.charges.size).toBe(0);
  });

  it('never refunds more than was captured', async () => {
    psp = buildPspApp(config(), logger);
    const charge = await psp.server.inject({
      method: 'POST',
      url: '/v1/charges',
      headers: headers('c'),
      payload: { amount: 1000, currency: 'EUR' },
    });
    const chargeId = charge.json<{ id: string }>().id;
    const first = await psp.server.inject({
      method: 'POST',
      url: '/v1/refunds',
      headers: headers('r1'),
      payload: { charge: chargeId, amount: 700 },
    });
    expect(first.statusCode).toBe(201);
    const second = await psp.server.inject({
      method: 'POST',
      url: '/v1/refunds',
      headers: headers('r2'),
      payload: { charge: chargeId, amount: 301 },
    });
    expect(second.statusCode).toBe(422);
    expect(psp.processor.charges.get(chargeId)?.amount_refunded).toBe(700);
  });

  describe('webhooks', () => {
    let receiver: Server;
    afterEach(async () => new Promise<void>((resolve) => receiver.close(() => resolve())));

    it('signs deliveries and redelivers until acknowledged', async () => {
      const received: Array<{ status: number; verified: boolean; id: string }> = [];
      let calls = 0;
      receiver = createServer((request: IncomingMessage, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          calls += 1;
          const body = Buffer.concat(chunks);
          const status = calls < 3 ? 500 : 204;
          received.push({
            status,
            verified: verifyWebhookSignature(
              WEBHOOK_SECRET,
              String(request.headers['psp-timestamp']),
              body,
              String(request.headers['psp-signature']),
            ),
            id: (JSON.parse(body.toString()) as { id: string }).id,
          });
          response.statusCode = status;
          response.end();
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      const port = (receiver.address() as AddressInfo).port;
      psp = buildPspApp(config({ PSP_WEBHOOK_URL: `http://127.0.0.1:${port}/hook` }), logger);
      await psp.server.inject({
        method: 'POST',
        url: '/v1/charges',
        headers: headers('w'),
        payload: { amount: 100, currency: 'USD' },
      });

      const deadline = Date.now() + 5_000;
      while (received.length < 3 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received.map((delivery) => delivery.status)).toEqual([500, 500, 204]);
      expect(received.every((delivery) => delivery.verified)).toBe(true);
      expect(new Set(received.map((delivery) => delivery.id)).size).toBe(1);
      const events = await psp.server.inject({
        method: 'GET',
        url: '/v1/events',
        headers: headers(),
      });
      const deliveries = events.json<{
        data: Array<{ delivered: boolean; attempts: number; event: { type: string } }>;
      }>().data;
      expect(
        deliveries.map((delivery) => [delivery.event.type, delivery.delivered, delivery.attempts]),
      ).toEqual([['charge.succeeded', true, 3]]);
    });
  });
});
