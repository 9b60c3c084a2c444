import { DelayedError } from 'bullmq';
import { type EmailJobPayload } from '@strata/jobs';
import { type ProcessorContext } from '@strata/queue';
import { renderEmail } from './email-templates';
import { hashIdempotencyKey, type IdempotencyStore } from './idempotency.store';
import { type RecipientResolver } from './recipient.resolver';
import { smtpFailure, type EmailSender } from './smtp.sender';

/** What a completed email job returns (kept on the job, shown in the dashboard). */
export type EmailJobResult =
  | { readonly status: 'sent'; readonly messageId: string }
  /** Another delivery of the same idempotency key sent it already. */
  | { readonly status: 'duplicate'; readonly messageId: string };

export interface EmailProcessorOptions {
  readonly recipients: RecipientResolver;
  readonly sender: EmailSender;
  readonly store: IdempotencyStore;
  /** Domain of MAIL_FROM, the right-hand side of our Message-IDs. */
  readonly messageIdDomain: string;
  readonly webUrl: string;
  /** Bound on re-checking a key another delivery holds (it is usually sent within seconds). */
  readonly busyRecheckMs?: number;
}

// After SMTP accepted the message, recording it is what stands between a retry and a duplicate:
// try a few times before giving up on it (see README, "Exactly one email per key").
const MARK_SENT_ATTEMPTS = 4;
const MARK_SENT_BACKOFF_MS = 250;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `<hash@domain>`: the same for every delivery of one idempotency key. */
export function messageIdFor(idempotencyKey: string, domain: string): string {
  return `<${hashIdempotencyKey(idempotencyKey).slice(0, 40)}@${domain}>`;
}

/**
 * Processes one `email` job: resolve the address, render, then claim the idempotency key, send
 * over SMTP and record the send. Permanent problems (unknown user, invalid address, a 5xx for
 * this recipient) throw PermanentJobError; everything else throws a plain error and is retried.
 */
export class EmailProcessor {
  constructor(private readonly options: EmailProcessorOptions) {}

  async process(payload: EmailJobPayload, context: ProcessorContext): Promise<EmailJobResult> {
    const { store } = this.options;
    const key = payload.idempotencyKey;
    // Cheap check first: a redelivery of a sent email costs one GET, no user-service call.
    const alreadySent = await store.sentMessageId(key);
    if (alreadySent !== undefined) return this.duplicate(context, alreadySent);

    const recipient = await this.options.recipients.resolve(payload);
    const rendered = renderEmail(payload.template, payload.data, {
      displayName: recipient.displayName,
      webUrl: this.options.webUrl,
    });
    const messageId = messageIdFor(key, this.options.messageIdDomain);

    const claim = await store.claim(key);
    if (claim.status === 'sent') return this.duplicate(context, claim.messageId);
    if (claim.status === 'busy') return this.waitForOtherDelivery(context, claim.retryInMs);

    let accepted;
    try {
      accepted = await this.options.sender.send({
        to: recipient.email,
        toName: recipient.displayName,
        ...rendered,
        messageId,
      });
    } catch (error) {
      // The server did not take the message (or we cannot know; then a retry may duplicate it,
      // which the shared Message-ID lets mail clients recognise).
      await store.release(key, claim.owner).catch((releaseError: unknown) => {
        context.logger.warn(
          { err: releaseError },
          'could not release the idempotency claim; it expires with its lease',
        );
      });
      throw smtpFailure(error);
    }
    await this.recordSent(context, key, claim.owner, messageId);
    context.logger.info(
      { template: payload.template, messageId, smtp: accepted.response },
      'email sent',
    );
    return { status: 'sent', messageId };
  }

  private duplicate(context: ProcessorContext, messageId: string): EmailJobResult {
    context.logger.info({ messageId }, 'email already sent for this idempotency key, skipping');
    return { status: 'duplicate', messageId };
  }

  /**
   * Another delivery of the same key is sending right now (or died while sending and its lease
   * has not expired). Come back later without spending an attempt: moving the job to the delayed
   * set and throwing DelayedError is BullMQ's documented way to do that.
   */
  private async waitForOtherDelivery(context: ProcessorContext, retryInMs: number): Promise<never> {
    if (context.inGroup) {
      // The job is the group's: moving it would delay every email of the batch. This email
      // fails alone instead, and the group's retry (with its backoff) comes back to it.
      throw new Error(
        `another delivery holds this email's idempotency key (for up to ${retryInMs} ms); retried with its group`,
      );
    }
    const recheckMs = Math.min(retryInMs, this.options.busyRecheckMs ?? 1_000);
    const delayMs = Math.round(recheckMs * (0.75 + Math.random() * 0.5));
    context.logger.info(
      { delayMs },
      'another delivery holds this idempotency key, rechecking later',
    );
    await context.job.moveToDelayed(Date.now() + delayMs, context.job.token);
    throw new DelayedError();
  }

  private async recordSent(
    context: ProcessorContext,
    key: string,
    owner: string,
    messageId: string,
  ): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        if (!(await this.options.store.markSent(key, owner, messageId))) {
          context.logger.warn(
            { messageId },
            'idempotency claim expired while sending; another delivery may send a duplicate',
          );
        }
        return;
      } catch (error) {
        if (attempt >= MARK_SENT_ATTEMPTS) {
          // Not rethrown: the email went out, so failing the job would make a retry send it
          // again as soon as the lease expires. If Redis is down the job cannot complete either
          // and is redelivered; the lease (still held, or gone with a crashed Redis) decides.
          context.logger.error(
            { err: error, messageId },
            'email sent but not recorded as sent; a redelivery may duplicate it',
          );
          return;
        }
        await sleep(MARK_SENT_BACKOFF_MS * 2 ** (attempt - 1));
      }
    }
  }
}
