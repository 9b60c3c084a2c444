#!/usr/bin/env node
// @ts-check
// The smoke scenario of issue 8 against a running cluster, through its public URL (compose:
// http://127.0.0.1:8080). Exits non-zero at the first step that fails, naming it.
//   node docker/ci/smoke.mjs <public-url> <mail-catcher-url> [kill-command…]
// With a kill command (e.g. `docker kill -s KILL <gateway-a>`), it then keeps 4 streams of reads
// running through Nginx, runs the command, and fails if any read failed.
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { deflateSync, crc32 } from 'node:zlib';
import WebSocket from 'ws';

const [publicUrl = 'http://127.0.0.1:8080', mailUrl = 'http://127.0.0.1:8025', ...killCommand] =
  process.argv.slice(2);
const run = randomBytes(3).toString('hex');
const word = `smoke${run.replace(/\d/g, (digit) => String.fromCharCode(103 + Number(digit)))}`;

/** @param {string} step @param {boolean} ok @param {unknown} [detail] */
function check(step, ok, detail) {
  if (!ok) {
    process.stderr.write(
      `smoke FAILED at: ${step} ${detail === undefined ? '' : JSON.stringify(detail)}\n`,
    );
    process.exit(1);
  }
  process.stdout.write(`ok  ${step}\n`);
}

/** @param {string} method @param {string} path @param {{token?: string, body?: unknown, headers?: Record<string,string>}} [options] */
async function api(method, path, options = {}) {
  /** @type {Record<string,string>} */
  const headers = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${publicUrl}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}

/** @template T @param {() => Promise<T | undefined>} probe @param {number} [timeoutMs] @returns {Promise<T | undefined>} */
async function eventually(probe, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return undefined;
}

/** @param {string} name */
async function signUp(name) {
  const email = `${name}-${run}@example.com`;
  const password = `correct horse ${run} battery`;
  const created = await api('POST', '/v1/users', { body: { email, password, name } });
  check(`register ${name}`, created.status === 201, created);
  const login = await api('POST', '/v1/auth/login', { body: { email, password } });
  check(`login ${name}`, login.status === 200, login.status);
  return { id: created.body.id, email, token: login.body.accessToken };
}

function png() {
  /** @param {string} type @param {Buffer} data */
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, sum]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(64, 0);
  header.writeUInt32BE(48, 4);
  header[8] = 8;
  header[9] = 2;
  const rows = Buffer.alloc(48 * (1 + 64 * 3), 90);
  for (let y = 0; y < 48; y += 1) rows[y * (1 + 64 * 3)] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const author = await signUp('author');
const reader = await signUp('reader');
const created = await api('POST', '/v1/articles', {
  token: author.token,
  body: { title: `Smoke ${word}`, body: `About ${word}.`, tags: ['smoke'] },
});
check('create article', created.status === 201, created);
const published = await api('POST', `/v1/articles/${created.body.id}/publish`, {
  token: author.token,
});
check('publish article', published.status === 200, published.status);
const listed = await api('GET', `/v1/articles?author=${author.id}`);
check('list article', listed.body.items?.[0]?.id === created.body.id, listed.body);
const found = await eventually(async () => {
  const search = await api('GET', `/v1/articles?q=${word}`);
  return search.body.items?.some((/** @type {{id: string}} */ item) => item.id === created.body.id)
    ? true
    : undefined;
});
check('search article', found === true);

const form = new FormData();
form.append('file', new Blob([png()], { type: 'image/png' }), 'smoke.png');
const upload = await fetch(`${publicUrl}/v1/media`, {
  method: 'POST',
  headers: { authorization: `Bearer ${author.token}` },
  body: form,
});
const uploaded = /** @type {{id: string}} */ (await upload.json());
check('upload image', upload.status === 202, uploaded);
const ready = await eventually(async () => {
  const media = await api('GET', `/v1/media/${uploaded.id}`, { token: author.token });
  return media.body.status === 'ready' ? media.body : undefined;
});
check('image ready', ready !== undefined);

const socket = new WebSocket(`${publicUrl.replace('http', 'ws')}/v1/events`, {
  headers: { authorization: `Bearer ${author.token}` },
});
/** @type {Array<{type: string, data: Record<string, unknown>}>} */
const events = [];
socket.on('message', (raw) => events.push(JSON.parse(raw.toString())));
await new Promise((resolve, reject) => {
  socket.once('open', resolve);
  socket.once('error', reject);
});
check('websocket connected through Nginx', true);

const comment = await api('POST', `/v1/articles/${created.body.id}/comments`, {
  token: reader.token,
  body: { body: 'Nice!' },
});
check('comment', comment.status === 201, comment);
const key = randomUUID();
const tip = { payeeId: author.id, amount: 500, currency: 'USD', articleId: created.body.id };
const paid = await api('POST', '/v1/payments', {
  token: reader.token,
  body: tip,
  headers: { 'idempotency-key': key },
});
check('tip', paid.status === 201, paid);
const replay = await api('POST', '/v1/payments', {
  token: reader.token,
  body: tip,
  headers: { 'idempotency-key': key },
});
check('tip replay returns the same payment', replay.body.id === paid.body.id, replay);
const settled = await eventually(async () =>
  events.find((event) => event.type === 'payment.settled' && event.data.paymentId === paid.body.id),
);
check('payment.settled pushed', settled !== undefined);
socket.terminate();
const balance = await eventually(async () => {
  const response = await api('GET', '/v1/users/me/balance', { token: author.token });
  const usd = response.body.balances?.find(
    (/** @type {{currency: string}} */ entry) => entry.currency === 'USD',
  );
  return usd?.amount > 0 ? usd.amount : undefined;
});
check('balance is tip minus 5% fee', balance === 475, balance);
const mails = await eventually(async () => {
  const { items } = /** @type {{items: Array<{envelopeTo: string[], subject: string}>}} */ (
    await (await fetch(`${mailUrl}/api/messages`)).json()
  );
  /** @param {string} to @param {RegExp} subject */
  const has = (to, subject) =>
    items.some(
      (/** @type {{envelopeTo: string[], subject: string}} */ mail) =>
        mail.envelopeTo.includes(to) && subject.test(mail.subject),
    );
  return has(reader.email, /^Receipt for your payment/) && has(author.email, /^You received/)
    ? true
    : undefined;
});
check('receipt emails in the mail catcher', mails === true);

if (killCommand.length > 0) {
  /** @param {number} ms */
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  let running = true;
  let reads = 0;
  /** @type {unknown[]} */
  const failures = [];
  const stream = async () => {
    while (running) {
      try {
        const response = await fetch(`${publicUrl}/v1/articles?author=${author.id}`);
        await response.arrayBuffer();
        if (response.status !== 200) failures.push(response.status);
      } catch (error) {
        failures.push(String(error));
      }
      reads += 1;
      // Paced: four streams stay under ~80 reads/s, so the 5.5 s stay well below the gateway's
      // per-client rate limit (1,000 a minute by default; the whole smoke comes from one address).
      // Unpaced, a fast machine did ~2,000 reads and the last ones were 429s, not failures.
      await sleep(50);
    }
  };
  const streams = Array.from({ length: 4 }, stream);
  await sleep(1500);
  const killed = spawnSync(killCommand[0], killCommand.slice(1), { encoding: 'utf8' });
  check('one gateway replica SIGKILLed', killed.status === 0, killed.stderr);
  await sleep(4000);
  running = false;
  await Promise.all(streams);
  check(
    `no read failed while it died (${reads} reads through Nginx)`,
    failures.length === 0 && reads >= 20,
    { reads, failures: failures.slice(0, 5) },
  );
}
