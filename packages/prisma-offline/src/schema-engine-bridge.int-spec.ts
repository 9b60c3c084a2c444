// The bridge's side of the protocol, driven directly the way the Prisma CLI drives it.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { schemaEngineBridgePath } from './prisma-cli';
import {
  createDatabase,
  databaseNamesLike,
  databaseUrl,
  dropDatabase,
  uniqueDatabaseName,
} from './testing/fixture-project';

jest.setTimeout(60_000);

const SCHEMA = `datasource db {
  provider = "postgresql"
}

model Tip {
  id     Int    @id @default(autoincrement())
  amount BigInt
}
`;

interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runBridge(args: string[]): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [schemaEngineBridgePath, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface RpcResponse {
  id: number;
  result?: unknown;
  error?: {
    code: number;
    message: string;
    data?: { message?: string; error_code?: string | null; is_panic?: boolean };
  };
}

/** Speaks newline-delimited JSON-RPC to a bridge process, answering its `print` requests as the CLI does. */
class RpcSession {
  readonly printed: string[] = [];
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting = new Map<number, (response: RpcResponse) => void>();
  private nextId = 1;
  private readonly exited: Promise<number | null>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [schemaEngineBridgePath, ...args], { stdio: 'pipe' });
    this.child.stderr.resume();
    this.exited = new Promise((resolve) => this.child.on('close', resolve));
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as RpcResponse & {
        method?: string;
        params?: { content: string };
        id: number | string;
      };
      if (message.method === 'print') {
        this.printed.push(message.params?.content ?? '');
        this.child.stdin.write(
          `${JSON.stringify({ jsonrpc: '2.0', id: message.id, result: {} })}\n`,
        );
        return;
      }
      this.waiting.get(message.id)?.(message);
      this.waiting.delete(message.id);
    });
  }

  call(method: string, params?: unknown): Promise<RpcResponse> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  }

  /** Ends stdin as the CLI does when it stops the engine; resolves with the exit code. */
  stop(): Promise<number | null> {
    this.child.stdin.end();
    return this.exited;
  }

  /** For cleanup after a failed assertion: the process must not outlive the test. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** Runs a test body against a fresh bridge process and never leaves that process behind. */
async function withSession(
  args: string[],
  body: (session: RpcSession) => Promise<void>,
): Promise<void> {
  const session = new RpcSession(args);
  try {
    await body(session);
  } finally {
    await session.kill();
  }
}

const emptyMigrationsList = (baseDir: string): unknown => ({
  baseDir,
  lockfile: { path: 'migration_lock.toml', content: null },
  shadowDbInitScript: '',
  migrationDirectories: [],
});

const NO_FILTERS = { externalTables: [], externalEnums: [] };

describe('schema-engine bridge', () => {
  const database = uniqueDatabaseName('bridge');
  let schemaDir: string;
  let schemaPath: string;

  beforeAll(async () => {
    schemaDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bridge-'));
    schemaPath = path.join(schemaDir, 'schema.prisma');
    fs.writeFileSync(schemaPath, SCHEMA);
    await createDatabase(database);
  });

  afterAll(async () => {
    await dropDatabase(database);
    fs.rmSync(schemaDir, { recursive: true, force: true });
  });

  it('--version names the engine commit of the pinned wasm build', async () => {
    const result = await runBridge(['--version']);

    expect(result).toMatchObject({
      code: 0,
      stdout: 'schema-engine-cli 0edf323efd1d98336f3f0a68684b56f689b900d3\n',
    });
  });

  it('cli can-connect-to-database reports P1003 for a missing database after a harmless first stderr line', async () => {
    const missing = uniqueDatabaseName('missing');
    const result = await runBridge([
      '--datasource',
      JSON.stringify({ url: databaseUrl(missing) }),
      'cli',
      'can-connect-to-database',
    ]);

    expect(result.code).toBe(1);
    // The CLI drops the first line, then JSON-parses every other line and looks for this one.
    const [first, ...rest] = result.stderr.trimEnd().split('\n');
    expect(JSON.parse(first)).toMatchObject({ level: 'INFO' });
    expect(rest.map((line) => JSON.parse(line) as unknown)).toContainEqual(
      expect.objectContaining({
        level: 'ERROR',
        target: 'schema_engine::logger',
        fields: expect.objectContaining({ error_code: 'P1003' }) as unknown,
      }),
    );
  });

  it('cli create-database creates the database, after which can-connect succeeds', async () => {
    const created = uniqueDatabaseName('created');
    const datasource = JSON.stringify({ url: databaseUrl(created) });
    try {
      expect((await runBridge(['--datasource', datasource, 'cli', 'create-database'])).code).toBe(
        0,
      );
      expect(await databaseNamesLike(created)).toEqual([created]);
      expect(
        (await runBridge(['--datasource', datasource, 'cli', 'can-connect-to-database'])).code,
      ).toBe(0);
    } finally {
      await dropDatabase(created);
    }
  });

  it('answers JSON-RPC: database version, diff printed through the CLI, engine errors with P-codes, clean exit', async () => {
    await withSession(
      ['--datamodels', schemaPath, '--datasource', JSON.stringify({ url: databaseUrl(database) })],
      async (session) => {
        const version = await session.call('getDatabaseVersion');
        expect(version.result).toEqual(expect.stringContaining('PostgreSQL'));

        const diff = await session.call('diff', {
          from: { tag: 'empty' },
          to: { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: SCHEMA }] },
          script: true,
          exitCode: null,
          filters: NO_FILTERS,
        });
        expect(diff.result).toEqual({ exitCode: 0 });
        expect(session.printed.join('\n')).toContain('CREATE TABLE "Tip"');

        const unknown = await session.call('noSuchMethod', {});
        expect(unknown.error).toMatchObject({ code: -32601 });

        // Applying an empty history creates the migrations table; rolling back an unknown
        // migration is then a user-facing error that must keep its P-code.
        const applied = await session.call('applyMigrations', {
          migrationsList: emptyMigrationsList(schemaDir),
          filters: NO_FILTERS,
        });
        expect(applied.result).toEqual({ appliedMigrationNames: [] });
        const rolledBack = await session.call('markMigrationRolledBack', { migrationName: 'nope' });
        expect(rolledBack.error?.data).toMatchObject({ error_code: 'P3011', is_panic: false });

        expect(await session.stop()).toBe(0);
      },
    );
  });

  it('diffs schemas without any database when no datasource URL is given', async () => {
    await withSession(['--datamodels', schemaPath], async (session) => {
      const diff = await session.call('diff', {
        from: { tag: 'empty' },
        to: { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: SCHEMA }] },
        script: true,
        exitCode: true,
        filters: NO_FILTERS,
      });
      expect(diff.result).toEqual({ exitCode: 2 });
      expect(session.printed.join('\n')).toContain('"amount" BIGINT NOT NULL');

      const needsDatabase = await session.call('diagnoseMigrationHistory', {
        migrationsList: emptyMigrationsList(schemaDir),
        optInToShadowDatabase: false,
        filters: NO_FILTERS,
      });
      expect(needsDatabase.error?.data?.message).toContain('needs a database');

      expect(await session.stop()).toBe(0);
    });
  });
});
