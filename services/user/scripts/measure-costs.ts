/**
 * Measures what issue 3 asks the README to record: the cost of a login (argon2id) and of warm and
 * cold profile reads. Runs the real service in-process against a fresh local database:
 *
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres TEST_REDIS_URL=redis://127.0.0.1:6379 \
 *     npm run measure -w @strata/user-service
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '@strata/config';
import { createTestDatabase, createTestRedis } from '@strata/testing';
import { Redis } from 'ioredis';
import { userServiceConfigSchema } from '../src/config';
import { PasswordHasher } from '../src/passwords/password-hasher';
import { runUserService, SERVICE_DIR, testEnvironment } from '../src/testing/user-service.harness';

const ROUNDS = 50;
const noWait = (): Promise<void> => Promise.resolve();

function summary(label: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (quantile: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))];
  const ms = (value: number) => `${value.toFixed(2).padStart(7)} ms`;
  // The minimum is the cost without interference; median and p95 show what load adds.
  return `| ${label} | ${ms(sorted[0])} | ${ms(at(0.5))} | ${ms(at(0.95))} |`;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function sample(
  rounds: number,
  before: () => Promise<unknown>,
  work: () => Promise<unknown>,
): Promise<number[]> {
  const samples: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    await before();
    samples.push(await timed(work));
  }
  return samples;
}

async function main(): Promise<void> {
  const lines: string[] = [];
  const hasher = new PasswordHasher();
  const stored = await hasher.hash('correct horse battery staple');
  await hasher.verify(stored, 'warm-up');
  lines.push(
    summary(
      'argon2id hash (register, reset)',
      await sample(ROUNDS, noWait, () => hasher.hash('correct horse battery staple')),
    ),
  );
  lines.push(
    summary(
      'argon2id verify (every login)',
      await sample(ROUNDS, noWait, () => hasher.verify(stored, 'correct horse battery staple')),
    ),
  );

  const database = await createTestDatabase({ serviceDir: SERVICE_DIR, name: 'user-measure' });
  const testRedis = await createTestRedis({ name: 'user-measure' });
  const config = loadConfig(userServiceConfigSchema, {
    ...testEnvironment(database, testRedis),
    LOG_LEVEL: 'warn',
  });
  const cacheKeyPrefix = `${testRedis.prefix}user`;
  const service = await runUserService(config, { cacheKeyPrefix });
  const inspector = new Redis(testRedis.url);
  const dropCache = async (ids: readonly string[]) => {
    await inspector.del(...ids.map((id) => `${cacheKeyPrefix}:profile:v1:${id}`));
  };
  try {
    const ids: string[] = [];
    for (let index = 0; index < 100; index += 1) {
      const { user } = await service.client.register({
        email: `measure${index}@example.com`,
        password: 'correct horse battery staple',
        displayName: `Measure ${index}`,
      });
      ids.push(user!.id);
    }
    const [first] = ids;
    lines.push(
      summary(
        'Authenticate RPC (lookup + verify + session)',
        await sample(ROUNDS, noWait, () =>
          service.client.authenticate({
            email: 'measure0@example.com',
            password: 'correct horse battery staple',
          }),
        ),
      ),
    );
    lines.push(
      summary(
        'Authenticate RPC, unknown email (dummy verify)',
        await sample(ROUNDS, noWait, () =>
          service.client
            .authenticate({
              email: `${randomUUID()}@example.com`,
              password: 'correct horse battery staple',
            })
            .catch(() => undefined),
        ),
      ),
    );
    lines.push(
      summary(
        'GetUser RPC, cold (PostgreSQL, then fill)',
        await sample(
          ROUNDS,
          () => dropCache([first]),
          () => service.client.getUser({ userId: first }),
        ),
      ),
    );
    await service.client.getUser({ userId: first });
    await new Promise((resolve) => setTimeout(resolve, 50));
    lines.push(
      summary(
        'GetUser RPC, warm (Redis)',
        await sample(ROUNDS, noWait, () => service.client.getUser({ userId: first })),
      ),
    );
    lines.push(
      summary(
        'BatchGetUsers RPC, 100 ids, cold',
        await sample(
          ROUNDS,
          () => dropCache(ids),
          () => service.client.batchGetUsers({ userIds: ids }),
        ),
      ),
    );
    await service.client.batchGetUsers({ userIds: ids });
    await new Promise((resolve) => setTimeout(resolve, 50));
    lines.push(
      summary(
        'BatchGetUsers RPC, 100 ids, warm',
        await sample(ROUNDS, noWait, () => service.client.batchGetUsers({ userIds: ids })),
      ),
    );
  } finally {
    inspector.disconnect();
    await service.close();
    await testRedis.cleanup();
    await database.drop();
  }
  const header = ['| operation | min | median | p95 |', '| --- | ---: | ---: | ---: |'];
  process.stdout.write(`${[...header, ...lines].join('\n')}\n(${ROUNDS} samples each)\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
