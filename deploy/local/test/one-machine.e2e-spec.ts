// End to end through Nginx, on the one-machine cluster that `npm start` runs (deploy/local/start.mjs),
// started here on its own ports, databases, Redis and run directory. The scenario of issue 8:
// register → login → article → publish → list + search → image upload until ready → another user
// comments and tips with an idempotency key (sent to replica B) → the author's WebSocket on
// replica A receives payment.settled → balance = tip − fee → receipt emails in the mail catcher;
// then one replica is SIGKILLed under a stream of reads and no read fails.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { gradientPng } from './support/png';
import { type LocalCluster, startLocalCluster } from './support/local-cluster';

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
// Run by Nx (`npm test`), the test target already depends on every service's build, so the
// launcher's own build is skipped; run directly (`npx jest`), the launcher builds (cache hits when
// nothing changed). STRATA_E2E_SKIP_BUILD=1 skips it when the dists are known to be fresh.
const BUILD =
  process.env.STRATA_E2E_SKIP_BUILD !== '1' && process.env.NX_TASK_TARGET_PROJECT === undefined;
const TIP_MINOR = 500;
const FEE_BPS = 500; // payment service default PLATFORM_FEE_BPS
const RUN = randomBytes(3).toString('hex');
// Letters only, so the full-text search stems it the same way in the index and in the query.
const SEARCH_WORD = `quokka${RUN.replace(/[0-9]/g, (digit) => String.fromCharCode(103 + Number(digit)))}`;

jest.setTimeout(240_000);

interface Session {
  readonly id: string;
  readonly email: string;
  readonly token: string;
}

interface JsonResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

let cluster: LocalCluster;

/** Error-level lines the cluster's processes logged: shown when a step fails, to say why. */
function errorLines(): string[] {
  return cluster
    .log()
    .split('\n')
    .filter((line) => /"level":(50|60)|ERROR/.test(line))
    .slice(-20);
}

async function call(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<JsonResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

const api = (
  method: string,
  path: string,
  options?: Parameters<typeof call>[3],
): Promise<JsonResponse> => call(cluster.publicUrl, method, path, options);

/** Polls until `probe` returns a value (not undefined) or the time is up. */
async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 250));
  }
  throw new Error(
    `${what}: not within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`,
  );
}

async function signUp(name: string): Promise<Session> {
  const email = `${name.toLowerCase()}-${RUN}@example.com`;
  const password = `correct horse ${RUN} battery`;
  const created = await api('POST', '/v1/users', { body: { email, password, name } });
  expect(created.status).toBe(201);
  const login = await api('POST', '/v1/auth/login', { body: { email, password } });
  expect(login.status).toBe(200);
  expect(typeof login.body.accessToken).toBe('string');
  return { id: String(created.body.id), email, token: String(login.body.accessToken) };
}

interface CaughtMail {
  readonly envelopeTo: string[];
  readonly subject: string;
  readonly text: string;
}

async function mails(): Promise<CaughtMail[]> {
  const response = await fetch(`http://127.0.0.1:${cluster.ports.mailUi}/api/messages`);
  return ((await response.json()) as { items: CaughtMail[] }).items;
}

function mailTo(address: string, subject: RegExp): Promise<CaughtMail> {
  return eventually(`mail "${subject.source}" to ${address}`, async () =>
    (await mails()).find((mail) => mail.envelopeTo.includes(address) && subject.test(mail.subject)),
  );
}

beforeAll(async () => {
  cluster = await startLocalCluster({ adminUrl: ADMIN_URL, build: BUILD, readyTimeoutMs: 400_000 });
}, 430_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

describe('one-machine cluster through Nginx', () => {
  let author: Session;
  let reader: Session;
  let article: { id: string; slug: string };

  it('serves the API and docs through Nginx with a request id and gzip', async () => {
    const health = await api('GET', '/healthz', { headers: { 'x-request-id': `e2e-${RUN}` } });
    expect(health.status).toBe(200);
    expect(health.headers.get('x-request-id')).toBe(`e2e-${RUN}`);
    const openapi = await fetch(`${cluster.publicUrl}/openapi.json`, {
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(openapi.status).toBe(200);
    expect(openapi.headers.get('content-encoding')).toBe('gzip');
    expect(((await openapi.json()) as { openapi: string }).openapi).toMatch(/^3\.1/);
  });

  it('registers two users and logs them in', async () => {
    author = await signUp('Author');
    reader = await signUp('Reader');
    expect(author.id).not.toBe(reader.id);
  });

  it('creates and publishes an article, then lists and searches it', async () => {
    const created = await api('POST', '/v1/articles', {
      token: author.token,
      body: {
        title: `Notes on scaling ${SEARCH_WORD}`,
        body: `Pools, caches and a ${SEARCH_WORD} or two.`,
        tags: ['scaling'],
      },
    });
    expect(created.status).toBe(201);
    article = { id: String(created.body.id), slug: String(created.body.slug) };
    expect(created.body.status).toBe('draft');
    // A draft is the author's only.
    expect((await api('GET', `/v1/articles/${article.slug}`)).status).toBe(404);

    const published = await api('POST', `/v1/articles/${article.id}/publish`, {
      token: author.token,
    });
    expect(published.status).toBe(200);
    expect(published.body.status).toBe('published');

    const listed = await api('GET', `/v1/articles?author=${author.id}`);
    expect(listed.status).toBe(200);
    expect((listed.body.items as Array<{ id: string }>).map((item) => item.id)).toEqual([
      article.id,
    ]);
    const found = await eventually('search hit', async () => {
      const search = await api('GET', `/v1/articles?q=${SEARCH_WORD}`);
      const ids = (search.body.items as Array<{ id: string }>).map((item) => item.id);
      return ids.includes(article.id) ? ids : undefined;
    });
    expect(found).toEqual([article.id]);
    expect((await api('GET', `/v1/articles/${article.slug}`)).body.id).toBe(article.id);
  });

  it('uploads an image (multipart) and serves its variants once ready', async () => {
    const form = new FormData();
    form.append('file', new Blob([gradientPng(320, 200)], { type: 'image/png' }), 'gradient.png');
    const upload = await fetch(`${cluster.publicUrl}/v1/media`, {
      method: 'POST',
      headers: { authorization: `Bearer ${author.token}` },
      body: form,
    });
    const accepted = (await upload.json()) as { id: string };
    expect({ status: upload.status, errors: upload.status === 202 ? [] : errorLines() }).toEqual({
      status: 202,
      errors: [],
    });
    const { id } = accepted;
    const ready = await eventually('media ready', async () => {
      const media = await api('GET', `/v1/media/${id}`, { token: author.token });
      if (media.body.status === 'failed')
        throw new Error(`media failed: ${String(media.body.failureReason)}`);
      return media.body.status === 'ready' ? media.body : undefined;
    });
    const variants = ready.variants as Array<{ name: string; width: number; url: string }>;
    expect(variants.length).toBeGreaterThan(0);
    const bytes = await fetch(`${cluster.publicUrl}${variants[0].url}`);
    expect(bytes.status).toBe(200);
    expect(bytes.headers.get('content-type')).toMatch(/^image\//);
    expect((await bytes.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });

  it('delivers a tip sent through replica B to the author socket on replica A, once, with the fee taken', async () => {
    const replicaA = `http://127.0.0.1:${cluster.ports.gatewayA}`;
    const replicaB = `http://127.0.0.1:${cluster.ports.gatewayB}`;
    const events: Array<{ type: string; data: Record<string, unknown> }> = [];
    const socket = new WebSocket(`${replicaA.replace('http', 'ws')}/v1/events`, {
      headers: { authorization: `Bearer ${author.token}` },
    });
    socket.on('message', (raw: Buffer) =>
      events.push(JSON.parse(raw.toString()) as (typeof events)[number]),
    );
    await new Promise<void>((resolvePromise, reject) => {
      socket.once('open', () => resolvePromise());
      socket.once('error', reject);
    });
    try {
      const comment = await api('POST', `/v1/articles/${article.id}/comments`, {
        token: reader.token,
        body: { body: 'Great read, thanks!' },
      });
      expect(comment.status).toBe(201);

      const key = randomUUID();
      const tip = {
        payeeId: author.id,
        amount: TIP_MINOR,
        currency: 'USD',
        articleId: article.id,
        note: 'thanks',
      };
      const first = await call(replicaB, 'POST', '/v1/payments', {
        token: reader.token,
        body: tip,
        headers: { 'idempotency-key': key },
      });
      expect(first.status).toBe(201);
      const paymentId = String(first.body.id);
      // The same key and body replays the first answer; the same key with another body is refused.
      const replay = await call(replicaB, 'POST', '/v1/payments', {
        token: reader.token,
        body: tip,
        headers: { 'idempotency-key': key },
      });
      expect(replay.status).toBeLessThan(300);
      expect(replay.body.id).toBe(paymentId);
      const misuse = await call(replicaB, 'POST', '/v1/payments', {
        token: reader.token,
        body: { ...tip, amount: TIP_MINOR + 1 },
        headers: { 'idempotency-key': key },
      });
      expect(misuse.status).toBe(422);

      const settled = await eventually('payment.settled on replica A', () =>
        Promise.resolve(
          events.find(
            (event) => event.type === 'payment.settled' && event.data.paymentId === paymentId,
          ),
        ),
      );
      expect(settled.data.payeeId).toBe(author.id);
      const fee = Math.floor((TIP_MINOR * FEE_BPS) / 10_000);
      const balance = await eventually('balance after settlement', async () => {
        const response = await call(replicaA, 'GET', '/v1/users/me/balance', {
          token: author.token,
        });
        const usd = (response.body.balances as Array<{ amount: number; currency: string }>).find(
          (entry) => entry.currency === 'USD',
        );
        return usd && usd.amount > 0 ? usd.amount : undefined;
      });
      expect(balance).toBe(TIP_MINOR - fee);
      // Only one payment exists for the key, whatever was replayed.
      const sent = await api('GET', '/v1/payments?direction=sent', { token: reader.token });
      expect((sent.body.items as unknown[]).length).toBe(1);

      const receipt = await mailTo(reader.email, /^Receipt for your payment/);
      const received = await mailTo(author.email, /^You received/);
      expect(receipt.text).toContain('5.00 USD');
      expect(received.text).toContain('4.75 USD');
      await mailTo(author.email, /^New comment on/);
      // Exactly one of each, even though the payment request was sent three times.
      const all = await mails();
      expect(all.filter((mail) => /^Receipt for your payment/.test(mail.subject))).toHaveLength(1);
      expect(all.filter((mail) => /^You received/.test(mail.subject))).toHaveLength(1);
    } finally {
      socket.terminate();
    }
  });

  it('loses no read when one gateway replica is SIGKILLed under load', async () => {
    const victim = cluster.pidOf('gateway-a');
    const paths = [
      `/v1/articles/${article.slug}`,
      `/v1/articles?author=${author.id}`,
      `/v1/articles?tag=scaling`,
    ];
    const failures: string[] = [];
    let completed = 0;
    let completedAtKill = -1;
    const TOTAL = 400; // bounded: stays well under the gateway's per-client rate limit
    let issued = 0;
    const worker = async (): Promise<void> => {
      while (issued < TOTAL) {
        const path = paths[issued % paths.length];
        issued += 1;
        try {
          const response = await fetch(`${cluster.publicUrl}${path}`, {
            signal: AbortSignal.timeout(10_000),
          });
          await response.arrayBuffer();
          if (response.status !== 200) failures.push(`${path}: ${response.status}`);
        } catch (error) {
          failures.push(`${path}: ${String(error)}`);
        }
        completed += 1;
        await new Promise((resolvePromise) => setTimeout(resolvePromise, 30));
      }
    };
    const killer = async (): Promise<void> => {
      while (completed < TOTAL / 4)
        await new Promise((resolvePromise) => setTimeout(resolvePromise, 10));
      completedAtKill = completed;
      process.kill(victim, 'SIGKILL');
    };
    await Promise.all([worker(), worker(), worker(), worker(), killer()]);

    expect(failures).toEqual([]);
    expect(completed).toBe(TOTAL);
    // The kill landed mid-stream, and replica A had been taking its share before it.
    expect(completedAtKill).toBeGreaterThan(0);
    expect(completedAtKill).toBeLessThan(TOTAL / 2);
    const accessLog = readFileSync(join(cluster.runDir, 'nginx', 'nginx-access.log'), 'utf8');
    expect(accessLog).toContain(`"upstream":"127.0.0.1:${cluster.ports.gatewayA}"`);
    expect(() => process.kill(victim, 0)).toThrow();
    // The launcher brings the replica back, as an orchestrator would.
    await eventually('replica A back', async () => {
      const ready = await fetch(`http://127.0.0.1:${cluster.ports.gatewayA}/readyz`).catch(
        () => undefined,
      );
      return ready?.status === 200 ? true : undefined;
    });
    expect(cluster.pidOf('gateway-a')).not.toBe(victim);
  });
});
