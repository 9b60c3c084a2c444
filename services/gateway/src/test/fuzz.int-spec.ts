import { randomUUID } from 'node:crypto';
import { type InjectOptions } from 'fastify';
import { signUp, useGatewaySuite } from '../testing/gateway-harness';

interface Operation {
  parameters?: Array<{ in: string; name: string }>;
  requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> };
}

const WEIRD_STRINGS = [
  '',
  ' ',
  'x',
  '%00',
  '..%2F..%2Fetc%2Fpasswd',
  '\u0000',
  'é'.repeat(150),
  'a'.repeat(300),
  '{"$gt":""}',
  "' OR 1=1 --",
  '-1',
  '1e308',
  'null',
  '[]',
  randomUUID(),
];
const WEIRD_VALUES: unknown[] = [
  null,
  true,
  -1,
  0,
  1.5,
  1e308,
  Number.MAX_SAFE_INTEGER + 2,
  '',
  'x'.repeat(5_000),
  [],
  [1, 2],
  {},
  { nested: { deep: [{}] } },
  '<script>alert(1)</script>',
];
const WEIRD_BODIES = [
  '{',
  '[]',
  'null',
  '"string"',
  '{"__proto__":{"polluted":true}}',
  '{"a":'.repeat(200),
  Buffer.from([0xff, 0xfe, 0x00]),
];

// Sends malformed bodies, headers, path parameters and query strings to every operation of the
// OpenAPI document; no answer may be a 5xx (downstream fakes validate like the real services).
describe('fuzz from the OpenAPI document', () => {
  const suite = useGatewaySuite({
    env: {
      RATE_LIMIT_MAX: '1000000',
      LOGIN_FAILURE_LIMIT: '10000',
      PASSWORD_RESET_LIMIT: '10000',
    },
  });

  it('finds no 5xx', async () => {
    const user = await signUp(suite.gateway.app);
    const document = (
      await suite.gateway.app.inject({ method: 'GET', url: '/openapi.json' })
    ).json<{
      paths: Record<string, Record<string, Operation>>;
    }>();
    const requests: InjectOptions[] = [];
    const authorizations = [undefined, user.authorization, 'Bearer x.y.z'];

    for (const [template, operations] of Object.entries(document.paths)) {
      if (template === '/v1/events') continue; // WebSocket: covered by its own tests
      for (const [method, operation] of Object.entries(operations)) {
        const pathParameters = (operation.parameters ?? [])
          .filter((parameter) => parameter.in === 'path')
          .map((parameter) => parameter.name);
        const queryParameters = (operation.parameters ?? [])
          .filter((parameter) => parameter.in === 'query')
          .map((parameter) => parameter.name);
        const bodyProperties = Object.keys(
          operation.requestBody?.content?.['application/json']?.schema?.properties ?? {},
        );
        const url = (value: string) =>
          pathParameters.reduce(
            (path, name) => path.replace(`{${name}}`, encodeURIComponent(value)),
            template,
          );
        const base = (authorization: string | undefined): InjectOptions => ({
          method: method.toUpperCase() as InjectOptions['method'],
          url: url(randomUUID()),
          headers: { ...(authorization ? { authorization } : {}), 'idempotency-key': randomUUID() },
        });
        for (const authorization of authorizations) {
          requests.push(base(authorization));
          for (const value of WEIRD_STRINGS) {
            requests.push({ ...base(authorization), url: url(value) });
            for (const name of queryParameters)
              requests.push({
                ...base(authorization),
                url: `${url(randomUUID())}?${name}=${encodeURIComponent(value)}`,
              });
          }
          requests.push({
            ...base(authorization),
            url: `${url(randomUUID())}?unknown=1&limit=5&limit=6`,
          });
          if (method === 'get' || method === 'delete') continue;
          for (const body of WEIRD_BODIES) {
            requests.push({
              ...base(authorization),
              headers: { ...base(authorization).headers, 'content-type': 'application/json' },
              payload: body,
            });
          }
          requests.push({
            ...base(authorization),
            headers: { ...base(authorization).headers, 'content-type': 'text/xml' },
            payload: '<a/>',
          });
          requests.push({
            ...base(authorization),
            headers: {
              ...base(authorization).headers,
              'content-type': 'multipart/form-data; boundary=zzz',
            },
            payload: '--zzz\r\nbroken',
          });
          requests.push({
            ...base(authorization),
            headers: { ...base(authorization).headers, 'idempotency-key': '\u00e9\u00e9' },
            payload: {},
          });
          for (const property of bodyProperties) {
            for (const value of WEIRD_VALUES)
              requests.push({ ...base(authorization), payload: { [property]: value } });
          }
        }
      }
    }

    for (const authorization of ['Basic Zm9vOmJhcg==', `Bearer ${'a'.repeat(5000)}`, 'Bearer']) {
      requests.push({ method: 'GET', url: '/v1/users/me', headers: { authorization } });
    }
    const failures: string[] = [];
    const started = Date.now();
    for (const request of requests) {
      const response = await Promise.race([
        suite.gateway.app.inject({
          ...request,
          headers: { ...request.headers, 'x-request-id': 'fuzz\r\nInjected: yes' },
        }),
        new Promise<never>((_, reject) =>
          setTimeout(
            () => reject(new Error(`hung: ${String(request.method)} ${request.url as string}`)),
            5_000,
          ).unref(),
        ),
      ]);
      if (response.statusCode >= 500)
        failures.push(
          `${String(request.method)} ${request.url as string} → ${response.statusCode} ${response.body.slice(0, 200)}`,
        );
      expect(response.headers.injected).toBeUndefined();
    }
    expect(requests.length).toBeGreaterThan(1_000);
    expect(Date.now() - started).toBeLessThan(110_000);
    expect(failures).toEqual([]);
  }, 120_000);
});
