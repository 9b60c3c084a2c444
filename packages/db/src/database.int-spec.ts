import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDatabase, type Database, type DatabaseOptions } from './database';
import {
  isRetryableTransactionError,
  isStatementTimeout,
  isUniqueViolation,
  prismaErrorCode,
} from './database-errors';
import { PrismaClient } from './generated/prisma/client';
import { createMigratedDatabase, type MigratedDatabase } from './testing/migrated-database';
import { withTransaction, type RetryInfo } from './transaction';

jest.setTimeout(60_000);

describe('@strata/db against PostgreSQL (schema migrated by the real Prisma CLI)', () => {
  let database: MigratedDatabase;
  const opened: Database<PrismaClient>[] = [];

  const open = (options: Partial<DatabaseOptions> = {}): Database<PrismaClient> => {
    const db = createDatabase({ url: database.url, ...options }, PrismaClient);
    opened.push(db);
    return db;
  };
  const uniqueApplicationName = (): string => `strata-db-test-${randomBytes(4).toString('hex')}`;
  const backendsOf = async (applicationName: string): Promise<number> => {
    const rows = await database.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
      [applicationName],
    );
    return rows[0]?.n ?? 0;
  };

  beforeAll(async () => {
    database = await createMigratedDatabase('kit');
  });

  afterAll(async () => {
    await Promise.all(opened.map((db) => db.close()));
    await database.drop();
  });

  it('runs model queries through the generated client over the pool', async () => {
    const db = open();

    const account = await db.prisma.account.create({
      data: { email: 'first@example.com', balanceMinor: 1250n },
    });

    expect(await db.prisma.account.findUniqueOrThrow({ where: { id: account.id } })).toMatchObject({
      email: 'first@example.com',
      balanceMinor: 1250n,
    });
    expect(await db.ping()).toBe(true);
  });

  it('never opens more connections than poolMax, queueing the rest', async () => {
    const applicationName = uniqueApplicationName();
    const db = open({ poolMax: 2, applicationName });
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await backendsOf(applicationName));
        await sleep(25);
      }
    })();

    const startedAt = Date.now();
    await Promise.all(
      Array.from({ length: 6 }, () => db.prisma.$queryRaw`SELECT 1 AS done FROM pg_sleep(0.3)`),
    );
    const elapsedMs = Date.now() - startedAt;
    sampling = false;
    await sampler;

    expect(peak).toBe(2);
    expect(db.pool.totalCount).toBeLessThanOrEqual(2);
    // Six 300 ms sleeps on two connections take three rounds.
    expect(elapsedMs).toBeGreaterThanOrEqual(850);
  });

  it('sets statement_timeout and application_name on every connection', async () => {
    const applicationName = uniqueApplicationName();
    const db = open({ statementTimeoutMs: 250, applicationName });

    const settings = await db.prisma.$queryRaw<
      { statement_timeout: string; application_name: string }[]
    >`
      SELECT current_setting('statement_timeout') AS statement_timeout,
             current_setting('application_name') AS application_name`;

    expect(settings).toEqual([{ statement_timeout: '250ms', application_name: applicationName }]);
  });

  it('lets the statement timeout cancel a long pg_sleep', async () => {
    const db = open({ statementTimeoutMs: 200 });

    const startedAt = Date.now();
    const failure = await db.prisma.$queryRaw`SELECT 1 AS done FROM pg_sleep(5)`.then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(isStatementTimeout(failure)).toBe(true);
    expect(Date.now() - startedAt).toBeLessThan(2_000);
    // The connection survives the cancelled statement.
    expect(await db.ping()).toBe(true);
  });

  it('classifies a duplicate as a unique violation, from model and raw queries alike', async () => {
    const db = open();
    await db.prisma.account.create({ data: { email: 'taken@example.com' } });

    const fromModel = await db.prisma.account.create({ data: { email: 'taken@example.com' } }).then(
      () => undefined,
      (error: unknown) => error,
    );
    const fromRaw = await db.prisma.$executeRaw`
      INSERT INTO accounts (id, email) VALUES (gen_random_uuid(), 'taken@example.com')`.then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(prismaErrorCode(fromModel)).toBe('P2002');
    expect(isUniqueViolation(fromModel)).toBe(true);
    expect(prismaErrorCode(fromRaw)).toBe('P2010');
    expect(isUniqueViolation(fromRaw)).toBe(true);
    expect(isRetryableTransactionError(fromModel)).toBe(false);
  });

  it('withTransaction re-runs a serializable transaction that lost a race, so no update is lost', async () => {
    const db = open({ poolMax: 4 });
    const { id } = await db.prisma.account.create({ data: { email: 'race@example.com' } });
    // Both first attempts read the balance before either writes: a textbook lost update, which
    // SERIALIZABLE turns into a serialization failure for the second writer.
    let arrived = 0;
    let releaseReaders: () => void = () => undefined;
    const bothHaveRead = new Promise<void>((resolve) => (releaseReaders = resolve));
    const retries: RetryInfo[] = [];
    const attempts: string[] = [];

    const deposit = (label: string): Promise<void> =>
      withTransaction(
        db.prisma,
        async (transaction, attempt) => {
          attempts.push(`${label}#${attempt}`);
          const account = await transaction.account.findUniqueOrThrow({ where: { id } });
          if (attempt === 1) {
            if (++arrived === 2) releaseReaders();
            await bothHaveRead;
          }
          await transaction.account.update({
            where: { id },
            data: { balanceMinor: account.balanceMinor + 100n },
          });
        },
        { isolationLevel: 'Serializable', onRetry: (info) => retries.push(info) },
      );

    await Promise.all([deposit('a'), deposit('b')]);

    const { balanceMinor } = await db.prisma.account.findUniqueOrThrow({ where: { id } });
    expect(balanceMinor).toBe(200n);
    expect(retries).toHaveLength(1);
    expect(isRetryableTransactionError(retries[0]?.error)).toBe(true);
    expect(prismaErrorCode(retries[0]?.error)).toBe('P2034');
    expect(attempts.filter((attempt) => attempt.endsWith('#2'))).toHaveLength(1);
  });

  it('reports the SQL of every statement to onQuery, and only to the client that asked', async () => {
    const statements: string[] = [];
    const counted = open({ onQuery: (sql) => statements.push(sql) });
    const silent = open();

    await counted.prisma.account.create({ data: { email: 'counted@example.com' } });
    await counted.prisma.account.findMany({ where: { email: 'counted@example.com' } });
    await silent.prisma.account.findMany();

    expect(statements).toHaveLength(2);
    expect(statements[0]).toMatch(/^INSERT INTO "[^"]+"\."accounts"/);
    expect(statements[1]).toMatch(/^SELECT .* FROM "[^"]+"\."accounts" WHERE/);
  });

  it('applies transactionMaxWaitMs and transactionTimeoutMs to every $transaction of the client', async () => {
    // One connection, held by a transaction: the next one cannot start until it is released.
    const db = open({ poolMax: 1, transactionMaxWaitMs: 300, transactionTimeoutMs: 600 });
    let holding: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const holder = db.prisma.$transaction(async (transaction) => {
      holding();
      await transaction.$queryRaw`SELECT 1 AS done FROM pg_sleep(1)`;
    });
    await held;

    const waitStartedAt = Date.now();
    const waitFailure = await db.prisma
      .$transaction((transaction) => transaction.account.count())
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    const waitedMs = Date.now() - waitStartedAt;
    // The holder outlives its 600 ms timeout, so Prisma rolls it back.
    const holderFailure = await holder.then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(prismaErrorCode(waitFailure)).toBe('P2028');
    expect(waitedMs).toBeGreaterThanOrEqual(250);
    expect(waitedMs).toBeLessThan(900); // Prisma's own default would wait 2 000 ms
    expect(prismaErrorCode(holderFailure)).toBe('P2028');
    // The connection is usable again afterwards.
    expect(
      await db.prisma.$transaction((transaction) => transaction.account.count()),
    ).toBeGreaterThanOrEqual(0);
  });

  it('close() disconnects, ends the pool, leaves no server session and can be called again', async () => {
    const applicationName = uniqueApplicationName();
    const db = open({ applicationName, poolMax: 3 });
    await Promise.all([db.prisma.account.count(), db.prisma.account.count(), db.ping()]);
    expect(await backendsOf(applicationName)).toBeGreaterThan(0);

    await db.close();
    await db.close();

    expect(db.pool.ended).toBe(true);
    expect(db.pool.totalCount).toBe(0);
    expect(await db.ping()).toBe(false);
    // Backends exit asynchronously after the client says goodbye.
    for (let waited = 0; waited < 3_000 && (await backendsOf(applicationName)) > 0; waited += 50)
      await sleep(50);
    expect(await backendsOf(applicationName)).toBe(0);
  });
});
