#!/usr/bin/env node
// @ts-check
// One-machine Strata (`npm start`): real processes on this machine behind Nginx, no Docker.
// Creates each service's database if missing, applies migrations with the Prisma CLI, builds,
// starts every service, worker, the provider simulator, two gateway replicas and Nginx, waits for
// health, and prints the public URL. Ctrl-C / SIGTERM stops everything in reverse order.
//
// Overrides (all optional), so a second cluster (e.g. the end-to-end test) can run beside a
// developer's: STRATA_DATABASE_ADMIN_URL, STRATA_DATABASE_PREFIX (databases <prefix>_user, …),
// STRATA_REDIS_URL (caches, events), STRATA_RUN_DIR, STRATA_SKIP_BUILD=1, and the ports
// STRATA_PUBLIC_PORT (8080), STRATA_GATEWAY_PORTS (8081,8082), STRATA_USER_PORT (50051),
// STRATA_PAYMENT_PORT (50052), STRATA_CONTENT_PORT (50053), STRATA_PSP_PORT (4010),
// STRATA_QUEUE_REDIS_PORT (6380), STRATA_ADMIN_PORT (9400, queue dashboard),
// STRATA_NOTIFICATION_METRICS_PORT (9464), STRATA_SMTP_PORT (1025), STRATA_MAIL_UI_PORT (8025).
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { renderNginxConfig } from '../nginx/render.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const settings = {
  adminUrl: process.env.STRATA_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  redisUrl: process.env.STRATA_REDIS_URL ?? 'redis://127.0.0.1:6379',
  publicPort: Number(process.env.STRATA_PUBLIC_PORT ?? 8080),
  queueRedisPort: Number(process.env.STRATA_QUEUE_REDIS_PORT ?? 6380),
  runDir: resolve(process.env.STRATA_RUN_DIR ?? join(ROOT, '.run')),
  skipBuild: process.env.STRATA_SKIP_BUILD === '1',
  databasePrefix: process.env.STRATA_DATABASE_PREFIX ?? 'strata',
  gatewayPorts: (process.env.STRATA_GATEWAY_PORTS ?? '8081,8082')
    .split(',')
    .map((port) => Number(port.trim())),
  userPort: Number(process.env.STRATA_USER_PORT ?? 50051),
  paymentPort: Number(process.env.STRATA_PAYMENT_PORT ?? 50052),
  contentPort: Number(process.env.STRATA_CONTENT_PORT ?? 50053),
  pspPort: Number(process.env.STRATA_PSP_PORT ?? 4010),
  adminPort: Number(process.env.STRATA_ADMIN_PORT ?? 9400),
  notificationMetricsPort: Number(process.env.STRATA_NOTIFICATION_METRICS_PORT ?? 9464),
  smtpPort: Number(process.env.STRATA_SMTP_PORT ?? 1025),
  mailUiPort: Number(process.env.STRATA_MAIL_UI_PORT ?? 8025),
};
if (!/^[a-z][a-z0-9_]{0,40}$/.test(settings.databasePrefix)) {
  process.stderr.write('[strata] ERROR: STRATA_DATABASE_PREFIX must match [a-z][a-z0-9_]{0,40}\n');
  process.exit(1);
}
for (const [name, port] of Object.entries(settings)) {
  const ports = Array.isArray(port) ? port : name.endsWith('Port') ? [Number(port)] : [];
  if (ports.some((value) => !Number.isInteger(value) || value < 1 || value > 65535)) {
    process.stderr.write(`[strata] ERROR: ${name} is not a valid port list: ${String(port)}\n`);
    process.exit(1);
  }
}
/** One database per service, named <prefix>_<service>. @param {string} service */
const databaseName = (service) => `${settings.databasePrefix}_${service}`;
const STOP_GRACE_MS = 15_000;
const READY_TIMEOUT_MS = 90_000;

/** @param {string} message */
function say(message) {
  process.stdout.write(`[strata] ${message}\n`);
}

/** @param {string} message @returns {never} */
function fail(message) {
  process.stderr.write(`[strata] ERROR: ${message}\n`);
  process.exit(1);
}

/** @param {string} url @param {string} database */
function withDatabase(url, database) {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** @param {string} url @param {number} db */
function withRedisDb(url, db) {
  const parsed = new URL(url);
  parsed.pathname = `/${db}`;
  return parsed.toString();
}

/** Resolves when host:port accepts a TCP connection. @param {string} host @param {number} port */
function canConnect(host, port) {
  return new Promise((resolvePromise) => {
    const socket = connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('error', () => resolvePromise(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolvePromise(false);
    });
  });
}

/** @param {string} url */
async function redisAnswers(url) {
  const parsed = new URL(url);
  return new Promise((resolvePromise) => {
    const socket = connect({ host: parsed.hostname, port: Number(parsed.port || 6379) });
    socket.setTimeout(1000);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolvePromise(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolvePromise(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolvePromise(false);
    });
  });
}

/** @param {string} url */
async function httpOk(url) {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return response.ok;
  } catch {
    return false;
  }
}

/** @param {() => Promise<boolean>} probe @param {string} what */
async function waitFor(probe, what) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await probe()) return;
    if (stopping) throw new Error('stopped');
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 300));
  }
  throw new Error(
    `${what} was not ready within ${READY_TIMEOUT_MS / 1000}s (see its log lines above)`,
  );
}

/** @param {string[]} databases */
async function ensureDatabases(databases) {
  const client = new pg.Client({ connectionString: settings.adminUrl });
  await client.connect();
  try {
    for (const database of databases) {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (exists.rowCount === 0) {
        say(`creating database ${database}`);
        await client.query(`CREATE DATABASE "${database}"`);
      }
    }
  } finally {
    await client.end();
  }
}

/** @param {string} command @param {string[]} args @param {{cwd?: string, env?: NodeJS.ProcessEnv}} [options] */
function runOrFail(command, args, options = {}) {
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: 'inherit',
  });
  if (result.status !== 0) fail(`${command} ${args.join(' ')} failed (exit ${result.status})`);
}

/** Dev-only Ed25519 signing key for access tokens, made once per run directory. */
function ensureSigningKey() {
  const path = join(settings.runDir, 'keys', 'jwt-ed25519.pem');
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  }
  return readFileSync(path, 'utf8');
}

/** A stable random secret per run directory (PSP API key, webhook secret). @param {string} name */
function ensureSecret(name) {
  const path = join(settings.runDir, 'keys', name);
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, randomBytes(24).toString('hex'), { mode: 0o600 });
  }
  return readFileSync(path, 'utf8').trim();
}

/**
 * `restart`: a replica (the gateways) is restarted when it dies, as an orchestrator would, and the
 * others keep serving meanwhile; any other process dying stops everything.
 * @typedef {{ name: string, command: string, args: string[], env?: Record<string, string>, cwd?: string, ready?: () => Promise<boolean>, restart?: boolean }} ProcessSpec
 */
const RESTART_DELAY_MS = 1_000;
const MAX_RESTARTS_PER_MINUTE = 5;
/** @type {Map<string, number[]>} restart times per process name */
const restarts = new Map();
/** @type {Array<{ spec: ProcessSpec, child: import('node:child_process').ChildProcess, exited: Promise<number | null> }>} */
const running = [];
let stopping = false;

/** Prefixes each output line with the process name, so all logs read as one stream. @param {string} name @param {NodeJS.ReadableStream} stream @param {NodeJS.WritableStream} out */
function pipeWithPrefix(name, stream, out) {
  let pending = '';
  const prefix = `${name.padEnd(16)}| `;
  stream.on('data', (chunk) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) out.write(prefix + line + '\n');
  });
  stream.on('end', () => {
    if (pending) out.write(prefix + pending + '\n');
  });
}

/** @param {ProcessSpec} spec */
function startProcess(spec) {
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd ?? ROOT,
    env: { ...process.env, NODE_ENV: 'development', ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.stdout) pipeWithPrefix(spec.name, child.stdout, process.stdout);
  if (child.stderr) pipeWithPrefix(spec.name, child.stderr, process.stderr);
  // Pid files let tools (and the end-to-end test) signal one process, e.g. kill one replica.
  mkdirSync(join(settings.runDir, 'pids'), { recursive: true });
  if (child.pid !== undefined)
    writeFileSync(join(settings.runDir, 'pids', `${spec.name}.pid`), `${child.pid}\n`);
  const exited = new Promise((resolvePromise) => {
    child.once('exit', (code, signal) => {
      if (!stopping) {
        const now = Date.now();
        const recent = (restarts.get(spec.name) ?? []).filter((time) => now - time < 60_000);
        if (spec.restart && recent.length < MAX_RESTARTS_PER_MINUTE) {
          restarts.set(spec.name, [...recent, now]);
          say(
            `${spec.name} exited unexpectedly (code ${code}, signal ${signal}); restarting it in ${RESTART_DELAY_MS} ms`,
          );
          setTimeout(() => {
            if (!stopping) startProcess(spec);
          }, RESTART_DELAY_MS);
        } else {
          say(
            `${spec.name} exited unexpectedly (code ${code}, signal ${signal}); stopping everything`,
          );
          void stopAll(1);
        }
      }
      resolvePromise(code);
    });
  });
  running.push({ spec, child, exited });
}

/** Stops processes in reverse start order: SIGTERM, then SIGKILL after the grace period. @param {number} exitCode */
async function stopAll(exitCode) {
  if (stopping) return;
  stopping = true;
  say('stopping');
  for (const entry of [...running].reverse()) {
    if (entry.child.exitCode !== null || entry.child.signalCode !== null) continue;
    entry.child.kill('SIGTERM');
    const timer = setTimeout(() => entry.child.kill('SIGKILL'), STOP_GRACE_MS);
    await entry.exited;
    clearTimeout(timer);
  }
  say('stopped');
  process.exit(exitCode);
}

/** Renders the shared template for this machine (see deploy/nginx/render.mjs). @param {number[]} gatewayPorts @param {string} mediaLimit */
function writeNginxConfig(gatewayPorts, mediaLimit) {
  const nginxDir = join(settings.runDir, 'nginx');
  mkdirSync(nginxDir, { recursive: true });
  // Started as root, Nginx runs its workers as `nobody`; they buffer request bodies over 16 KiB
  // (uploads) in the run directory, so every folder above it must be enterable by others.
  if (process.getuid?.() === 0) {
    for (let folder = nginxDir; folder !== dirname(folder); folder = dirname(folder)) {
      if ((statSync(folder).mode & 0o001) === 0) {
        say(
          `warning: ${folder} is not enterable by others: Nginx workers (nobody) cannot buffer uploads; use a STRATA_RUN_DIR under a world-enterable folder (e.g. chmod o+x ${folder})`,
        );
        break;
      }
    }
  }
  const rendered = renderNginxConfig({
    listen: `127.0.0.1:${settings.publicPort}`,
    upstreams: gatewayPorts.map((port) => `127.0.0.1:${port}`),
    runDir: nginxDir,
    accessLog: join(nginxDir, 'nginx-access.log'),
    errorLog: join(nginxDir, 'nginx-error.log'),
    bodyLimit: '1m',
    mediaBodyLimit: mediaLimit,
  });
  const path = join(nginxDir, 'nginx.conf');
  writeFileSync(path, rendered);
  return path;
}

async function main() {
  for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
    process.on(signal, () => void stopAll(0));
  }
  mkdirSync(settings.runDir, { recursive: true });

  const nginx = ['nginx', '/usr/sbin/nginx'].find(
    (candidate) => !spawnSync(candidate, ['-v']).error,
  );
  if (!nginx) return fail('nginx is not installed: apt-get install -y nginx-light (or nginx)');
  if (spawnSync('redis-server', ['--version']).error) {
    fail(
      'redis-server is not installed (needed for the dedicated queue Redis): apt-get install -y redis-server',
    );
  }
  if (!(await redisAnswers(settings.redisUrl)))
    fail(`Redis does not answer at ${settings.redisUrl}`);
  try {
    await ensureDatabases(['user', 'payment', 'content'].map(databaseName));
  } catch (error) {
    fail(
      `PostgreSQL at ${settings.adminUrl} is not usable: ${error instanceof Error ? error.message : error}`,
    );
  }

  if (!settings.skipBuild) {
    say('building (nx run-many -t build)');
    runOrFail('npx', ['nx', 'run-many', '-t', 'build', '--outputStyle=static']);
  }

  const databaseUrls = {
    user: withDatabase(settings.adminUrl, databaseName('user')),
    payment: withDatabase(settings.adminUrl, databaseName('payment')),
    content: withDatabase(settings.adminUrl, databaseName('content')),
  };
  for (const [service, url] of Object.entries(databaseUrls)) {
    say(`migrating ${service}`);
    runOrFail(
      'node',
      [join(ROOT, 'packages/prisma-offline/bin/strata-prisma.cjs'), 'migrate', 'deploy'],
      {
        cwd: join(ROOT, 'services', service),
        env: { DATABASE_URL: url },
      },
    );
  }

  // Queues need a Redis that never evicts and keeps an append-only file; caches may evict.
  const queueRedisDir = join(settings.runDir, 'redis-queue');
  mkdirSync(queueRedisDir, { recursive: true });
  const queueRedisUrl = `redis://127.0.0.1:${settings.queueRedisPort}`;
  const signingKey = ensureSigningKey();
  const pspApiKey = ensureSecret('psp-api-key');
  const pspWebhookSecret = ensureSecret('psp-webhook-secret');
  const adminPassword = ensureSecret('admin-password');
  const jwt = { JWT_ISSUER: 'strata-user', JWT_AUDIENCE: 'strata-api' };
  const ports = {
    user: settings.userPort,
    payment: settings.paymentPort,
    content: settings.contentPort,
    psp: settings.pspPort,
  };
  const mediaMaxBytes = String(10 * 1024 * 1024);
  const common = {
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    REDIS_QUEUE_URL: queueRedisUrl,
    REDIS_EVENTS_URL: withRedisDb(settings.redisUrl, 0),
  };
  const node = process.execPath;
  const serviceDir = (/** @type {string} */ name) => join(ROOT, 'services', name);

  /** @type {ProcessSpec[]} */
  const specs = [
    {
      name: 'redis-queue',
      command: 'redis-server',
      args: [
        '--port',
        String(settings.queueRedisPort),
        '--bind',
        '127.0.0.1',
        '--appendonly',
        'yes',
        '--maxmemory-policy',
        'noeviction',
        '--dir',
        queueRedisDir,
        '--save',
        '',
      ],
      ready: () => redisAnswers(queueRedisUrl),
    },
    {
      name: 'psp-simulator',
      command: node,
      args: ['dist/main.js'],
      cwd: serviceDir('psp-simulator'),
      env: {
        ...common,
        PSP_PORT: String(ports.psp),
        PSP_HOST: '127.0.0.1',
        PSP_API_KEY: pspApiKey,
        PSP_WEBHOOK_SECRET: pspWebhookSecret,
        PSP_WEBHOOK_URL: `http://127.0.0.1:${settings.publicPort}/v1/webhooks/psp`,
      },
      ready: () => canConnect('127.0.0.1', ports.psp),
    },
    {
      name: 'user',
      command: node,
      args: ['dist/main.js'],
      cwd: serviceDir('user'),
      env: {
        ...common,
        ...jwt,
        USER_GRPC_PORT: String(ports.user),
        DATABASE_URL: databaseUrls.user,
        REDIS_CACHE_URL: withRedisDb(settings.redisUrl, 1),
        JWT_PRIVATE_KEY: signingKey,
        JWT_KEY_ID: 'dev-1',
      },
      ready: () => canConnect('127.0.0.1', ports.user),
    },
    {
      name: 'user-worker',
      command: node,
      args: ['dist/worker.js'],
      cwd: serviceDir('user'),
      env: {
        ...common,
        ...jwt,
        DATABASE_URL: databaseUrls.user,
        REDIS_CACHE_URL: withRedisDb(settings.redisUrl, 1),
        JWT_PRIVATE_KEY: signingKey,
        JWT_KEY_ID: 'dev-1',
      },
    },
    {
      name: 'content',
      command: node,
      args: ['dist/main.js'],
      cwd: serviceDir('content'),
      env: {
        ...common,
        CONTENT_GRPC_PORT: String(ports.content),
        DATABASE_URL: databaseUrls.content,
        REDIS_CACHE_URL: withRedisDb(settings.redisUrl, 3),
        USER_SERVICE_URL: `dns:///127.0.0.1:${ports.user}`,
        MEDIA_STORAGE_DIR: join(settings.runDir, 'media'),
        MEDIA_MAX_BYTES: mediaMaxBytes,
      },
      ready: () => canConnect('127.0.0.1', ports.content),
    },
    {
      name: 'content-worker',
      command: node,
      args: ['dist/worker.js'],
      cwd: serviceDir('content'),
      env: {
        ...common,
        DATABASE_URL: databaseUrls.content,
        REDIS_CACHE_URL: withRedisDb(settings.redisUrl, 3),
        USER_SERVICE_URL: `dns:///127.0.0.1:${ports.user}`,
        MEDIA_STORAGE_DIR: join(settings.runDir, 'media'),
        MEDIA_MAX_BYTES: mediaMaxBytes,
      },
    },
    {
      name: 'payment',
      command: node,
      args: ['dist/main.js'],
      cwd: serviceDir('payment'),
      env: {
        ...common,
        PAYMENT_GRPC_PORT: String(ports.payment),
        DATABASE_URL: databaseUrls.payment,
        REDIS_CACHE_URL: withRedisDb(settings.redisUrl, 2),
        USER_SERVICE_URL: `dns:///127.0.0.1:${ports.user}`,
        PSP_URL: `http://127.0.0.1:${ports.psp}`,
        PSP_API_KEY: pspApiKey,
        PSP_WEBHOOK_SECRET: pspWebhookSecret,
      },
      ready: () => canConnect('127.0.0.1', ports.payment),
    },
    {
      name: 'payment-worker',
      command: node,
      args: ['dist/worker.js'],
      cwd: serviceDir('payment'),
      env: {
        ...common,
        DATABASE_URL: databaseUrls.payment,
        REDIS_CACHE_URL: withRedisDb(settings.redisUrl, 2),
        USER_SERVICE_URL: `dns:///127.0.0.1:${ports.user}`,
        PSP_URL: `http://127.0.0.1:${ports.psp}`,
        PSP_API_KEY: pspApiKey,
        PSP_WEBHOOK_SECRET: pspWebhookSecret,
      },
    },
    {
      name: 'mail-catcher',
      command: node,
      args: [join(ROOT, 'deploy/local/mail-catcher.mjs')],
      env: {
        MAIL_CATCHER_HOST: '127.0.0.1',
        MAIL_CATCHER_SMTP_PORT: String(settings.smtpPort),
        MAIL_CATCHER_HTTP_PORT: String(settings.mailUiPort),
      },
      ready: () => httpOk(`http://127.0.0.1:${settings.mailUiPort}/healthz`),
    },
    {
      name: 'notification',
      command: node,
      args: ['dist/worker.js'],
      cwd: serviceDir('notification'),
      env: {
        ...common,
        USER_SERVICE_URL: `dns:///127.0.0.1:${ports.user}`,
        SMTP_URL: `smtp://127.0.0.1:${settings.smtpPort}`,
        MAIL_FROM: 'Strata <no-reply@strata.localhost>',
        PUBLIC_WEB_URL: `http://127.0.0.1:${settings.publicPort}`,
        ADMIN_HOST: '127.0.0.1',
        ADMIN_PORT: String(settings.adminPort),
        ADMIN_USER: 'admin',
        ADMIN_PASSWORD: adminPassword,
        METRICS_PORT: String(settings.notificationMetricsPort),
      },
      ready: () => httpOk(`http://127.0.0.1:${settings.adminPort}/healthz`),
    },
    ...settings.gatewayPorts.map((port, index) => ({
      name: `gateway-${String.fromCharCode(97 + index)}`,
      command: node,
      args: ['dist/main.js'],
      cwd: serviceDir('gateway'),
      env: {
        ...common,
        ...jwt,
        GATEWAY_PORT: String(port),
        GATEWAY_HOST: '127.0.0.1',
        REDIS_GATEWAY_URL: withRedisDb(settings.redisUrl, 4),
        USER_SERVICE_URL: `dns:///127.0.0.1:${ports.user}`,
        PAYMENT_SERVICE_URL: `dns:///127.0.0.1:${ports.payment}`,
        CONTENT_SERVICE_URL: `dns:///127.0.0.1:${ports.content}`,
        MEDIA_MAX_BYTES: mediaMaxBytes,
        TRUST_PROXY: 'true',
      },
      restart: true,
      ready: () => httpOk(`http://127.0.0.1:${port}/readyz`),
    })),
  ];

  // A service whose build output is missing has not landed yet: say so instead of crashing.
  const available = specs.filter((spec) => {
    const present = spec.cwd === undefined || existsSync(join(spec.cwd, spec.args[0] ?? ''));
    if (!present)
      say(`skipping ${spec.name}: ${join(spec.cwd ?? ROOT, spec.args[0] ?? '')} is not built`);
    return present;
  });
  const gatewayPorts = available
    .filter((spec) => spec.name.startsWith('gateway-'))
    .map((spec) => Number(spec.env?.GATEWAY_PORT));
  if (gatewayPorts.length > 0) {
    const configPath = writeNginxConfig(gatewayPorts, '11m');
    runOrFail(nginx, ['-t', '-q', '-c', configPath]);
    available.push({
      name: 'nginx',
      command: nginx,
      args: ['-c', configPath],
      ready: () => httpOk(`http://127.0.0.1:${settings.publicPort}/healthz`),
    });
  }

  for (const spec of available) {
    startProcess(spec);
    if (spec.ready) await waitFor(spec.ready, spec.name);
  }
  const publicUrl = `http://127.0.0.1:${settings.publicPort}`;
  say(
    gatewayPorts.length > 0
      ? `ready: ${publicUrl}  docs: ${publicUrl}/docs  dashboard: http://127.0.0.1:${settings.adminPort}/queues (admin / ${join(settings.runDir, 'keys', 'admin-password')})  mail: http://127.0.0.1:${settings.mailUiPort}  (Ctrl-C stops everything)`
      : `ready (no gateway built yet, so no public URL): gRPC user :${ports.user}, payment :${ports.payment}, content :${ports.content}  (Ctrl-C stops everything)`,
  );
}

main().catch((error) => {
  process.stderr.write(
    `[strata] ERROR: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  void stopAll(1);
});
