// Starts the one-machine cluster (deploy/local/start.mjs) as a child process beside whatever a
// developer runs: its own ports, its own databases (a random prefix), its own run directory and its
// own cache Redis, so neither can see the other's data, caches or pub/sub events.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { freePorts } from '@strata/testing';

const LAUNCHER = resolve(__dirname, '../../start.mjs');
const SERVICES = ['user', 'payment', 'content'] as const;
const LOG_TAIL_LINES = 120;

export interface ClusterPorts {
  readonly public: number;
  readonly gatewayA: number;
  readonly gatewayB: number;
  readonly user: number;
  readonly payment: number;
  readonly content: number;
  readonly psp: number;
  readonly queueRedis: number;
  readonly cacheRedis: number;
  readonly admin: number;
  readonly notificationMetrics: number;
  readonly smtp: number;
  readonly mailUi: number;
}

export interface LocalCluster {
  readonly publicUrl: string;
  readonly ports: ClusterPorts;
  readonly runDir: string;
  readonly databasePrefix: string;
  /** Everything the launcher and its processes printed so far (prefixed lines). */
  log(): string;
  /** Pid of one managed process, from the launcher's pid files. */
  pidOf(processName: string): number;
  /** SIGTERM, wait, then drop the databases and remove the run directory. */
  stop(): Promise<void>;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => resolvePromise(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolvePromise(true);
    });
  });
}

/** Kills a detached child's whole process group: nothing it started may outlive the test. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

async function waitForRedis(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`redis-server on ${port} exited with ${child.exitCode}`);
    const answered = await new Promise<boolean>((resolvePromise) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.setTimeout(500);
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data: Buffer) => {
        socket.destroy();
        resolvePromise(data.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolvePromise(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolvePromise(false);
      });
    });
    if (answered) return;
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 100));
  }
  throw new Error(`redis-server on ${port} did not answer`);
}

async function dropDatabases(adminUrl: string, prefix: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    for (const service of SERVICES) {
      // Names are ours (prefix checked by the launcher), so quoting is enough here.
      await client.query(`DROP DATABASE IF EXISTS "${prefix}_${service}" WITH (FORCE)`);
    }
  } finally {
    await client.end();
  }
}

export interface StartOptions {
  readonly adminUrl: string;
  /** Build with nx first (the launcher's default); false only when dists are known to be fresh. */
  readonly build: boolean;
  readonly readyTimeoutMs: number;
}

export async function startLocalCluster(options: StartOptions): Promise<LocalCluster> {
  const [
    publicPort,
    gatewayA,
    gatewayB,
    user,
    payment,
    content,
    psp,
    queueRedis,
    cacheRedis,
    admin,
    metrics,
    smtp,
    mailUi,
  ] = await freePorts(13);
  const ports: ClusterPorts = {
    public: publicPort,
    gatewayA: gatewayA,
    gatewayB: gatewayB,
    user: user,
    payment: payment,
    content: content,
    psp: psp,
    queueRedis: queueRedis,
    cacheRedis: cacheRedis,
    admin: admin,
    notificationMetrics: metrics,
    smtp: smtp,
    mailUi: mailUi,
  };
  const runDir = mkdtempSync(join(tmpdir(), 'strata-e2e-'));
  // mkdtemp makes it 0700; Nginx's workers (nobody, when the test runs as root) buffer uploads in it.
  chmodSync(runDir, 0o755);
  const databasePrefix = `strata_e2e_${randomBytes(4).toString('hex')}`;
  let output = '';

  // The caches, rate limits and event pub/sub of this cluster: a Redis of its own (pub/sub
  // channels are global to a server, whatever the database number).
  const cacheRedisProcess = spawn(
    'redis-server',
    [
      '--port',
      String(ports.cacheRedis),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      runDir,
    ],
    { stdio: 'ignore', detached: true },
  );
  const stopCacheRedis = async (): Promise<void> => {
    killGroup(cacheRedisProcess, 'SIGTERM');
    if (!(await waitForExit(cacheRedisProcess, 5_000))) killGroup(cacheRedisProcess, 'SIGKILL');
  };
  try {
    await waitForRedis(ports.cacheRedis, cacheRedisProcess);
  } catch (error) {
    await stopCacheRedis();
    throw error;
  }

  const launcher = spawn(process.execPath, [LAUNCHER], {
    // Its own process group, so a forced cleanup reaches every process it started.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      STRATA_DATABASE_ADMIN_URL: options.adminUrl,
      STRATA_DATABASE_PREFIX: databasePrefix,
      STRATA_REDIS_URL: `redis://127.0.0.1:${ports.cacheRedis}`,
      STRATA_RUN_DIR: runDir,
      STRATA_SKIP_BUILD: options.build ? '0' : '1',
      STRATA_PUBLIC_PORT: String(ports.public),
      STRATA_GATEWAY_PORTS: `${ports.gatewayA},${ports.gatewayB}`,
      STRATA_USER_PORT: String(ports.user),
      STRATA_PAYMENT_PORT: String(ports.payment),
      STRATA_CONTENT_PORT: String(ports.content),
      STRATA_PSP_PORT: String(ports.psp),
      STRATA_QUEUE_REDIS_PORT: String(ports.queueRedis),
      STRATA_ADMIN_PORT: String(ports.admin),
      STRATA_NOTIFICATION_METRICS_PORT: String(ports.notificationMetrics),
      STRATA_SMTP_PORT: String(ports.smtp),
      STRATA_MAIL_UI_PORT: String(ports.mailUi),
      LOG_LEVEL: 'warn',
      NX_DAEMON: 'false',
      NX_TUI: 'false',
    },
  });
  launcher.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  launcher.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const tail = (): string => output.split('\n').slice(-LOG_TAIL_LINES).join('\n');

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (launcher.exitCode === null && launcher.signalCode === null) {
        launcher.kill('SIGTERM');
        if (!(await waitForExit(launcher, 30_000))) killGroup(launcher, 'SIGKILL');
      }
      // The launcher stops its children before it exits; anything left is a leak: end it.
      killGroup(launcher, 'SIGKILL');
      await stopCacheRedis();
      await dropDatabases(options.adminUrl, databasePrefix);
      rmSync(runDir, { recursive: true, force: true });
    })();
    return stopped;
  };

  try {
    const publicUrl = await new Promise<string>((resolvePromise, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `cluster not ready within ${options.readyTimeoutMs} ms; log tail:\n${tail()}`,
            ),
          ),
        options.readyTimeoutMs,
      );
      const onData = (): void => {
        const match = /\[strata\] ready: (http:\/\/\S+)/.exec(output);
        if (match?.[1]) {
          clearTimeout(timer);
          launcher.stdout.off('data', onData);
          resolvePromise(match[1]);
        }
      };
      launcher.stdout.on('data', onData);
      launcher.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`launcher exited with ${code} before ready; log tail:\n${tail()}`));
      });
    });
    return {
      publicUrl,
      ports,
      runDir,
      databasePrefix,
      log: () => output,
      pidOf: (name) => Number(readFileSync(join(runDir, 'pids', `${name}.pid`), 'utf8').trim()),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
