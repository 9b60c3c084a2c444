import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import { CLOSE_TOKEN_EXPIRED, EVENTS_SUBPROTOCOL } from '../events/events.routes';
import {
  deleteKeys,
  signUp,
  startFakeServices,
  startGateway,
  uniquePrefix,
  type FakeServices,
  type GatewayUnderTest,
} from '../testing/gateway-harness';

// Two gateway replicas sharing one Redis (and the same fake services), as behind Nginx.
describe('two gateway replicas sharing Redis', () => {
  let fakes: FakeServices;
  let replicaA: GatewayUnderTest;
  let replicaB: GatewayUnderTest;
  const prefix = uniquePrefix();
  const env = {
    RATE_LIMIT_MAX: '100000',
    LOGIN_FAILURE_LIMIT: '3',
    PASSWORD_RESET_LIMIT: '2',
    WS_HEARTBEAT_INTERVAL_MS: '200',
  };

  beforeAll(async () => {
    fakes = await startFakeServices();
    replicaA = await startGateway({ target: fakes.target, keyPrefix: prefix, listen: true, env });
    replicaB = await startGateway({ target: fakes.target, keyPrefix: prefix, listen: true, env });
  });
  afterAll(async () => {
    await Promise.all([replicaA?.app.close(), replicaB?.app.close()]);
    await fakes?.close();
    await deleteKeys(prefix);
  });

  let clientCounter = Math.floor(Math.random() * 60_000);
  function clientHeaders(): Record<string, string> {
    // Nginx sets X-Forwarded-For; loopback is a trusted proxy, so each call is a distinct client.
    clientCounter += 1;
    return { 'x-forwarded-for': `198.18.${(clientCounter >> 8) & 255}.${clientCounter & 255}` };
  }

  describe('rate limits', () => {
    it('counts one client across both replicas and answers 429 with Retry-After', async () => {
      // A pair with a small general limit of its own (the suite's pair has a huge one).
      const limitedPrefix = uniquePrefix();
      const limitedEnv = { RATE_LIMIT_MAX: '6' };
      const limitedA = await startGateway({
        target: fakes.target,
        keyPrefix: limitedPrefix,
        listen: true,
        env: limitedEnv,
      });
      const limitedB = await startGateway({
        target: fakes.target,
        keyPrefix: limitedPrefix,
        listen: true,
        env: limitedEnv,
      });
      try {
        await expectLimited(limitedA, limitedB);
      } finally {
        await Promise.all([limitedA.app.close(), limitedB.app.close()]);
        await deleteKeys(limitedPrefix);
      }
    });

    async function expectLimited(first: GatewayUnderTest, second: GatewayUnderTest): Promise<void> {
      const headers = clientHeaders();
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 8; attempt += 1) {
        const replica = attempt % 2 === 0 ? first : second;
        const response = await fetch(`${replica.url}/v1/articles`, { headers });
        statuses.push(response.status);
        if (response.status === 429) {
          expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
          const body = (await response.json()) as { error: { code: string } };
          expect(body.error.code).toBe('RESOURCE_EXHAUSTED');
        } else {
          await response.arrayBuffer();
        }
      }
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
      // Another client is unaffected.
      expect((await fetch(`${first.url}/v1/articles`, { headers: clientHeaders() })).status).toBe(
        200,
      );
    }

    it('locks out an account+client after repeated login failures on any replica, even with the right password', async () => {
      const user = await signUp(replicaA.app);
      const headers = { ...clientHeaders(), 'content-type': 'application/json' };
      const login = (url: string, password: string) =>
        fetch(`${url}/v1/auth/login`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ email: user.email, password }),
        });
      expect((await login(replicaA.url, 'wrong password 1')).status).toBe(401);
      expect((await login(replicaB.url, 'wrong password 2')).status).toBe(401);
      expect((await login(replicaA.url, 'wrong password 3')).status).toBe(401);
      const locked = await login(replicaB.url, user.password);
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
      // The same account from another client still works.
      const other = await fetch(`${replicaA.url}/v1/auth/login`, {
        method: 'POST',
        headers: { ...clientHeaders(), 'content-type': 'application/json' },
        body: JSON.stringify({ email: user.email, password: user.password }),
      });
      expect({ status: other.status, body: await other.text() }).toMatchObject({ status: 200 });
    });

    it('limits password-reset requests per email and client across replicas', async () => {
      const headers = { ...clientHeaders(), 'content-type': 'application/json' };
      const body = JSON.stringify({ email: `${randomUUID()}@example.test` });
      const statuses = [];
      for (const replica of [replicaA, replicaB, replicaA]) {
        statuses.push(
          (await fetch(`${replica.url}/v1/auth/password-reset`, { method: 'POST', headers, body }))
            .status,
        );
      }
      expect(statuses).toEqual([202, 202, 429]);
    });
  });

  describe('page cache', () => {
    it('shares pages and ETags across replicas, and a write on one makes the next read fresh on the other', async () => {
      const author = await signUp(replicaA.app, 'Cache Author');
      const created = await replicaA.app.inject({
        method: 'POST',
        url: '/v1/articles',
        headers: { authorization: author.authorization },
        payload: { title: 'Version one', body: 'text' },
      });
      const { id } = created.json<{ id: string }>();
      await replicaA.app.inject({
        method: 'POST',
        url: `/v1/articles/${id}/publish`,
        headers: { authorization: author.authorization },
      });

      const first = await fetch(`${replicaA.url}/v1/articles/${id}`, { headers: clientHeaders() });
      expect(first.status).toBe(200);
      expect(first.headers.get('cache-control')).toBe('public, max-age=0, must-revalidate');
      const etag = first.headers.get('etag') ?? '';
      expect(((await first.json()) as { title: string }).title).toBe('Version one');

      // Served from the shared cache on B: no downstream call, same ETag → 304.
      fakes.content.articles.get(id)!.title = 'Changed behind the gateway';
      const revalidated = await fetch(`${replicaB.url}/v1/articles/${id}`, {
        headers: { ...clientHeaders(), 'if-none-match': etag },
      });
      expect(revalidated.status).toBe(304);
      expect(await revalidated.text()).toBe('');

      const patched = await fetch(`${replicaB.url}/v1/articles/${id}`, {
        method: 'PATCH',
        headers: {
          ...clientHeaders(),
          authorization: author.authorization,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ title: 'Version two' }),
      });
      expect(patched.status).toBe(200);

      const fresh = await fetch(`${replicaA.url}/v1/articles/${id}`, {
        headers: { ...clientHeaders(), 'if-none-match': etag },
      });
      expect(fresh.status).toBe(200);
      expect(fresh.headers.get('etag')).not.toBe(etag);
      expect(((await fresh.json()) as { title: string }).title).toBe('Version two');

      const list = await fetch(`${replicaB.url}/v1/articles?author=${author.id}`, {
        headers: clientHeaders(),
      });
      expect(
        ((await list.json()) as { items: Array<{ title: string }> }).items.map(
          (item) => item.title,
        ),
      ).toEqual(['Version two']);
    });

    it('never serves a signed-in page to anyone else, nor a cached page to a signed-in reader', async () => {
      const author = await signUp(replicaA.app, 'Drafter');
      const created = await replicaA.app.inject({
        method: 'POST',
        url: '/v1/articles',
        headers: { authorization: author.authorization },
        payload: { title: 'Secret draft', body: 'text' },
      });
      const { id } = created.json<{ id: string }>();
      const own = await fetch(`${replicaA.url}/v1/articles/${id}`, {
        headers: { ...clientHeaders(), authorization: author.authorization },
      });
      expect(own.status).toBe(200);
      expect(own.headers.get('cache-control')).toBe('private, no-store');
      expect(own.headers.get('etag')).toBeNull();
      for (const replica of [replicaA, replicaB]) {
        expect(
          (await fetch(`${replica.url}/v1/articles/${id}`, { headers: clientHeaders() })).status,
        ).toBe(404);
      }
    });
  });

  describe('WebSocket /v1/events', () => {
    function open(
      url: string,
      options: ConstructorParameters<typeof WebSocket>[2],
      protocols?: string[],
    ): WebSocket {
      return new WebSocket(`${url.replace('http', 'ws')}/v1/events`, protocols ?? [], options);
    }

    function nextMessage(
      socket: WebSocket,
    ): Promise<{ type: string; data: Record<string, unknown>; at: string }> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no event within 3 s')), 3_000);
        socket.once('message', (data: Buffer) => {
          clearTimeout(timer);
          resolve(
            JSON.parse(data.toString('utf8')) as {
              type: string;
              data: Record<string, unknown>;
              at: string;
            },
          );
        });
      });
    }

    async function opened(socket: WebSocket): Promise<void> {
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      });
    }

    async function closed(socket: WebSocket): Promise<number> {
      if (socket.readyState === WebSocket.CLOSED) return -1;
      return new Promise((resolve) => socket.once('close', (code: number) => resolve(code)));
    }

    it('delivers to a socket on replica A an event caused by a request to replica B', async () => {
      const payee = await signUp(replicaA.app, 'Socket Payee');
      const payer = await signUp(replicaA.app, 'Socket Payer');
      const socket = open(replicaA.url, { headers: { authorization: payee.authorization } });
      await opened(socket);
      // Let the SUBSCRIBE reach Redis before the event is published.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const received = nextMessage(socket);
      const paid = await fetch(`${replicaB.url}/v1/payments`, {
        method: 'POST',
        headers: {
          ...clientHeaders(),
          authorization: payer.authorization,
          'content-type': 'application/json',
          'idempotency-key': randomUUID(),
        },
        body: JSON.stringify({ payeeId: payee.id, amount: 300, currency: 'EUR' }),
      });
      expect(paid.status).toBe(201);
      const paymentId = ((await paid.json()) as { id: string }).id;
      const event = await received;
      expect(event).toMatchObject({
        type: 'payment.settled',
        data: {
          paymentId,
          payerId: payer.id,
          payeeId: payee.id,
          amount: { amountMinor: 300, currency: 'EUR' },
        },
      });
      expect(new Date(event.at).getTime()).not.toBeNaN();
      socket.close();
      await closed(socket);
    });

    it('accepts the token as a subprotocol (browsers), answering with strata.v1 only', async () => {
      const author = await signUp(replicaA.app, 'Protocol Author');
      const commenter = await signUp(replicaA.app, 'Commenter');
      const created = await replicaA.app.inject({
        method: 'POST',
        url: '/v1/articles',
        headers: { authorization: author.authorization },
        payload: { title: 'Talk to me', body: 'text' },
      });
      const { id } = created.json<{ id: string }>();
      await replicaA.app.inject({
        method: 'POST',
        url: `/v1/articles/${id}/publish`,
        headers: { authorization: author.authorization },
      });

      const socket = open(replicaB.url, {}, [EVENTS_SUBPROTOCOL, `bearer.${author.accessToken}`]);
      await opened(socket);
      expect(socket.protocol).toBe(EVENTS_SUBPROTOCOL);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const received = nextMessage(socket);
      await replicaA.app.inject({
        method: 'POST',
        url: `/v1/articles/${id}/comments`,
        headers: { authorization: commenter.authorization },
        payload: { body: 'First!' },
      });
      expect(await received).toMatchObject({
        type: 'comment.created',
        data: { articleId: id, commenterId: commenter.id, excerpt: 'First!' },
      });
      socket.close();
      await closed(socket);
    });

    it('refuses a connection without a valid token with 401', async () => {
      for (const options of [{}, { headers: { authorization: 'Bearer nope.nope.nope' } }]) {
        const socket = open(replicaA.url, options);
        const status = await new Promise<number>((resolve, reject) => {
          socket.once('unexpected-response', (_request, response) =>
            resolve(response.statusCode ?? 0),
          );
          socket.once('open', () => reject(new Error('socket opened without a token')));
          socket.once('error', () => undefined);
        });
        expect(status).toBe(401);
        socket.terminate();
      }
    });

    it('closes the socket when its token expires, and heartbeats keep a live one open', async () => {
      const user = await signUp(replicaA.app);
      const shortLived = await fakes.users.issueAccessToken(user.id, { expiresInSeconds: 3 });
      const socket = open(replicaA.url, { headers: { authorization: `Bearer ${shortLived}` } });
      let pings = 0;
      socket.on('ping', () => {
        pings += 1;
      });
      await opened(socket);
      expect(await closed(socket)).toBe(CLOSE_TOKEN_EXPIRED);
      expect(pings).toBeGreaterThan(0);
    });
  });
});
