import { PrismaPg } from '@prisma/adapter-pg';
import { createDatabase, type Database, type PrismaClientSettings } from './database';

/** Stands for a generated client: records what the kit gives its constructor and `$on`. */
class RecordingClient {
  static built: PrismaClientSettings[] = [];
  readonly listeners = new Map<string, (event: { query: string }) => void>();

  constructor(settings: PrismaClientSettings) {
    RecordingClient.built.push(settings);
  }

  $on(event: string, callback: (event: { query: string }) => void): void {
    this.listeners.set(event, callback);
  }

  $disconnect(): Promise<void> {
    return Promise.resolve();
  }
}

/** A client type without `$on` (not a generated one). */
class BareClient {
  $disconnect(): Promise<void> {
    return Promise.resolve();
  }
}

describe('createDatabase client settings', () => {
  // Pools connect lazily: nothing below reaches a server.
  const url = 'postgresql://nobody@127.0.0.1:1/none';
  const opened: Database<RecordingClient>[] = [];
  const open = (options: Omit<Parameters<typeof createDatabase>[0], 'url'> = {}) => {
    const database = createDatabase({ url, ...options }, RecordingClient);
    opened.push(database);
    return database;
  };

  beforeEach(() => {
    RecordingClient.built = [];
  });

  afterAll(async () => {
    await Promise.all(opened.map((database) => database.close()));
  });

  it("passes only the adapter by default, so Prisma's own defaults apply", () => {
    const database = open();

    expect(RecordingClient.built).toHaveLength(1);
    expect(Object.keys(RecordingClient.built[0])).toEqual(['adapter']);
    expect(RecordingClient.built[0].adapter).toBeInstanceOf(PrismaPg);
    expect(database.prisma.listeners.size).toBe(0);
  });

  it('passes the transaction defaults that are set, and no others', () => {
    open({ transactionMaxWaitMs: 5_000, transactionTimeoutMs: 10_000 });
    open({ transactionMaxWaitMs: 1_500 });

    expect(RecordingClient.built.map((settings) => settings.transactionOptions)).toEqual([
      { maxWait: 5_000, timeout: 10_000 },
      { maxWait: 1_500 },
    ]);
  });

  it('turns on query events and forwards their SQL to onQuery', () => {
    const statements: string[] = [];
    const database = open({ onQuery: (sql) => statements.push(sql) });

    expect(RecordingClient.built[0].log).toEqual([{ emit: 'event', level: 'query' }]);
    database.prisma.listeners.get('query')?.({ query: 'SELECT 1' });
    expect(statements).toEqual(['SELECT 1']);
  });

  it('refuses onQuery for a client that cannot emit query events', () => {
    expect(() => createDatabase({ url, onQuery: () => undefined }, BareClient)).toThrow(TypeError);
  });
});
