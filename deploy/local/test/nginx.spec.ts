// Nginx, the public entry of every mode (issue 8): every rendered variant passes `nginx -t` and
// carries what the issue asks for; then the local variant runs for real in front of two small
// backends to show the behaviour, not just the text: idempotent requests move to the other
// replica, a POST is never replayed, WebSocket upgrades pass with the forwarding headers,
// request ids, body limits, gzip and the JSON access log.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import { freePort } from '@strata/testing';
import { child, findAll, parseNginxConf, proxyHeaders } from './support/nginx-conf';

const NGINX =
  ['/usr/sbin/nginx', 'nginx'].find((candidate) => !spawnSync(candidate, ['-v']).error) ??
  '/usr/sbin/nginx';
const REPO = resolve(__dirname, '../../..');
const RENDER = join(REPO, 'deploy/nginx/render.mjs');

interface VariantInput {
  listen: string;
  upstreams: string[];
  runDir: string;
  accessLog: string;
  errorLog: string;
  workerProcesses?: string;
}

function render(variant: VariantInput): string {
  const result = spawnSync(process.execPath, [RENDER, '--json', JSON.stringify(variant)], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`render failed: ${result.stderr}`);
  return result.stdout;
}

function nginxTest(config: string, workDir: string): { ok: boolean; output: string } {
  const path = join(workDir, `test-${Math.random().toString(16).slice(2)}.conf`);
  writeFileSync(path, config);
  // Output to a file, not a pipe: a container's /dev/stdout is a pipe or a file, and Nginx
  // cannot open() a socket (what node's pipes are) as /dev/stdout.
  const outputPath = `${path}.out`;
  const output = openSync(outputPath, 'w');
  const result = spawnSync(NGINX, ['-t', '-c', path], { stdio: ['ignore', output, output] });
  closeSync(output);
  return { ok: result.status === 0, output: readFileSync(outputPath, 'utf8') };
}

// Made at load time: the it.each tables below are built before any hook runs.
const workDir = mkdtempSync(join(tmpdir(), 'strata-nginx-'));
// Nginx started as root runs its workers as nobody: they must reach the temp folders.
chmodSync(workDir, 0o755);

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

/** Each variant as it would be run, with what `nginx -t` on this machine needs changed. */
function variants(): Array<[string, string, string]> {
  const local = render({
    listen: '127.0.0.1:18080',
    upstreams: ['127.0.0.1:18081', '127.0.0.1:18082'],
    runDir: join(workDir, 'local'),
    accessLog: join(workDir, 'local-access.log'),
    errorLog: join(workDir, 'local-error.log'),
  });
  const compose = readFileSync(join(REPO, 'deploy/nginx/rendered/compose.conf'), 'utf8');
  // In compose the names resolve on the compose network and /tmp/nginx is made by the image;
  // here only those two things are pointed at this machine, the rest is tested as committed.
  const composeHere = compose
    .replace(/server gateway-[ab]:/g, 'server 127.0.0.1:')
    .replaceAll('/tmp/nginx', join(workDir, 'compose'));
  return [
    ['local', local, local],
    ['compose', compose, composeHere],
  ];
}

describe('rendered Nginx variants', () => {
  it('keeps the committed container variants in step with the template', () => {
    const result = spawnSync(process.execPath, [RENDER, '--check'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it.each(variants())('%s passes nginx -t', (_name, _config, runnable) => {
    for (const folder of ['local', 'compose']) spawnSync('mkdir', ['-p', join(workDir, folder)]);
    const result = nginxTest(runnable, workDir);
    expect(result.output).toContain('test is successful');
    expect(result.ok).toBe(true);
  });

  it('nginx -t really checks: a misspelled directive fails', () => {
    const [, , runnable] = variants()[0];
    spawnSync('mkdir', ['-p', join(workDir, 'local')]);
    const result = nginxTest(runnable.replace('least_conn;', 'least_connn;'), workDir);
    expect(result.ok).toBe(false);
    expect(result.output).toContain('unknown directive "least_connn"');
  });

  it.each(variants())('%s has what issue 8 asks for', (_name, config) => {
    const conf = parseNginxConf(config);
    const http = child(conf, 'http')?.block;
    const upstream = child(http, 'upstream', 'strata_gateway')?.block;
    expect(child(upstream, 'least_conn')).toBeDefined();
    expect(Number(child(upstream, 'keepalive')?.args[0])).toBeGreaterThan(0);
    expect(findAll(upstream ?? [], 'server').length).toBe(2);

    // JSON access log with the request id, gzip for JSON.
    const logFormat = child(http, 'log_format', 'strata_json');
    expect(logFormat?.args[1]).toBe('escape=json');
    expect(logFormat?.args.join('')).toContain('"requestId":"$request_id_out"');
    expect(child(http, 'access_log')?.args[1]).toBe('strata_json');
    expect(child(http, 'gzip')?.args).toEqual(['on']);
    expect(child(http, 'gzip_types')?.args).toContain('application/json');

    const server = child(http, 'server')?.block;
    expect(child(server, 'client_max_body_size')?.args).toEqual(['1m']);
    for (const timeout of [
      'proxy_connect_timeout',
      'proxy_read_timeout',
      'proxy_send_timeout',
      'client_body_timeout',
    ]) {
      expect(child(server, timeout)).toBeDefined();
    }
    // Retries only on idempotent methods: the "non_idempotent" flag must never appear.
    const nextUpstream = findAll(conf, 'proxy_next_upstream');
    expect(nextUpstream.length).toBeGreaterThan(0);
    for (const directive of nextUpstream) expect(directive.args).not.toContain('non_idempotent');
    expect(child(server, 'add_header', 'X-Request-Id')?.args).toContain('always');

    // Every location that proxies sets the full forwarding header list (proxy_set_header in a
    // block replaces, not extends, the inherited list).
    const locations = findAll(server ?? [], 'location').filter((location) =>
      child(location.block, 'proxy_pass'),
    );
    expect(locations.length).toBeGreaterThanOrEqual(3);
    for (const location of locations) {
      const headers = proxyHeaders(location.block);
      expect([
        location.args.join(' '),
        headers.get('x-request-id'),
        headers.get('x-forwarded-for'),
      ]).toEqual([location.args.join(' '), '$request_id_out', '$proxy_add_x_forwarded_for']);
    }
    const events = locations.find((location) => location.args.join(' ') === '= /v1/events');
    const eventHeaders = proxyHeaders(events?.block);
    expect(eventHeaders.get('upgrade')).toBe('$http_upgrade');
    expect(eventHeaders.get('connection')).toBe('$connection_upgrade');
    expect(eventHeaders.get('x-forwarded-proto')).toBe('$scheme');
    const media = locations.find((location) => location.args.join(' ') === '= /v1/media');
    expect(child(media?.block, 'client_max_body_size')?.args).toEqual(['11m']);
  });
});

// --- behaviour ---------------------------------------------------------------------------------

interface Backend {
  readonly name: 'A' | 'B';
  readonly server: Server;
  readonly sockets: WebSocketServer;
  port: number;
  readonly hits: Array<{ method: string; path: string; headers: IncomingMessage['headers'] }>;
}

function startBackend(name: 'A' | 'B'): Promise<Backend> {
  const hits: Backend['hits'] = [];
  const sockets = new WebSocketServer({ noServer: true });
  const handler = (request: IncomingMessage, response: ServerResponse): void => {
    const path = request.url ?? '/';
    hits.push({ method: request.method ?? '', path, headers: request.headers });
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      // Replica A "crashes" on this path after the request reached it: no answer at all.
      if (path === '/v1/flaky' && name === 'A') {
        request.socket.destroy();
        return;
      }
      const body =
        path === '/v1/big'
          ? JSON.stringify({
              items: Array.from({ length: 200 }, (_, index) => ({
                index,
                text: 'lorem ipsum dolor',
              })),
            })
          : JSON.stringify({
              served: name,
              bytes: Buffer.concat(chunks).length,
              headers: request.headers,
            });
      // The gateway echoes the request id too: Nginx must not send it twice.
      response.writeHead(200, {
        'content-type': 'application/json',
        'x-request-id': String(request.headers['x-request-id']),
      });
      response.end(body);
    });
  };
  const server = createServer(handler);
  server.on('upgrade', (request, socket, head) => {
    hits.push({ method: 'UPGRADE', path: request.url ?? '/', headers: request.headers });
    sockets.handleUpgrade(request, socket, head, (client) => {
      client.send(JSON.stringify({ served: name, headers: request.headers }));
    });
  });
  return new Promise((resolvePromise) => {
    server.listen(0, '127.0.0.1', () => {
      resolvePromise({ name, server, sockets, port: (server.address() as AddressInfo).port, hits });
    });
  });
}

describe('Nginx in front of two replicas (local variant, running)', () => {
  let backends: Backend[];
  let nginx: ChildProcess;
  let base: string;
  let accessLog: string;

  beforeAll(async () => {
    backends = await Promise.all([startBackend('A'), startBackend('B')]);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const runDir = join(workDir, 'running');
    spawnSync('mkdir', ['-p', runDir]);
    accessLog = join(runDir, 'access.log');
    const configPath = join(runDir, 'nginx.conf');
    writeFileSync(
      configPath,
      render({
        listen: `127.0.0.1:${port}`,
        upstreams: backends.map((backend) => `127.0.0.1:${backend.port}`),
        runDir,
        accessLog,
        errorLog: join(runDir, 'error.log'),
      }),
    );
    nginx = spawn(NGINX, ['-c', configPath], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const ready = await fetch(`${base}/v1/echo`).catch(() => undefined);
      if (ready?.status === 200) break;
      if (Date.now() > deadline) throw new Error('nginx did not start');
      await new Promise((resolvePromise) => setTimeout(resolvePromise, 100));
    }
  });

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((resolvePromise) => nginx.once('exit', resolvePromise));
      nginx.kill('SIGQUIT');
      await exited;
    }
    for (const backend of backends ?? []) {
      backend.sockets.close();
      backend.server.closeAllConnections();
      await new Promise((resolvePromise) => backend.server.close(resolvePromise));
    }
  });

  const postsTo = (name: 'A' | 'B'): number =>
    backends
      .find((backend) => backend.name === name)!
      .hits.filter((hit) => hit.method === 'POST' && hit.path === '/v1/flaky').length;
  const getsTo = (name: 'A' | 'B'): number =>
    backends
      .find((backend) => backend.name === name)!
      .hits.filter((hit) => hit.method === 'GET' && hit.path === '/v1/flaky').length;

  it('never replays a POST that reached a replica', async () => {
    const statuses: number[] = [];
    // Until one POST has landed on the replica that dies mid-request (they alternate).
    for (let attempt = 0; attempt < 10 && postsTo('A') === 0; attempt += 1) {
      const response = await fetch(`${base}/v1/flaky`, {
        method: 'POST',
        body: '{"tip":1}',
        headers: { 'content-type': 'application/json' },
      });
      statuses.push(response.status);
      await response.arrayBuffer();
    }
    expect(postsTo('A')).toBe(1);
    // The POST A swallowed came back as 502 and B never saw it: one delivery per request sent.
    expect(statuses.filter((status) => status === 502)).toHaveLength(1);
    expect(postsTo('A') + postsTo('B')).toBe(statuses.length);
  });

  it('moves an idempotent GET to the other replica when one fails', async () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 10 && getsTo('A') === 0; attempt += 1) {
      const response = await fetch(`${base}/v1/flaky`);
      statuses.push(response.status);
      expect(((await response.json()) as { served: string }).served).toBe('B');
    }
    expect(getsTo('A')).toBe(1);
    expect(statuses.every((status) => status === 200)).toBe(true);
  });

  it('sets X-Request-Id (kept when valid, made when not, returned once) and X-Forwarded-*', async () => {
    const kept = await fetch(`${base}/v1/echo`, { headers: { 'x-request-id': 'client-id-123' } });
    const keptBody = (await kept.json()) as { headers: Record<string, string> };
    expect(kept.headers.get('x-request-id')).toBe('client-id-123');
    expect(keptBody.headers['x-request-id']).toBe('client-id-123');
    expect(keptBody.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(keptBody.headers['x-forwarded-proto']).toBe('http');
    const invalid = await fetch(`${base}/v1/echo`, {
      headers: { 'x-request-id': 'no spaces allowed' },
    });
    const invalidBody = (await invalid.json()) as { headers: Record<string, string> };
    expect(invalidBody.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(invalid.headers.get('x-request-id')).toBe(invalidBody.headers['x-request-id']);
  });

  it('limits bodies to 1 MiB except uploads, and gzips JSON', async () => {
    const large = 'x'.repeat(1_500_000);
    const refused = await fetch(`${base}/v1/echo`, { method: 'POST', body: large });
    expect(refused.status).toBe(413);
    const upload = await fetch(`${base}/v1/media`, { method: 'POST', body: large });
    expect(upload.status).toBe(200);
    expect(((await upload.json()) as { bytes: number }).bytes).toBe(large.length);
    const big = await fetch(`${base}/v1/big`, { headers: { 'accept-encoding': 'gzip' } });
    expect(big.headers.get('content-encoding')).toBe('gzip');
    expect(((await big.json()) as { items: unknown[] }).items).toHaveLength(200);
  });

  it('upgrades /v1/events to WebSocket with the forwarding headers', async () => {
    const socket = new WebSocket(`${base.replace('http', 'ws')}/v1/events`, {
      headers: { 'x-request-id': 'ws-id-1' },
    });
    const message = await new Promise<{ headers: Record<string, string> }>(
      (resolvePromise, reject) => {
        socket.once('message', (raw: Buffer) =>
          resolvePromise(JSON.parse(raw.toString()) as { headers: Record<string, string> }),
        );
        socket.once('error', reject);
      },
    );
    socket.close();
    expect(message.headers.upgrade).toBe('websocket');
    expect(message.headers['x-request-id']).toBe('ws-id-1');
    expect(message.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('writes one JSON object per request to the access log', async () => {
    // Nginx writes the line after the response; give it a moment.
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 200));
    const lines = readFileSync(accessLog, 'utf8').trim().split('\n');
    const entries = lines.map(
      (line) => JSON.parse(line) as { requestId: string; status: number; upstream: string },
    );
    const kept = entries.find((entry) => entry.requestId === 'client-id-123');
    expect(kept?.status).toBe(200);
    expect(entries.some((entry) => entry.status === 413)).toBe(true);
  });
});
