/**
 * Thrown by a processor when retrying cannot help (an invalid address, a missing template, a
 * payment that no longer exists). The worker turns it into BullMQ's `UnrecoverableError`, so the
 * job goes straight to the failed set whatever attempts it has left.
 */
export class PermanentJobError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentJobError';
  }
}

/** A payload that does not match its job definition's schema. Never retried. */
export class InvalidJobPayloadError extends PermanentJobError {
  constructor(
    readonly queue: string,
    readonly jobName: string,
    readonly issues: readonly string[],
  ) {
    super(`invalid payload for ${queue}/${jobName}: ${issues.join('; ')}`);
    this.name = 'InvalidJobPayloadError';
  }
}

/**
 * The producer could not reach Redis within its bound. Nothing was enqueued: the caller can fail
 * the request (or, better, use the outbox so the job is relayed once Redis is back).
 */
export class QueueUnavailableError extends Error {
  constructor(queue: string, options?: { cause?: unknown }) {
    super(`queue ${queue} is unavailable (Redis not ready)`, options);
    this.name = 'QueueUnavailableError';
  }
}
