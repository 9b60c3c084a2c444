// The cluster under test: either a private one-machine cluster started with deploy/local/start.mjs
// (through the same helper the delivery end-to-end test uses: free ports, its own databases with
// a random prefix, its own cache Redis and run directory, all removed on stop), or a running one
// named by URL (`--url`, settings as start.mjs reads them: STRATA_* variables or its defaults).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startLocalCluster } from '../../deploy/local/test/support/local-cluster';
import { allProcesses } from './proc-stats';

export interface BenchCluster {
  readonly publicUrl: string;
  readonly gatewayOrigins: readonly string[];
  readonly ports: { readonly user: number; readonly content: number; readonly queueRedis: number };
  /** Redis of caches, rate limits, the page cache and event pub/sub (start.mjs STRATA_REDIS_URL). */
  readonly redisUrl: string;
  readonly runDir: string;
  readonly adminUrl: string;
  databaseUrl(service: 'user' | 'content' | 'payment'): string;
  /** Pid of every process the cluster runs, by name (from the launcher's pid files). */
  processes(): Map<string, number>;
  /** Only for a cluster started here: stop it and drop what it created. */
  stop(): Promise<void>;
}

const ROOT = resolve(__dirname, '../..');

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function pidFiles(runDir: string): Map<string, number> {
  const result = new Map<string, number>();
  const dir = join(runDir, 'pids');
  if (!existsSync(dir)) return result;
  for (const file of readdirSync(dir)) {
    if (!file.endsWith('.pid')) continue;
    const pid = Number(readFileSync(join(dir, file), 'utf8').trim());
    if (Number.isInteger(pid) && existsSync(`/proc/${pid}`)) result.set(file.slice(0, -4), pid);
  }
  return result;
}

/** The redis-server listening on `port` (the private cache Redis is not in the pid files). */
function redisServerOnPort(port: number): number | undefined {
  for (const sample of allProcesses().values()) {
    if (sample.command !== 'redis-server') continue;
    try {
      const commandLine = readFileSync(`/proc/${sample.pid}/cmdline`, 'utf8').split('\0');
      if (commandLine.join(' ').includes(`:${port}`) || commandLine.includes(String(port))) {
        return sample.pid;
      }
    } catch {
      // ended meanwhile
    }
  }
  return undefined;
}

export async function startBenchCluster(adminUrl: string, build: boolean): Promise<BenchCluster> {
  // Read by the gateway replicas through the launcher's environment: the general per-IP limit
  // (1,000 a minute by default) would turn a load test from one address into 429s.
  process.env.RATE_LIMIT_MAX = '10000000';
  const cluster = await startLocalCluster({ adminUrl, build, readyTimeoutMs: 400_000 });
  const cacheRedisPid = redisServerOnPort(cluster.ports.cacheRedis);
  return {
    publicUrl: cluster.publicUrl,
    gatewayOrigins: [cluster.ports.gatewayA, cluster.ports.gatewayB].map(
      (port) => `http://127.0.0.1:${port}`,
    ),
    ports: {
      user: cluster.ports.user,
      content: cluster.ports.content,
      queueRedis: cluster.ports.queueRedis,
    },
    redisUrl: `redis://127.0.0.1:${cluster.ports.cacheRedis}`,
    runDir: cluster.runDir,
    adminUrl,
    databaseUrl: (service) => withDatabase(adminUrl, `${cluster.databasePrefix}_${service}`),
    processes: () => {
      const found = pidFiles(cluster.runDir);
      if (cacheRedisPid !== undefined) found.set('redis-cache', cacheRedisPid);
      return found;
    },
    stop: () => cluster.stop(),
  };
}

/** A cluster already running (e.g. `npm start`), described by start.mjs's own settings. */
export function attachBenchCluster(publicUrl: string): BenchCluster {
  const env = process.env;
  const adminUrl = env.STRATA_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const prefix = env.STRATA_DATABASE_PREFIX ?? 'strata';
  const runDir = resolve(env.STRATA_RUN_DIR ?? join(ROOT, '.run'));
  const gatewayPorts = (env.STRATA_GATEWAY_PORTS ?? '8081,8082').split(',').map(Number);
  return {
    publicUrl,
    gatewayOrigins: gatewayPorts.map((port) => `http://127.0.0.1:${port}`),
    ports: {
      user: Number(env.STRATA_USER_PORT ?? 50051),
      content: Number(env.STRATA_CONTENT_PORT ?? 50053),
      queueRedis: Number(env.STRATA_QUEUE_REDIS_PORT ?? 6380),
    },
    redisUrl: env.STRATA_REDIS_URL ?? 'redis://127.0.0.1:6379',
    runDir,
    adminUrl,
    databaseUrl: (service) => withDatabase(adminUrl, `${prefix}_${service}`),
    processes: () => pidFiles(runDir),
    stop: () => Promise.resolve(),
  };
}
