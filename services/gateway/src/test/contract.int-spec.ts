import { randomUUID } from 'node:crypto';
import { type InjectOptions } from 'fastify';
import { signFakeWebhook } from '../testing/fake-payment.service';
import { signUp, useGatewaySuite } from '../testing/gateway-harness';
import { OpenApiValidator } from '../testing/openapi-validator';

// Every path of the issue's table (plus operations), as the OpenAPI document must list them.
const EXPECTED_PATHS = [
  '/healthz',
  '/metrics',
  '/readyz',
  '/v1/articles',
  '/v1/articles/{idOrSlug}',
  '/v1/articles/{idOrSlug}/comments',
  '/v1/articles/{idOrSlug}/publish',
  '/v1/auth/login',
  '/v1/auth/logout',
  '/v1/auth/password-reset',
  '/v1/auth/password-reset/confirm',
  '/v1/auth/refresh',
  '/v1/auth/verify-email',
  '/v1/comments/{id}',
  '/v1/events',
  '/v1/media',
  '/v1/media/{id}',
  '/v1/media/{id}/{variant}',
  '/v1/payments',
  '/v1/payments/{id}',
  '/v1/payments/{id}/refunds',
  '/v1/users',
  '/v1/users/me',
  '/v1/users/me/balance',
  '/v1/users/{id}',
  '/v1/webhooks/psp',
].sort();

const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.alloc(64, 1),
]);

function multipart(
  field: string,
  filename: string,
  type: string,
  bytes: Buffer,
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----strata${randomUUID()}`;
  const payload = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`,
    ),
    bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { payload, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

describe('API v1 contract (every route in the table, checked against /openapi.json)', () => {
  const suite = useGatewaySuite();
  let openapi: OpenApiValidator;

  beforeAll(async () => {
    const document = await suite.gateway.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(document.statusCode).toBe(200);
    openapi = new OpenApiValidator(document.json());
  });

  /** Sends a request, checks it against the document, and returns it. */
  async function call(template: string, options: InjectOptions, expectedStatus: number) {
    const response = await suite.gateway.app.inject(options);
    expect({ status: response.statusCode, body: response.body }).toMatchObject({
      status: expectedStatus,
    });
    openapi.check(String(options.method), template, response);
    expect(response.headers['x-request-id']).toEqual(expect.any(String));
    if (expectedStatus >= 400) {
      const body = response.json<{ error: Record<string, unknown> }>();
      expect(Object.keys(body)).toEqual(['error']);
      expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'requestId']);
      expect(body.error.requestId).toBe(response.headers['x-request-id']);
    }
    return response;
  }

  it('users and auth', async () => {
    const email = `${randomUUID()}@example.test`;
    const password = 'a long enough password';
    await call(
      '/v1/users',
      { method: 'POST', url: '/v1/users', payload: { email, password, name: 'Ada' } },
      201,
    );
    await call(
      '/v1/users',
      { method: 'POST', url: '/v1/users', payload: { email, password, name: 'Ada' } },
      409,
    );
    await call(
      '/v1/users',
      { method: 'POST', url: '/v1/users', payload: { email, password: 'short', name: 'Ada' } },
      400,
    );
    await call(
      '/v1/users',
      {
        method: 'POST',
        url: '/v1/users',
        payload: { email, password, name: 'Ada', role: 'admin' },
      },
      400,
    );

    await call(
      '/v1/auth/login',
      { method: 'POST', url: '/v1/auth/login', payload: { email, password: 'wrong password!' } },
      401,
    );
    await call(
      '/v1/auth/login',
      { method: 'POST', url: '/v1/auth/login', payload: { email } },
      400,
    );
    const login = await call(
      '/v1/auth/login',
      { method: 'POST', url: '/v1/auth/login', payload: { email, password } },
      200,
    );
    const tokens = login.json<{ accessToken: string; refreshToken: string; expiresIn: number }>();
    expect(tokens.expiresIn).toBe(900);

    const refreshed = await call(
      '/v1/auth/refresh',
      { method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken: tokens.refreshToken } },
      200,
    );
    // Rotation: the old refresh token is dead, and reusing it is reported as such.
    const reused = await call(
      '/v1/auth/refresh',
      { method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken: tokens.refreshToken } },
      401,
    );
    expect(reused.json<{ error: { code: string } }>().error.code).toBe('REFRESH_TOKEN_REUSED');
    await call(
      '/v1/auth/logout',
      {
        method: 'POST',
        url: '/v1/auth/logout',
        payload: { refreshToken: refreshed.json<{ refreshToken: string }>().refreshToken },
      },
      204,
    );

    const [verificationToken] = [...suite.fakes.users.verificationTokens.keys()];
    await call(
      '/v1/auth/verify-email',
      { method: 'POST', url: '/v1/auth/verify-email', payload: { token: verificationToken } },
      204,
    );
    await call(
      '/v1/auth/verify-email',
      { method: 'POST', url: '/v1/auth/verify-email', payload: { token: 'used-or-unknown' } },
      400,
    );

    await call(
      '/v1/auth/password-reset',
      { method: 'POST', url: '/v1/auth/password-reset', payload: { email } },
      202,
    );
    await call(
      '/v1/auth/password-reset',
      {
        method: 'POST',
        url: '/v1/auth/password-reset',
        payload: { email: `nobody-${randomUUID()}@example.test` },
      },
      202,
    );
    const [resetToken] = [...suite.fakes.users.resetTokens.keys()];
    await call(
      '/v1/auth/password-reset/confirm',
      {
        method: 'POST',
        url: '/v1/auth/password-reset/confirm',
        payload: { token: resetToken, password: 'another long password' },
      },
      204,
    );
    await call(
      '/v1/auth/password-reset/confirm',
      {
        method: 'POST',
        url: '/v1/auth/password-reset/confirm',
        payload: { token: resetToken, password: 'another long password' },
      },
      400,
    );

    const authorization = `Bearer ${tokens.accessToken}`;
    const me = await call(
      '/v1/users/me',
      { method: 'GET', url: '/v1/users/me', headers: { authorization } },
      200,
    );
    expect(me.json()).toMatchObject({ email, emailVerified: true, name: 'Ada', role: 'member' });
    await call('/v1/users/me', { method: 'GET', url: '/v1/users/me' }, 401);
    await call(
      '/v1/users/me',
      { method: 'GET', url: '/v1/users/me', headers: { authorization: 'Bearer not.a.jwt' } },
      401,
    );
    const patched = await call(
      '/v1/users/me',
      {
        method: 'PATCH',
        url: '/v1/users/me',
        headers: { authorization },
        payload: { bio: 'Hello' },
      },
      200,
    );
    expect(patched.json()).toMatchObject({ bio: 'Hello' });
    await call(
      '/v1/users/me',
      {
        method: 'PATCH',
        url: '/v1/users/me',
        headers: { authorization },
        payload: { email: 'x@y.z' },
      },
      400,
    );
    await call(
      '/v1/users/me',
      { method: 'PATCH', url: '/v1/users/me', payload: { bio: 'x' } },
      401,
    );

    const profile = await call(
      '/v1/users/{id}',
      { method: 'GET', url: `/v1/users/${me.json<{ id: string }>().id}` },
      200,
    );
    expect(profile.json()).not.toHaveProperty('email');
    await call('/v1/users/{id}', { method: 'GET', url: `/v1/users/${randomUUID()}` }, 404);
    await call('/v1/users/{id}', { method: 'GET', url: '/v1/users/not-a-uuid' }, 400);
  });

  it('rejects tokens with the wrong audience, issuer, key, algorithm or expiry', async () => {
    const user = await signUp(suite.gateway.app);
    const bad = [
      await suite.fakes.users.issueAccessToken(user.id, { audience: 'someone-else' }),
      await suite.fakes.users.issueAccessToken(user.id, { issuer: 'evil' }),
      await suite.fakes.users.issueAccessToken(user.id, { keyId: 'unknown-kid' }),
      await suite.fakes.users.issueAccessToken(user.id, { expiresInSeconds: -60 }),
      // alg "none" with the right kid: never accepted.
      `${Buffer.from(JSON.stringify({ alg: 'none', kid: suite.fakes.users.keyId })).toString('base64url')}.${Buffer.from(JSON.stringify({ sub: user.id, role: 'admin' })).toString('base64url')}.x`,
    ];
    for (const token of bad) {
      const response = await suite.gateway.app.inject({
        method: 'GET',
        url: '/v1/users/me',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.statusCode).toBe(401);
    }
  });

  it('articles and comments', async () => {
    const author = await signUp(suite.gateway.app, 'Author');
    const reader = await signUp(suite.gateway.app, 'Reader');
    const created = await call(
      '/v1/articles',
      {
        method: 'POST',
        url: '/v1/articles',
        headers: { authorization: author.authorization },
        payload: { title: 'Hello world', body: '# Hi', tags: ['intro'] },
      },
      201,
    );
    const article = created.json<{ id: string; slug: string; status: string }>();
    expect(article.status).toBe('draft');
    await call(
      '/v1/articles',
      { method: 'POST', url: '/v1/articles', payload: { title: 'x', body: 'y' } },
      401,
    );
    await call(
      '/v1/articles',
      {
        method: 'POST',
        url: '/v1/articles',
        headers: { authorization: author.authorization },
        payload: { title: '', body: 'y' },
      },
      400,
    );

    // Drafts: only the author sees them.
    await call(
      '/v1/articles/{idOrSlug}',
      { method: 'GET', url: `/v1/articles/${article.id}` },
      404,
    );
    await call(
      '/v1/articles/{idOrSlug}',
      {
        method: 'GET',
        url: `/v1/articles/${article.id}`,
        headers: { authorization: reader.authorization },
      },
      404,
    );
    await call(
      '/v1/articles/{idOrSlug}',
      {
        method: 'GET',
        url: `/v1/articles/${article.id}`,
        headers: { authorization: author.authorization },
      },
      200,
    );

    await call(
      '/v1/articles/{idOrSlug}',
      {
        method: 'PATCH',
        url: `/v1/articles/${article.id}`,
        headers: { authorization: author.authorization },
        payload: { title: 'Hello again' },
      },
      200,
    );
    await call(
      '/v1/articles/{idOrSlug}/publish',
      {
        method: 'POST',
        url: `/v1/articles/${article.id}/publish`,
        headers: { authorization: reader.authorization },
      },
      404,
    );
    const published = await call(
      '/v1/articles/{idOrSlug}/publish',
      {
        method: 'POST',
        url: `/v1/articles/${article.id}/publish`,
        headers: { authorization: author.authorization },
      },
      200,
    );
    expect(published.json()).toMatchObject({ status: 'published', title: 'Hello again' });
    await call(
      '/v1/articles/{idOrSlug}',
      {
        method: 'PATCH',
        url: `/v1/articles/${article.id}`,
        headers: { authorization: reader.authorization },
        payload: { title: 'Mine now' },
      },
      403,
    );

    const bySlug = await call(
      '/v1/articles/{idOrSlug}',
      { method: 'GET', url: `/v1/articles/${article.slug}` },
      200,
    );
    const etag = bySlug.headers.etag as string;
    await call(
      '/v1/articles/{idOrSlug}',
      { method: 'GET', url: `/v1/articles/${article.slug}`, headers: { 'if-none-match': etag } },
      304,
    );

    const list = await call(
      '/v1/articles',
      { method: 'GET', url: '/v1/articles?limit=10&tag=intro' },
      200,
    );
    expect(list.json<{ items: Array<{ id: string }> }>().items.map((item) => item.id)).toContain(
      article.id,
    );
    await call('/v1/articles', { method: 'GET', url: '/v1/articles?limit=1000' }, 400);
    await call('/v1/articles', { method: 'GET', url: '/v1/articles?cursor=bogus' }, 400);

    const comment = await call(
      '/v1/articles/{idOrSlug}/comments',
      {
        method: 'POST',
        url: `/v1/articles/${article.id}/comments`,
        headers: { authorization: reader.authorization },
        payload: { body: 'Nice' },
      },
      201,
    );
    await call(
      '/v1/articles/{idOrSlug}/comments',
      { method: 'POST', url: `/v1/articles/${article.id}/comments`, payload: { body: 'Nice' } },
      401,
    );
    await call(
      '/v1/articles/{idOrSlug}/comments',
      {
        method: 'POST',
        url: `/v1/articles/${article.id}/comments`,
        headers: { authorization: reader.authorization },
        payload: { body: '' },
      },
      400,
    );
    await call(
      '/v1/articles/{idOrSlug}/comments',
      {
        method: 'POST',
        url: `/v1/articles/${randomUUID()}/comments`,
        headers: { authorization: reader.authorization },
        payload: { body: 'x' },
      },
      404,
    );
    const comments = await call(
      '/v1/articles/{idOrSlug}/comments',
      { method: 'GET', url: `/v1/articles/${article.id}/comments` },
      200,
    );
    expect(comments.json<{ items: unknown[] }>().items).toHaveLength(1);
    await call(
      '/v1/articles/{idOrSlug}/comments',
      { method: 'GET', url: `/v1/articles/${randomUUID()}/comments` },
      404,
    );

    const commentId = comment.json<{ id: string }>().id;
    await call(
      '/v1/comments/{id}',
      {
        method: 'DELETE',
        url: `/v1/comments/${commentId}`,
        headers: { authorization: author.authorization },
      },
      403,
    );
    await call(
      '/v1/comments/{id}',
      {
        method: 'DELETE',
        url: `/v1/comments/${commentId}`,
        headers: { authorization: reader.authorization },
      },
      204,
    );
    await call(
      '/v1/comments/{id}',
      {
        method: 'DELETE',
        url: `/v1/comments/${commentId}`,
        headers: { authorization: reader.authorization },
      },
      404,
    );

    await call(
      '/v1/articles/{idOrSlug}',
      {
        method: 'DELETE',
        url: `/v1/articles/${article.id}`,
        headers: { authorization: reader.authorization },
      },
      403,
    );
    await call(
      '/v1/articles/{idOrSlug}',
      {
        method: 'DELETE',
        url: `/v1/articles/${article.id}`,
        headers: { authorization: author.authorization },
      },
      204,
    );
    await call(
      '/v1/articles/{idOrSlug}',
      { method: 'GET', url: `/v1/articles/${article.id}` },
      404,
    );
  });

  it('payments, refunds, balance and webhooks', async () => {
    const payer = await signUp(suite.gateway.app, 'Payer');
    const payee = await signUp(suite.gateway.app, 'Payee');
    const body = { payeeId: payee.id, amount: 500, currency: 'EUR', note: 'thanks' };
    const headers = {
      authorization: payer.authorization,
      'idempotency-key': `key-${randomUUID()}`,
    };
    const created = await call(
      '/v1/payments',
      { method: 'POST', url: '/v1/payments', headers, payload: body },
      201,
    );
    const payment = created.json<{ id: string; status: string }>();
    expect(payment.status).toBe('pending');
    // Same key, same body: the stored answer. Same key, other body: 422.
    const replay = await call(
      '/v1/payments',
      { method: 'POST', url: '/v1/payments', headers, payload: body },
      201,
    );
    expect(replay.json<{ id: string }>().id).toBe(payment.id);
    await call(
      '/v1/payments',
      { method: 'POST', url: '/v1/payments', headers, payload: { ...body, amount: 600 } },
      422,
    );
    await call(
      '/v1/payments',
      {
        method: 'POST',
        url: '/v1/payments',
        headers: { authorization: payer.authorization },
        payload: body,
      },
      400,
    );
    await call(
      '/v1/payments',
      { method: 'POST', url: '/v1/payments', headers: { 'idempotency-key': 'k' }, payload: body },
      401,
    );
    await call(
      '/v1/payments',
      {
        method: 'POST',
        url: '/v1/payments',
        headers: { ...headers, 'idempotency-key': 'other' },
        payload: { ...body, amount: 1.5 },
      },
      400,
    );
    suite.fakes.payments.holdKeys.add('held-key');
    await call(
      '/v1/payments',
      {
        method: 'POST',
        url: '/v1/payments',
        headers: { ...headers, 'idempotency-key': 'held-key' },
        payload: body,
      },
      409,
    );

    await call(
      '/v1/payments',
      {
        method: 'GET',
        url: '/v1/payments?direction=received',
        headers: { authorization: payee.authorization },
      },
      200,
    );
    const sent = await call(
      '/v1/payments',
      { method: 'GET', url: '/v1/payments', headers: { authorization: payer.authorization } },
      200,
    );
    expect(sent.json<{ items: Array<{ id: string }> }>().items.map((item) => item.id)).toEqual([
      payment.id,
    ]);
    await call('/v1/payments', { method: 'GET', url: '/v1/payments' }, 401);

    // Settlement happens right after creation in the fake.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const read = await call(
      '/v1/payments/{id}',
      {
        method: 'GET',
        url: `/v1/payments/${payment.id}`,
        headers: { authorization: payee.authorization },
      },
      200,
    );
    expect(read.json()).toMatchObject({ status: 'settled', fee: 25, refunds: [] });
    await call(
      '/v1/payments/{id}',
      {
        method: 'GET',
        url: `/v1/payments/${randomUUID()}`,
        headers: { authorization: payee.authorization },
      },
      404,
    );

    const refundHeaders = {
      authorization: payee.authorization,
      'idempotency-key': `refund-${randomUUID()}`,
    };
    await call(
      '/v1/payments/{id}/refunds',
      {
        method: 'POST',
        url: `/v1/payments/${payment.id}/refunds`,
        headers: refundHeaders,
        payload: { amount: 200 },
      },
      201,
    );
    await call(
      '/v1/payments/{id}/refunds',
      {
        method: 'POST',
        url: `/v1/payments/${payment.id}/refunds`,
        headers: refundHeaders,
        payload: { amount: 201 },
      },
      422,
    );
    await call(
      '/v1/payments/{id}/refunds',
      {
        method: 'POST',
        url: `/v1/payments/${payment.id}/refunds`,
        headers: { ...refundHeaders, 'idempotency-key': 'too-much' },
        payload: { amount: 10_000 },
      },
      422,
    );
    await call(
      '/v1/payments/{id}/refunds',
      {
        method: 'POST',
        url: `/v1/payments/${payment.id}/refunds`,
        headers: { authorization: payer.authorization, 'idempotency-key': 'payer' },
        payload: { amount: 1 },
      },
      403,
    );

    const balance = await call(
      '/v1/users/me/balance',
      {
        method: 'GET',
        url: '/v1/users/me/balance',
        headers: { authorization: payee.authorization },
      },
      200,
    );
    expect(balance.json()).toEqual({ balances: [{ amount: 500 - 25 - 200, currency: 'EUR' }] });
    await call('/v1/users/me/balance', { method: 'GET', url: '/v1/users/me/balance' }, 401);

    const event = Buffer.from(
      JSON.stringify({ id: `evt_${randomUUID()}`, type: 'charge.succeeded' }),
    );
    const timestamp = String(Math.floor(Date.now() / 1000));
    const webhookHeaders = {
      'content-type': 'application/json',
      'psp-timestamp': timestamp,
      'psp-signature': signFakeWebhook(event, timestamp),
    };
    await call(
      '/v1/webhooks/psp',
      { method: 'POST', url: '/v1/webhooks/psp', headers: webhookHeaders, payload: event },
      204,
    );
    await call(
      '/v1/webhooks/psp',
      {
        method: 'POST',
        url: '/v1/webhooks/psp',
        headers: { ...webhookHeaders, 'psp-signature': 'f'.repeat(64) },
        payload: event,
      },
      401,
    );
    await call(
      '/v1/webhooks/psp',
      {
        method: 'POST',
        url: '/v1/webhooks/psp',
        headers: { 'content-type': 'application/json' },
        payload: event,
      },
      400,
    );
  });

  it('media', async () => {
    const user = await signUp(suite.gateway.app);
    const upload = multipart('file', 'pixel.png', 'image/png', PNG);
    const accepted = await call(
      '/v1/media',
      {
        method: 'POST',
        url: '/v1/media',
        headers: { ...upload.headers, authorization: user.authorization },
        payload: upload.payload,
      },
      202,
    );
    const media = accepted.json<{ id: string; status: string }>();
    expect(media.status).toBe('processing');
    await call(
      '/v1/media',
      { method: 'POST', url: '/v1/media', headers: upload.headers, payload: upload.payload },
      401,
    );
    const notAnImage = multipart('file', 'x.png', 'image/png', Buffer.from('hello'));
    await call(
      '/v1/media',
      {
        method: 'POST',
        url: '/v1/media',
        headers: { ...notAnImage.headers, authorization: user.authorization },
        payload: notAnImage.payload,
      },
      415,
    );
    await call(
      '/v1/media',
      {
        method: 'POST',
        url: '/v1/media',
        headers: { 'content-type': 'application/json', authorization: user.authorization },
        payload: '{}',
      },
      415,
    );
    const huge = multipart(
      'file',
      'big.png',
      'image/png',
      Buffer.concat([PNG, Buffer.alloc(300 * 1024)]),
    );
    await call(
      '/v1/media',
      {
        method: 'POST',
        url: '/v1/media',
        headers: { ...huge.headers, authorization: user.authorization },
        payload: huge.payload,
      },
      413,
    );
    const wrongField = multipart('avatar', 'pixel.png', 'image/png', PNG);
    await call(
      '/v1/media',
      {
        method: 'POST',
        url: '/v1/media',
        headers: { ...wrongField.headers, authorization: user.authorization },
        payload: wrongField.payload,
      },
      400,
    );

    await call(
      '/v1/media/{id}/{variant}',
      { method: 'GET', url: `/v1/media/${media.id}/original` },
      409,
    );
    await suite.fakes.content.markMediaReady(media.id);
    const status = await call(
      '/v1/media/{id}',
      { method: 'GET', url: `/v1/media/${media.id}` },
      200,
    );
    expect(status.json()).toMatchObject({
      status: 'ready',
      variants: [{ name: 'original', url: `/v1/media/${media.id}/original` }, { name: 'small' }],
    });
    await call('/v1/media/{id}', { method: 'GET', url: `/v1/media/${randomUUID()}` }, 404);
    const bytes = await call(
      '/v1/media/{id}/{variant}',
      { method: 'GET', url: `/v1/media/${media.id}/original` },
      200,
    );
    expect(bytes.rawPayload.equals(PNG)).toBe(true);
    expect(bytes.headers['content-type']).toBe('image/png');
    await call(
      '/v1/media/{id}/{variant}',
      {
        method: 'GET',
        url: `/v1/media/${media.id}/original`,
        headers: { 'if-none-match': bytes.headers.etag as string },
      },
      304,
    );
    await call(
      '/v1/media/{id}/{variant}',
      { method: 'GET', url: `/v1/media/${media.id}/huge` },
      404,
    );
  });

  it('operations: health, readiness, metrics, docs, request ids, unknown routes', async () => {
    await call('/healthz', { method: 'GET', url: '/healthz' }, 200);
    await call('/readyz', { method: 'GET', url: '/readyz' }, 200);
    const metrics = await suite.gateway.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('http_request_duration_seconds_bucket');
    const docs = await suite.gateway.app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('swagger');
    const document = (
      await suite.gateway.app.inject({ method: 'GET', url: '/openapi.json' })
    ).json<{
      openapi: string;
      paths: Record<string, unknown>;
    }>();
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths).sort()).toEqual(EXPECTED_PATHS);

    const kept = await suite.gateway.app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'client-id-123' },
    });
    expect(kept.headers['x-request-id']).toBe('client-id-123');
    const replaced = await suite.gateway.app.inject({
      method: 'GET',
      url: '/v1/nope',
      headers: { 'x-request-id': 'bad id\twith tab' },
    });
    expect(replaced.statusCode).toBe(404);
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(replaced.json()).toEqual({
      error: {
        code: 'NOT_FOUND',
        message: 'route not found',
        requestId: replaced.headers['x-request-id'],
      },
    });

    const tooBig = await suite.gateway.app.inject({
      method: 'POST',
      url: '/v1/users',
      headers: { 'content-type': 'application/json' },
      payload: `{"name":"${'x'.repeat(1_100_000)}"}`,
    });
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json<{ error: { code: string } }>().error.code).toBe('PAYLOAD_TOO_LARGE');
  });
});
