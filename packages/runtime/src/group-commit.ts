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
  /**
   * How long a call made while nothing waits may wait for others to join its batch (default 0:
   * written at once). A batch is written when its first call has waited this long or when it is
   * full, whichever comes first. At a moderate rate calls arrive one by one, each would be a
   * batch of its own, and every write costs the store (and this process) a wake-up and a commit
   * whatever its size; a few milliseconds of linger make them share one. Under load it changes
   * nothing: calls wait for a batch in flight and form the next one anyway.
   */
  readonly lingerMs?: number;
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
 * trip, one commit, one WAL flush) instead of N. Without `lingerMs` there is no timer: a call made
 * when nothing is in flight is written at once, so an idle system pays no latency for it. Calls
 * made in the same tick are written together. With `lingerMs`, a call that finds nothing waiting
 * waits up to that long for company (the batch goes earlier when it is full).
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
  const lingerMs = Math.max(0, options.lingerMs ?? 0);
  if (maxBatchSize === 1) return writeAlone(writeBatch);
  const waiting: Array<Waiting<Input, Output>> = [];
  let inFlight = 0;
  let pumpScheduled = false;
  let lingerTimer: NodeJS.Timeout | undefined;
  // Whether the calls waiting now are due: their linger is over (or there is none).
  let due = lingerMs === 0;

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
    while (
      inFlight < maxConcurrentBatches &&
      waiting.length > 0 &&
      (due || waiting.length >= maxBatchSize)
    ) {
      inFlight += 1;
      void write(waiting.splice(0, maxBatchSize)).finally(() => {
        inFlight -= 1;
        pump();
      });
    }
    // Calls left waiting because every batch slot is taken stay due: they go with the next free
    // slot. A new call into an empty queue lingers again, from its own arrival.
    if (lingerMs > 0 && waiting.length === 0) {
      due = false;
      clearTimeout(lingerTimer);
      lingerTimer = undefined;
    }
  }

  function schedulePump(): void {
    if (pumpScheduled) return;
    pumpScheduled = true;
    queueMicrotask(pump);
  }

  return (input) =>
    new Promise<Output>((resolve, reject) => {
      waiting.push({ input, resolve, reject });
      if (due || waiting.length >= maxBatchSize) {
        schedulePump();
      } else if (lingerTimer === undefined) {
        lingerTimer = setTimeout(() => {
          lingerTimer = undefined;
          due = true;
          pump();
        }, lingerMs);
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
