// Servers the bench starts beside the cluster: the HTTP baseline (Nginx rendered from the same
// template as the cluster's, in front of two bare Fastify processes, as Nginx fronts two gateway
// replicas), the cold-read content service (the cluster's own build, caches unreachable) and the
// raw-pg baseline of it.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePorts } from '@strata/testing';
import { type BenchChild, startChild } from './child-process';
import { type BenchCluster } from './cluster';
import { CPU_PROFILER_ENV_NAMES } from './cpu-profiles';

const ROOT = resolve(__dirname, '../..');

export interface ManagedServer {
  readonly name: string;
  readonly pid: number;
  stop(): Promise<void>;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('error', () => resolvePromise(false));
  });
}

async function waitUntil(probe: () => Promise<boolean>, what: string, child: ChildProcess) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    if (await probe()) return;
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 200));
  }
  throw new Error(`${what} not ready within 60 s`);
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolvePromise) => child.once('exit', resolvePromise));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
}

function managed(name: string, child: BenchChild): ManagedServer {
  return { name, pid: child.pid, stop: () => child.stop() };
}

interface NginxVariant {
  listen: string;
  upstreams: string[];
  runDir: string;
  accessLog: string;
  errorLog: string;
}

/** Nginx (the cluster's template) → two bare Fastify apps answering with `bodies` by path prefix. */
export async function startHttpBaseline(
  workDir: string,
  responses: { list: ResponseCopy; article: ResponseCopy },
): Promise<{ origin: string; servers: ManagedServer[] }> {
  const [publicPort, first, second] = await freePorts(3);
  const servers: ManagedServer[] = [];
  for (const [index, port] of [first, second].entries()) {
    const child = startChild('baseline-http.server.ts', { port, ...responses });
    await child.next('ready', 60_000);
    servers.push(managed(`baseline-fastify-${index + 1}`, child));
  }
  const { renderNginxConfig } = (await import(
    pathToFileURL(join(ROOT, 'deploy/nginx/render.mjs')).href
  )) as { renderNginxConfig: (variant: NginxVariant) => string };
  const nginxDir = join(workDir, 'nginx-baseline');
  mkdirSync(nginxDir, { recursive: true });
  const configPath = join(nginxDir, 'nginx.conf');
  await writeFile(
    configPath,
    renderNginxConfig({
      listen: `127.0.0.1:${publicPort}`,
      upstreams: [`127.0.0.1:${first}`, `127.0.0.1:${second}`],
      runDir: nginxDir,
      accessLog: join(nginxDir, 'access.log'),
      errorLog: join(nginxDir, 'error.log'),
    }),
  );
  const nginx = spawn('nginx', ['-c', configPath], { stdio: 'ignore' });
  if (nginx.pid === undefined) throw new Error('could not start nginx');
  const origin = `http://127.0.0.1:${publicPort}`;
  await waitUntil(
    async () => {
      try {
        return (await fetch(`${origin}/healthz`)).ok;
      } catch {
        return false;
      }
    },
    'baseline nginx',
    nginx,
  );
  servers.push({ name: 'baseline-nginx', pid: nginx.pid, stop: stopper(nginx) });
  return { origin, servers };
}

export interface ResponseCopy {
  readonly body: string;
  readonly headers: Record<string, string>;
}

/**
 * How long the cold-read pair (the content service with its caches off, and its raw-pg baseline)
 * keep author names in process. Longer than the content service's 10 s default so that, after the
 * warm-up pass over every cold id, neither server asks the user service during its measured run.
 * With 10 s, the names the warm-ups fetched expired part-way through the measured runs, and the
 * slower server, which covers fewer ids per second, met more of them expired: the user service's
 * CPU per cold read was 3–4× the baseline's (0.64–0.94 vs 0.19–0.23 ms in four runs), an artefact of the
 * schedule that the ratio then charged to Prisma.
 */
export const COLD_READ_AUTHOR_NAME_TTL_MS = 120_000;

/** The content service as the cluster runs it, but with its cache Redis unreachable. */
export async function startColdContentService(cluster: BenchCluster): Promise<{
  target: string;
  server: ManagedServer;
}> {
  // Nothing listens on the cache port: the cache kit's client never becomes ready, so every
  // read skips Redis at once (fail open) and goes to PostgreSQL, and every body is rendered.
  const [port, deadCachePort] = await freePorts(2);
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: join(ROOT, 'services/content'),
    env: {
      PATH: process.env.PATH ?? '',
      // With --cpu-prof: the preload and its directory, like every other profiled process.
      ...Object.fromEntries(
        CPU_PROFILER_ENV_NAMES.flatMap((name) => {
          const value = process.env[name];
          return value === undefined ? [] : [[name, value]];
        }),
      ),
      NODE_ENV: 'development',
      LOG_LEVEL: 'error',
      CONTENT_GRPC_HOST: '127.0.0.1',
      CONTENT_GRPC_PORT: String(port),
      DATABASE_URL: cluster.databaseUrl('content'),
      REDIS_CACHE_URL: `redis://127.0.0.1:${deadCachePort}`,
      REDIS_QUEUE_URL: `redis://127.0.0.1:${cluster.ports.queueRedis}`,
      REDIS_EVENTS_URL: cluster.redisUrl,
      USER_SERVICE_URL: `dns:///127.0.0.1:${cluster.ports.user}`,
      AUTHOR_NAME_CACHE_TTL_MS: String(COLD_READ_AUTHOR_NAME_TTL_MS),
      MEDIA_STORAGE_DIR: join(cluster.runDir, 'media'),
    },
    stdio: 'ignore',
  });
  if (child.pid === undefined) throw new Error('could not start the cold content service');
  await waitUntil(() => canConnect(port), 'content (caches off)', child);
  return {
    target: `127.0.0.1:${port}`,
    server: { name: 'content-cold', pid: child.pid, stop: stopper(child) },
  };
}

export async function startRawPgContentBaseline(cluster: BenchCluster): Promise<{
  target: string;
  server: ManagedServer;
}> {
  const [port] = await freePorts(1);
  const child = startChild('baseline-content.server.ts', {
    port,
    databaseUrl: cluster.databaseUrl('content'),
    userServiceUrl: `dns:///127.0.0.1:${cluster.ports.user}`,
    poolMax: 10, // the content service's DB_POOL_MAX default
    authorNameTtlMs: COLD_READ_AUTHOR_NAME_TTL_MS,
  });
  await child.next('ready', 60_000);
  return { target: `127.0.0.1:${port}`, server: managed('content-raw-pg', child) };
}
