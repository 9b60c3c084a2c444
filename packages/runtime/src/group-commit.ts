export interface GroupCommitOptions {
  /**
   * Inputs written together at most. 1 turns group commit off: every call is written at once, on
   * its own, however many are in flight (`maxConcurrentBatches` does not apply: it exists to let
   * batches form, and capping single writes would only queue them).
   */
  readonly maxBatchSize: number;
  /** Batches in flight at once; calls beyond them wait and form the next batch. */
  readonly maxConcurrentBatches: number;
  /**
   * Whether a failed batch of several inputs is written again one input at a time (default true:
   * right when one input can fail a statement alone). False fails every input of the batch with
   * the batch's error: for writes no single input can fail, where the error is always about the
   * store (down, slow) and writing again would only double the wait.
   */
  readonly retryFailedBatchInputsAlone?: boolean;
}

/**
 * Writes one batch. It must be all or nothing (one statement, one transaction, or one Redis
 * pipeline of idempotent commands) and resolve to one output per input, in input order.
 */
export type BatchWriter<Input, Output> = (inputs: readonly Input[]) => Promise<readonly Output[]>;

interface Waiting<Input, Output> {
  readonly input: Input;
  readonly resolve: (output: Output) => void;
  readonly reject: (reason: unknown) => void;
}

/**
 * Group commit: calls made while `maxConcurrentBatches` batches are being written wait and are
 * written together as the next batch, so under load N settlements cost one statement (one round
 * trip, one commit, one WAL flush) instead of N. There is no timer: a call made when nothing is in
 * flight is written at once, so an idle system pays no latency for it. Calls made in the same tick
 * are written together.
 *
 * A failed batch of several inputs is written again one input at a time (it was all or nothing,
 * so nothing of it stayed), so an input that fails the statement fails alone and the others'
 * callers get their results; unless `retryFailedBatchInputsAlone` is false.
 */
export function groupCommit<Input, Output>(
  writeBatch: BatchWriter<Input, Output>,
  options: GroupCommitOptions,
): (input: Input) => Promise<Output> {
  const maxBatchSize = Math.max(1, Math.floor(options.maxBatchSize));
  const maxConcurrentBatches = Math.max(1, Math.floor(options.maxConcurrentBatches));
  const retryAlone = options.retryFailedBatchInputsAlone ?? true;
  if (maxBatchSize === 1) return writeAlone(writeBatch);
  const waiting: Array<Waiting<Input, Output>> = [];
  let inFlight = 0;
  let pumpScheduled = false;

  const writeInput = writeAlone(writeBatch);
  async function writeOne(entry: Waiting<Input, Output>): Promise<void> {
    try {
      entry.resolve(await writeInput(entry.input));
    } catch (error) {
      entry.reject(error);
    }
  }

  async function write(batch: Array<Waiting<Input, Output>>): Promise<void> {
    if (batch.length === 1) return writeOne(batch[0]);
    let outputs: readonly Output[];
    try {
      outputs = await writeBatch(batch.map((entry) => entry.input));
      if (outputs.length !== batch.length)
        throw new Error(
          `batch writer returned ${outputs.length} outputs for ${batch.length} inputs`,
        );
    } catch (error) {
      if (!retryAlone) {
        for (const entry of batch) entry.reject(error);
        return;
      }
      // The batch's own error is each input's error again if it is not about one input (the
      // database is down): the callers see it from their own writes.
      await Promise.all(batch.map(writeOne));
      return;
    }
    batch.forEach((entry, index) => entry.resolve(outputs[index]));
  }

  function pump(): void {
    pumpScheduled = false;
    while (inFlight < maxConcurrentBatches && waiting.length > 0) {
      inFlight += 1;
      void write(waiting.splice(0, maxBatchSize)).finally(() => {
        inFlight -= 1;
        pump();
      });
    }
  }

  return (input) =>
    new Promise<Output>((resolve, reject) => {
      waiting.push({ input, resolve, reject });
      if (!pumpScheduled) {
        pumpScheduled = true;
        queueMicrotask(pump);
      }
    });
}

/** One input written as a batch of its own. */
function writeAlone<Input, Output>(
  writeBatch: BatchWriter<Input, Output>,
): (input: Input) => Promise<Output> {
  return async (input) => {
    const outputs = await writeBatch([input]);
    if (outputs.length !== 1)
      throw new Error(`batch writer returned ${outputs.length} outputs for 1 input`);
    return outputs[0];
  };
}
