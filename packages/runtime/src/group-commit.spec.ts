import { groupCommit } from './group-commit';

/** A batch writer that records each batch and finishes it when the test says so. */
function controlledWriter(fail: (input: number) => boolean = () => false) {
  const batches: number[][] = [];
  const finishers: Array<() => void> = [];
  const write = (inputs: readonly number[]) =>
    new Promise<number[]>((resolve, reject) => {
      batches.push([...inputs]);
      finishers.push(() => {
        const poisoned = inputs.find(fail);
        if (poisoned === undefined) resolve(inputs.map((input) => input * 10));
        else reject(new Error(`cannot write ${poisoned}`));
      });
    });
  return {
    write,
    batches,
    /** Finishes every batch started so far, then lets the follow-up batches start. */
    async finishAll() {
      finishers.splice(0).forEach((finish) => finish());
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

const settle = <T>(promises: Array<Promise<T>>) => Promise.allSettled(promises);

describe('groupCommit', () => {
  it('writes a call made while nothing is in flight at once, alone', async () => {
    const writer = controlledWriter();
    const write = groupCommit(writer.write, { maxBatchSize: 50, maxConcurrentBatches: 1 });
    const result = write(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writer.batches).toEqual([[1]]);
    await writer.finishAll();
    await expect(result).resolves.toBe(10);
  });

  it('with maxBatchSize 1, writes every call at once on its own, however many are in flight', async () => {
    const writer = controlledWriter();
    const write = groupCommit(writer.write, { maxBatchSize: 1, maxConcurrentBatches: 1 });
    const results = [write(1), write(2), write(3)];
    await new Promise((resolve) => setImmediate(resolve));
    expect(writer.batches).toEqual([[1], [2], [3]]);
    await writer.finishAll();
    await expect(Promise.all(results)).resolves.toEqual([10, 20, 30]);
  });

  it('writes the calls made while a batch is in flight together, as the next batch', async () => {
    const writer = controlledWriter();
    const write = groupCommit(writer.write, { maxBatchSize: 50, maxConcurrentBatches: 1 });
    const first = write(1);
    await new Promise((resolve) => setImmediate(resolve));
    const rest = [write(2), write(3), write(4)];
    await new Promise((resolve) => setImmediate(resolve));
    expect(writer.batches).toEqual([[1]]);
    await writer.finishAll();
    expect(writer.batches).toEqual([[1], [2, 3, 4]]);
    await writer.finishAll();
    await expect(Promise.all([first, ...rest])).resolves.toEqual([10, 20, 30, 40]);
  });

  it('writes the calls of one tick together, at most maxBatchSize per batch', async () => {
    const writer = controlledWriter();
    const write = groupCommit(writer.write, { maxBatchSize: 2, maxConcurrentBatches: 2 });
    const results = [1, 2, 3, 4, 5].map((input) => write(input));
    await new Promise((resolve) => setImmediate(resolve));
    // Two batches in flight; the fifth call waits for one of them.
    expect(writer.batches).toEqual([
      [1, 2],
      [3, 4],
    ]);
    await writer.finishAll();
    expect(writer.batches[2]).toEqual([5]);
    await writer.finishAll();
    await expect(Promise.all(results)).resolves.toEqual([10, 20, 30, 40, 50]);
  });

  describe('with lingerMs', () => {
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    it('holds a call made while nothing waits until others joined it, then writes them as one batch', async () => {
      const writer = controlledWriter();
      const write = groupCommit(writer.write, {
        maxBatchSize: 50,
        maxConcurrentBatches: 2,
        lingerMs: 40,
      });
      const first = write(1);
      await tick();
      expect(writer.batches).toEqual([]);
      await sleep(10);
      const second = write(2);
      await tick();
      expect(writer.batches).toEqual([]);
      await sleep(60);
      expect(writer.batches).toEqual([[1, 2]]);
      await writer.finishAll();
      await expect(Promise.all([first, second])).resolves.toEqual([10, 20]);

      // The next call into an empty queue lingers again.
      const third = write(3);
      await tick();
      expect(writer.batches).toHaveLength(1);
      await sleep(60);
      expect(writer.batches[1]).toEqual([3]);
      await writer.finishAll();
      await expect(third).resolves.toBe(30);
    });

    it('writes a full batch at once, without waiting for the linger', async () => {
      const writer = controlledWriter();
      const write = groupCommit(writer.write, {
        maxBatchSize: 3,
        maxConcurrentBatches: 2,
        lingerMs: 10_000,
      });
      const results = [1, 2, 3].map((input) => write(input));
      await tick();
      expect(writer.batches).toEqual([[1, 2, 3]]);
      await writer.finishAll();
      await expect(Promise.all(results)).resolves.toEqual([10, 20, 30]);
    });

    it('writes calls whose linger ran out while every slot was busy as soon as a slot frees', async () => {
      const writer = controlledWriter();
      const write = groupCommit(writer.write, {
        maxBatchSize: 2,
        maxConcurrentBatches: 1,
        lingerMs: 20,
      });
      const results = [write(1), write(2)]; // full: written at once
      const late = write(3);
      await sleep(50); // its linger is over, but the only slot is taken
      expect(writer.batches).toEqual([[1, 2]]);
      await writer.finishAll();
      expect(writer.batches).toEqual([[1, 2], [3]]);
      await writer.finishAll();
      await expect(Promise.all([...results, late])).resolves.toEqual([10, 20, 30]);
    });
  });

  it('writes a failed batch again one input at a time: only the input that fails fails', async () => {
    const writer = controlledWriter((input) => input === 3);
    const write = groupCommit(writer.write, { maxBatchSize: 50, maxConcurrentBatches: 1 });
    const results = settle([1, 2, 3, 4].map((input) => write(input)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(writer.batches).toEqual([[1, 2, 3, 4]]);
    await writer.finishAll();
    expect(writer.batches.slice(1)).toEqual([[1], [2], [3], [4]]);
    await writer.finishAll();
    expect(await results).toEqual([
      { status: 'fulfilled', value: 10 },
      { status: 'fulfilled', value: 20 },
      { status: 'rejected', reason: new Error('cannot write 3') },
      { status: 'fulfilled', value: 40 },
    ]);
  });

  it('fails every input of a failed batch with its error when retryFailedBatchInputsAlone is false', async () => {
    const writer = controlledWriter((input) => input === 3);
    const write = groupCommit(writer.write, {
      maxBatchSize: 50,
      maxConcurrentBatches: 1,
      retryFailedBatchInputsAlone: false,
    });
    const results = settle([1, 2, 3].map((input) => write(input)));
    await new Promise((resolve) => setImmediate(resolve));
    await writer.finishAll();
    expect(writer.batches).toEqual([[1, 2, 3]]);
    const failure = { status: 'rejected', reason: new Error('cannot write 3') };
    expect(await results).toEqual([failure, failure, failure]);
    const later = write(4);
    await new Promise((resolve) => setImmediate(resolve));
    await writer.finishAll();
    await expect(later).resolves.toBe(40);
  });

  it('rejects a call whose own write fails, and keeps serving later calls', async () => {
    const writer = controlledWriter((input) => input === 1);
    const write = groupCommit(writer.write, { maxBatchSize: 50, maxConcurrentBatches: 1 });
    const failed = write(1);
    await new Promise((resolve) => setImmediate(resolve));
    await writer.finishAll();
    await expect(failed).rejects.toThrow('cannot write 1');
    const later = write(2);
    await new Promise((resolve) => setImmediate(resolve));
    await writer.finishAll();
    await expect(later).resolves.toBe(20);
  });

  it('treats a writer that returns the wrong number of outputs as a failed batch', async () => {
    const batches: number[][] = [];
    const write = groupCommit(
      (inputs: readonly number[]) => {
        batches.push([...inputs]);
        return Promise.resolve(inputs.length > 1 ? [0] : inputs.map((input) => input * 10));
      },
      { maxBatchSize: 50, maxConcurrentBatches: 1 },
    );
    await expect(Promise.all([write(1), write(2)])).resolves.toEqual([10, 20]);
    expect(batches).toEqual([[1, 2], [1], [2]]);
  });
});
