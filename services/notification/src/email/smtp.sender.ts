import { createTransport } from 'nodemailer';
import { PermanentJobError } from '@strata/queue';

/** A rendered message, ready for the wire. */
export interface OutgoingEmail {
  readonly to: string;
  /** Display name of the recipient, when known (greeting and `To:` header). */
  readonly toName?: string | undefined;
  readonly subject: string;
  readonly html: string;
  readonly text: string;
  /** `<id@domain>`: derived from the idempotency key, so a duplicate carries the same one. */
  readonly messageId: string;
}

export interface SentEmail {
  readonly messageId: string;
  /** The server's final reply, e.g. `250 OK: queued as …`. */
  readonly response: string;
}

/** Sends one message; rejects with an error that {@link classifySmtpError} understands. */
export interface EmailSender {
  send(email: OutgoingEmail): Promise<SentEmail>;
  close(): void;
}

export interface SmtpSenderOptions {
  /** smtp:// or smtps:// URL with optional credentials. */
  readonly url: string;
  /** `Name <address>` of every message. */
  readonly from: string;
  readonly maxConnections: number;
  /** Bound of connecting, the greeting and each reply. */
  readonly timeoutMs: number;
}

/** The fields nodemailer sets on its errors (nodemailer's own `SMTPError` shape). */
interface NodemailerErrorFields {
  readonly code?: unknown;
  readonly responseCode?: unknown;
  readonly command?: unknown;
  readonly response?: unknown;
}

export type SmtpFailureKind = 'permanent' | 'transient';

/**
 * Decides whether retrying can help.
 *
 * Permanent: the server refused this recipient or this message with a 5xx reply (`550 no such
 * user`, `554 rejected as spam`), or nodemailer refused the address before connecting.
 * Transient: 4xx replies (greylisting, `451 try later`), no reply at all (connection refused,
 * reset, timeout, DNS), `503` (bad sequence: a protocol hiccup), and 5xx replies to our own
 * session (authentication, `MAIL FROM`): those are configuration problems that an operator fixes,
 * after which the retried job succeeds.
 */
export function classifySmtpError(error: unknown): SmtpFailureKind {
  if (typeof error !== 'object' || error === null) return 'transient';
  const { code, responseCode, command } = error as NodemailerErrorFields;
  if (code === 'EENVELOPE' && command === 'API') return 'permanent'; // malformed address
  if (code === 'EAUTH' || code === 'ENOAUTH' || command === 'MAIL FROM') return 'transient';
  if (typeof responseCode === 'number' && responseCode >= 500 && responseCode < 600) {
    return responseCode === 503 || responseCode === 530 ? 'transient' : 'permanent';
  }
  return 'transient';
}

/** The error a processor throws for a failed send: permanent ones are never retried. */
export function smtpFailure(error: unknown): Error {
  const detail = describeSmtpError(error);
  if (classifySmtpError(error) === 'permanent') {
    return new PermanentJobError(`SMTP refused the message: ${detail}`, { cause: error });
  }
  return new Error(`SMTP send failed, will retry: ${detail}`, { cause: error });
}

function describeSmtpError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { code, response } = error as NodemailerErrorFields;
  const parts = [typeof code === 'string' ? code : undefined, error.message];
  if (typeof response === 'string' && !error.message.includes(response)) parts.push(response);
  return parts.filter((part) => part !== undefined).join(': ');
}

// Header values must stay on one line whatever a template variable contains.
function oneLine(value: string): string {
  return value.replace(/[\r\n]+/g, ' ').trim();
}

/** Pooled SMTP over nodemailer: connections are opened on the first send and reused. */
export function createSmtpSender(options: SmtpSenderOptions): EmailSender {
  const transport = createTransport({
    url: options.url,
    pool: true,
    maxConnections: options.maxConnections,
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
    // A connection dropped mid-message is requeued by the pool without our knowledge; the job's
    // own retry (with the idempotency claim) is the only retry we want.
    maxRequeues: 0,
  });
  return {
    async send(email) {
      const info = await transport.sendMail({
        from: options.from,
        to: email.toName ? { name: oneLine(email.toName), address: email.to } : email.to,
        subject: oneLine(email.subject),
        html: email.html,
        text: email.text,
        messageId: email.messageId,
        // The domain of these messages never sees replies; bounces go to the envelope sender.
        headers: { 'Auto-Submitted': 'auto-generated' },
      });
      return { messageId: info.messageId, response: info.response };
    },
    close: () => transport.close(),
  };
}
