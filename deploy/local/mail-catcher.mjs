#!/usr/bin/env node
// @ts-check
// A development mail catcher: an SMTP server that accepts every message (no auth, no TLS) and a
// small web UI that lists what arrived, so a developer can read the emails Strata sends without a
// real mailbox. Used by the one-machine mode (deploy/local/start.mjs), compose and the Kubernetes
// dev overlay; the end-to-end test reads GET /api/messages.
//
// Env: MAIL_CATCHER_SMTP_PORT (1025), MAIL_CATCHER_HTTP_PORT (8025), MAIL_CATCHER_HOST (0.0.0.0),
// MAIL_CATCHER_MAX_MESSAGES (500; the oldest are dropped first, so memory stays bounded).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

const settings = {
  host: process.env.MAIL_CATCHER_HOST ?? '0.0.0.0',
  smtpPort: Number(process.env.MAIL_CATCHER_SMTP_PORT ?? 1025),
  httpPort: Number(process.env.MAIL_CATCHER_HTTP_PORT ?? 8025),
  maxMessages: Number(process.env.MAIL_CATCHER_MAX_MESSAGES ?? 500),
};
// A message bigger than this is refused with 552, so one runaway sender cannot exhaust memory.
const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

/** @typedef {{ id: string, receivedAt: string, envelopeFrom: string, envelopeTo: string[], from: string, to: string, subject: string, messageId: string, text: string, html: string }} CaughtMessage */
/** @type {CaughtMessage[]} newest last */
const messages = [];

/** @param {string} message */
function log(message) {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), msg: message })}\n`);
}

const smtp = new SMTPServer({
  authOptional: true,
  // Plain SMTP only: a client that sees STARTTLS advertised may try it and fail on a dev box.
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  size: MAX_MESSAGE_BYTES,
  onData(stream, session, callback) {
    simpleParser(stream)
      .then((parsed) => {
        const address = session.envelope.mailFrom;
        /** @type {CaughtMessage} */
        const message = {
          id: randomUUID(),
          receivedAt: new Date().toISOString(),
          envelopeFrom: address ? address.address : '',
          envelopeTo: session.envelope.rcptTo.map((recipient) => recipient.address),
          from: parsed.from?.text ?? '',
          to: (Array.isArray(parsed.to) ? parsed.to : parsed.to ? [parsed.to] : [])
            .map((to) => to.text)
            .join(', '),
          subject: parsed.subject ?? '',
          messageId: parsed.messageId ?? '',
          text: parsed.text ?? '',
          html: typeof parsed.html === 'string' ? parsed.html : '',
        };
        messages.push(message);
        if (messages.length > settings.maxMessages)
          messages.splice(0, messages.length - settings.maxMessages);
        log(`caught "${message.subject}" for ${message.envelopeTo.join(', ')}`);
        callback();
      })
      .catch((/** @type {unknown} */ error) =>
        callback(error instanceof Error ? error : new Error(String(error))),
      );
  },
});
smtp.on('error', (error) => log(`smtp error: ${error.message}`));

/** @param {string} value */
function escapeHtml(value) {
  return value.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** @param {string} title @param {string} body */
function page(title, body) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}pre{white-space:pre-wrap;background:#f6f6f6;padding:1rem}
iframe{width:100%;height:30rem;border:1px solid #ddd}</style></head><body>${body}</body></html>`;
}

function listPage() {
  const rows = [...messages]
    .reverse()
    .map(
      (message) =>
        `<tr><td>${escapeHtml(message.receivedAt)}</td><td>${escapeHtml(message.to)}</td>` +
        `<td><a href="/messages/${message.id}">${escapeHtml(message.subject || '(no subject)')}</a></td></tr>`,
    )
    .join('');
  return page(
    'Strata mail catcher',
    `<h1>Strata mail catcher</h1><p>${messages.length} message(s), newest first. JSON at <a href="/api/messages">/api/messages</a>.</p>` +
      `<table><tr><th>received</th><th>to</th><th>subject</th></tr>${rows}</table>`,
  );
}

/** @param {CaughtMessage} message */
function messagePage(message) {
  return page(
    message.subject,
    `<p><a href="/">&larr; all messages</a></p><h1>${escapeHtml(message.subject)}</h1>` +
      `<p>From: ${escapeHtml(message.from)}<br>To: ${escapeHtml(message.to)}<br>Received: ${escapeHtml(message.receivedAt)}</p>` +
      // The HTML part is shown in a sandboxed frame: mail content never runs script in this origin.
      (message.html
        ? `<h2>HTML</h2><iframe sandbox srcdoc="${escapeHtml(message.html)}"></iframe>`
        : '') +
      `<h2>Text</h2><pre>${escapeHtml(message.text)}</pre>`,
  );
}

const http = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://mail-catcher');
  /** @param {number} status @param {string} type @param {string} body */
  const send = (status, type, body) => {
    response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    response.end(body);
  };
  if (request.method === 'GET' && url.pathname === '/healthz')
    return send(200, 'application/json', '{"status":"ok"}');
  if (request.method === 'GET' && url.pathname === '/api/messages') {
    return send(200, 'application/json', JSON.stringify({ items: messages }));
  }
  if (request.method === 'DELETE' && url.pathname === '/api/messages') {
    messages.length = 0;
    return send(204, 'application/json', '');
  }
  if (request.method === 'GET' && url.pathname === '/')
    return send(200, 'text/html; charset=utf-8', listPage());
  const match = /^\/messages\/([0-9a-f-]{36})$/.exec(url.pathname);
  const message = match ? messages.find((candidate) => candidate.id === match[1]) : undefined;
  if (request.method === 'GET' && message)
    return send(200, 'text/html; charset=utf-8', messagePage(message));
  return send(404, 'application/json', '{"error":"not found"}');
});

smtp.listen(settings.smtpPort, settings.host, () => {
  http.listen(settings.httpPort, settings.host, () => {
    log(
      `mail catcher: SMTP on ${settings.host}:${settings.smtpPort}, web UI on http://${settings.host}:${settings.httpPort}`,
    );
  });
});

for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(signal, () => {
    http.close();
    smtp.close(() => process.exit(0));
    // Idle keep-alive connections would hold close() open; nothing here needs draining.
    http.closeAllConnections();
  });
}
