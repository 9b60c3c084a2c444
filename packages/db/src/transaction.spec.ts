import {
  backoffDelay,
  withTransaction,
  type RetryInfo,
  type TransactionalClient,
} from './transaction';

/** The shapes Prisma 7 gives a lost race and a duplicate (see database-errors.ts). */
const writeConflict = Object.assign(
  new Error('Transaction failed due to a write conflict or a deadlock'),
  {
    code: 'P2034',
    clientVersion: '7.10.0',
    meta: {
      driverAdapterError: { cause: { originalCode: '40001', kind: 'TransactionWriteConflict' } },
    },
  },
);
const duplicate = Object.assign(new Error('Unique constraint failed'), {
  code: 'P2002',
  clientVersion: '7.10.0',
});

interface FakeTransaction {
  readonly id: number;
  /** Stands for a query run inside the transaction. */
  query(): Promise<void>;
}

/** Runs each transaction callback at once and records the options it was given. */
function fakeClient(): TransactionalClient<FakeTransaction> & { readonly options: unknown[] } {
  const options: unknown[] = [];
  let next = 0;
  return {
    options,
    $transaction: async (fn, transactionOptions) => {
      options.push(transactionOptions);
      return fn({ id: ++next, query: () => Promise.resolve() });
    },
  };
}

describe('withTransaction', () => {
  it('re-runs the whole callback after a write conflict and returns the successful result', async () => {
    const client = fakeClient();
    const retries: RetryInfo[] = [];
    const seen: string[] = [];

    const result = await withTransaction(
      client,
      async (transaction, attempt) => {
        await transaction.query();
        seen.push(`tx${transaction.id}/attempt${attempt}`);
        if (attempt < 3) throw writeConflict;
        return 'done';
      },
      { baseDelayMs: 1, onRetry: (info) => retries.push(info) },
    );

    expect(result).toBe('done');
    expect(seen).toEqual(['tx1/attempt1', 'tx2/attempt2', 'tx3/attempt3']);
    expect(retries.map((retry) => retry.attempt)).toEqual([1, 2]);
    expect(retries.every((retry) => retry.error === writeConflict)).toBe(true);
  });

  it('retries on a raw serialization failure or deadlock from pg as well', async () => {
    for (const code of ['40001', '40P01']) {
      const pgError = Object.assign(new Error('could not serialize'), { code, severity: 'ERROR' });
      let calls = 0;

      await withTransaction(
        fakeClient(),
        async (transaction) => {
          await transaction.query();
          if (++calls === 1) throw pgError;
        },
        { baseDelayMs: 1 },
      );

      expect(calls).toBe(2);
    }
  });

  it('does not retry other errors', async () => {
    let calls = 0;

    await expect(
      withTransaction(fakeClient(), async (transaction) => {
        await transaction.query();
        calls++;
        throw duplicate;
      }),
    ).rejects.toBe(duplicate);
    expect(calls).toBe(1);
  });

  it('gives up after maxRetries retries and rethrows the last failure', async () => {
    let calls = 0;

    await expect(
      withTransaction(
        fakeClient(),
        async (transaction) => {
          await transaction.query();
          calls++;
          throw writeConflict;
        },
        { maxRetries: 2, baseDelayMs: 1 },
      ),
    ).rejects.toBe(writeConflict);
    expect(calls).toBe(3);
  });

  it('passes isolation level and timeouts to Prisma', async () => {
    const client = fakeClient();

    await withTransaction(client, (transaction) => transaction.query(), {
      isolationLevel: 'Serializable',
      timeoutMs: 900,
      maxWaitMs: 80,
    });

    expect(client.options).toEqual([{ isolationLevel: 'Serializable', timeout: 900, maxWait: 80 }]);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially up to the ceiling and is jittered below it', () => {
    expect(backoffDelay(1, 20, 500, () => 1)).toBe(20);
    expect(backoffDelay(3, 20, 500, () => 1)).toBe(80);
    expect(backoffDelay(10, 20, 500, () => 1)).toBe(500);
    expect(backoffDelay(3, 20, 500, () => 0.5)).toBe(40);
    expect(backoffDelay(3, 20, 500, () => 0)).toBe(0);
  });
});
