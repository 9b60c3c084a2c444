// Test helper (not built): a real SMTP server on 127.0.0.1:<free port> that records what it
// receives and can answer with errors, as a mail provider would.
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';

export interface ReceivedMessage {
  readonly envelopeTo: readonly string[];
  readonly parsed: ParsedMail;
  readonly raw: string;
}

/** An SMTP reply with a code; smtp-server sends `responseCode` as the reply's status. */
export function smtpReply(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

export interface TestSmtpServerOptions {
  /**
   * Decides each RCPT TO: return an error (see {@link smtpReply}) to refuse it. `attempt` counts
   * RCPT TO commands for that address, from 1.
   */
  readonly onRecipient?: (address: string, attempt: number) => Error | undefined;
  /** Delay before accepting each message (ms), to keep sends in flight. */
  readonly acceptDelayMs?: number;
}

export interface TestSmtpServer {
  readonly port: number;
  readonly url: string;
  readonly messages: ReceivedMessage[];
  /** RCPT TO commands seen per address. */
  readonly recipientAttempts: Map<string, number>;
  /** Message-ID headers of the received messages. */
  messageIds(): string[];
  close(): Promise<void>;
}

export async function startTestSmtpServer(
  options: TestSmtpServerOptions = {},
): Promise<TestSmtpServer> {
  const messages: ReceivedMessage[] = [];
  const recipientAttempts = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    logger: false,
    onRcptTo(address: SMTPServerAddress, _session: SMTPServerSession, callback) {
      const attempt = (recipientAttempts.get(address.address) ?? 0) + 1;
      recipientAttempts.set(address.address, attempt);
      callback(options.onRecipient?.(address.address, attempt) ?? undefined);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw).then(
          (parsed) => {
            const accept = () => {
              messages.push({
                envelopeTo: session.envelope.rcptTo.map((recipient) => recipient.address),
                parsed,
                raw,
              });
              callback(null);
            };
            if (options.acceptDelayMs) setTimeout(accept, options.acceptDelayMs);
            else accept();
          },
          (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
        );
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    recipientAttempts,
    messageIds: () => messages.map((message) => message.parsed.messageId ?? ''),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
