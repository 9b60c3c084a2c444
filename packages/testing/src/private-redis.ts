import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { stablePort } from './free-ports';
import { waitFor } from './wait-for';

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;

export interface PrivateRedisOptions {
  /** The redis-server executable; `redis-server` on `PATH` by default. */
  readonly binary?: string;
}

/**
 * A redis-server of the test's own on a free port of 127.0.0.1, without persistence, which the
 * test may kill and restart (to show reconnects) without disturbing the shared test Redis other
 * suites use. Needs `redis-server` installed; the shared server's URL does not matter here.
 */
export class PrivateRedis {
  private process: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly binary: string,
  ) {}

  /** Starts the server and resolves once it answers PING. */
  static async start(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
    // Outside the ephemeral range: nobody else is handed the port while the server is down.
    const redis = new PrivateRedis(await stablePort(), options.binary ?? 'redis-server');
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://${HOST}:${this.port}`;
  }

  /** ioredis / BullMQ connection options. */
  get connection(): { host: string; port: number } {
    return { host: HOST, port: this.port };
  }

  /** (Re)starts the server on the same port, empty (no persistence: like a crash without AOF). */
  async restart(): Promise<void> {
    await this.stop();
    const child = spawn(
      this.binary,
      ['--port', String(this.port), '--bind', HOST, '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    this.process = child;
    // A missing binary or a taken port ends the child early: say so rather than time out.
    let failure: Error | undefined;
    child.once('error', (error) => {
      failure = error;
    });
    child.once('exit', (code, signal) => {
      failure ??= new Error(`redis-server exited early (code ${code}, signal ${signal})`);
    });
    await waitFor(
      async () => {
        if (failure) throw failure;
        return this.answersAs(child.pid);
      },
      READY_TIMEOUT_MS,
      50,
    );
  }

  /** Kills the server (SIGKILL: like a crash, no clean close of client connections). */
  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    // No pid: it never started (missing binary), so no 'exit' will come.
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /**
   * Whether the server on the port answers and is the child started last (its `process_id`), not
   * another server that took the port meanwhile.
   */
  private async answersAs(pid: number | undefined): Promise<boolean> {
    const probe = new Redis({
      host: HOST,
      port: this.port,
      lazyConnect: true,
      retryStrategy: () => null,
      disconnectTimeout: 50,
    });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      const info = await probe.info('server');
      // Another server on the port keeps this false; our child then exits (port taken) and
      // restart() fails with that, instead of handing the test someone else's Redis.
      return Number(/^process_id:(\d+)/m.exec(info)?.[1]) === pid;
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  }
}
