import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { freePort, stablePort } from './free-ports';
import { PrivateRedis } from './private-redis';
import { waitFor } from './wait-for';

// Needs `redis-server` on PATH (it is what PrivateRedis runs); no shared server involved.
jest.setTimeout(30_000);

/** A client that fails fast instead of retrying, so a dead server shows as an error. */
function client(url: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  });
  redis.on('error', () => undefined);
  return redis;
}

/** Resolves with the socket error code of a TCP connect to 127.0.0.1:port ('connected' if none). */
function tcpConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('PrivateRedis', () => {
  let redis: PrivateRedis | undefined;
  afterEach(async () => {
    await redis?.stop();
    redis = undefined;
  });

  it('serves on its own port, dies on stop, and comes back empty on the same port', async () => {
    redis = await PrivateRedis.start();
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(redis.connection).toEqual({ host: '127.0.0.1', port: redis.port });

    const first = client(redis.url);
    await first.connect();
    try {
      await first.set('kept?', 'yes');
      expect(await first.get('kept?')).toBe('yes');
    } finally {
      first.disconnect();
    }

    await redis.stop();
    await expect(tcpConnect(redis.port)).resolves.toBe('ECONNREFUSED');

    await redis.restart();
    const second = client(redis.url);
    await second.connect();
    try {
      expect(await second.get('kept?')).toBeNull(); // no persistence: like a crash without AOF
    } finally {
      second.disconnect();
    }
  });

  it('refuses to come back on a port another redis-server took while it was down', async () => {
    redis = await PrivateRedis.start();
    await redis.stop();
    const port = redis.port;
    const squatter = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', ''],
      {
        stdio: 'ignore',
      },
    );
    const exited = new Promise((resolve) => squatter.once('exit', resolve));
    try {
      await waitFor(async () => (await tcpConnect(port)) === 'connected', 10_000, 20);
      await expect(redis.restart()).rejects.toThrow(/exited early/);
    } finally {
      squatter.kill('SIGKILL');
      await exited;
    }
  });

  it('fails fast when redis-server cannot start', async () => {
    const started = Date.now();
    await expect(PrivateRedis.start({ binary: '/nonexistent/redis-server' })).rejects.toThrow(
      /ENOENT/,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('freePort', () => {
  it('returns a port nobody listens on', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    await expect(tcpConnect(port)).resolves.toBe('ECONNREFUSED');
  });
});

describe('stablePort', () => {
  it('returns a free port below the ephemeral range (never handed out for listen(0))', async () => {
    const port = await stablePort();
    expect(port).toBeGreaterThanOrEqual(20_000);
    expect(port).toBeLessThan(32_768);
    await expect(tcpConnect(port)).resolves.toBe('ECONNREFUSED');
  });
});

describe('waitFor', () => {
  it('resolves once the condition holds and rejects after the timeout', async () => {
    let calls = 0;
    await waitFor(() => ++calls === 3, 1_000, 1);
    expect(calls).toBe(3);
    await expect(waitFor(() => false, 30, 5)).rejects.toThrow('condition not met within 30 ms');
  });
});
