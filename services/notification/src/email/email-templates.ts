import { EMAIL_TEMPLATES, type EmailTemplate, type EmailTemplateData } from '@strata/jobs';
import { PermanentJobError } from '@strata/queue';

/** Subject plus both bodies of one message. */
export interface RenderedEmail {
  readonly subject: string;
  readonly html: string;
  readonly text: string;
}

export interface RenderContext {
  /** Greeting name when the recipient is a known user. */
  readonly displayName?: string | undefined;
  /** Base of every link, e.g. https://strata.example (no trailing slash needed). */
  readonly webUrl: string;
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character] ?? character);
}

/**
 * A message body as a list of blocks, written once and rendered to both parts, so the HTML and
 * text versions cannot drift apart. Every string in a block is data: the HTML renderer escapes
 * all of it, links included.
 */
type Block =
  | { readonly kind: 'paragraph'; readonly text: string }
  | { readonly kind: 'quote'; readonly text: string }
  | { readonly kind: 'link'; readonly label: string; readonly url: string }
  | { readonly kind: 'facts'; readonly rows: ReadonlyArray<readonly [string, string]> };

interface Message {
  readonly subject: string;
  readonly blocks: readonly Block[];
}

function link(context: RenderContext, path: string, query?: Record<string, string>): string {
  const url = new URL(path, context.webUrl.endsWith('/') ? context.webUrl : `${context.webUrl}/`);
  for (const [name, value] of Object.entries(query ?? {})) url.searchParams.set(name, value);
  return url.toString();
}

// Minor units → a decimal string without going through floating point (amounts can exceed 2^53
// minor units in theory, and 0.1 + 0.2 must never show up in a receipt).
export function formatAmount(amountMinor: string, currency: string): string {
  let fractionDigits = 2;
  try {
    fractionDigits =
      new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
        .maximumFractionDigits ?? 2;
  } catch {
    // Unknown to ICU: show two decimals, the common case.
  }
  const digits = amountMinor.replace(/^0+(?=\d)/, '');
  if (fractionDigits === 0) return `${digits} ${currency}`;
  const padded = digits.padStart(fractionDigits + 1, '0');
  const whole = padded.slice(0, -fractionDigits).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${whole}.${padded.slice(-fractionDigits)} ${currency}`;
}

type Templates = {
  readonly [Name in EmailTemplate]: (
    data: EmailTemplateData[Name],
    context: RenderContext,
  ) => Message;
};

const TEMPLATES: Templates = {
  'email-verification': (data, context) => ({
    subject: 'Confirm your email address',
    blocks: [
      { kind: 'paragraph', text: 'Please confirm the email address of your Strata account.' },
      {
        kind: 'link',
        label: 'Confirm my address',
        url: link(context, 'verify-email', { token: data.token }),
      },
      { kind: 'paragraph', text: 'If you did not create an account, ignore this message.' },
    ],
  }),
  'password-reset': (data, context) => ({
    subject: 'Reset your password',
    blocks: [
      { kind: 'paragraph', text: 'Someone asked to reset the password of your Strata account.' },
      {
        kind: 'link',
        label: 'Choose a new password',
        url: link(context, 'reset-password', { token: data.token }),
      },
      {
        kind: 'paragraph',
        text: 'If it was not you, ignore this message: your password stays unchanged.',
      },
    ],
  }),
  'payment-receipt': (data, context) => ({
    subject: `Receipt for your payment of ${formatAmount(data.amountMinor, data.currency)}`,
    blocks: [
      { kind: 'paragraph', text: 'Thank you: your payment went through.' },
      {
        kind: 'facts',
        rows: [
          ['Amount', formatAmount(data.amountMinor, data.currency)],
          ['Payment', data.paymentId],
        ],
      },
      ...(data.articleId === undefined
        ? []
        : [
            {
              kind: 'link',
              label: 'Open the article',
              url: link(context, `articles/${encodeURIComponent(data.articleId)}`),
            } as const,
          ]),
    ],
  }),
  'payment-received': (data, context) => ({
    subject: `You received ${formatAmount(data.netAmountMinor, data.currency)}`,
    blocks: [
      { kind: 'paragraph', text: 'A reader paid for your work.' },
      {
        kind: 'facts',
        rows: [
          ['Paid', formatAmount(data.amountMinor, data.currency)],
          ['You receive', formatAmount(data.netAmountMinor, data.currency)],
          ['Payment', data.paymentId],
        ],
      },
      { kind: 'link', label: 'See your balance', url: link(context, 'account/balance') },
    ],
  }),
  'comment-on-article': (data, context) => ({
    subject: `New comment on "${data.articleTitle}"`,
    blocks: [
      { kind: 'paragraph', text: `Someone commented on your article "${data.articleTitle}":` },
      { kind: 'quote', text: data.commentExcerpt },
      {
        kind: 'link',
        label: 'Read the comment',
        url: link(context, `articles/${encodeURIComponent(data.articleSlug)}`),
      },
    ],
  }),
};

function greeting(context: RenderContext): string {
  return context.displayName ? `Hi ${context.displayName},` : 'Hello,';
}

function toHtml(message: Message, context: RenderContext): string {
  const body = message.blocks.map((block) => {
    switch (block.kind) {
      case 'paragraph':
        return `<p>${escapeHtml(block.text)}</p>`;
      case 'quote':
        return `<blockquote style="margin:0 0 16px;padding-left:12px;border-left:3px solid #ccc">${escapeHtml(block.text)}</blockquote>`;
      case 'link':
        return `<p><a href="${escapeHtml(block.url)}">${escapeHtml(block.label)}</a></p>`;
      case 'facts':
        return `<table>${block.rows
          .map(
            ([name, value]) =>
              `<tr><th align="left">${escapeHtml(name)}</th><td>${escapeHtml(value)}</td></tr>`,
          )
          .join('')}</table>`;
    }
  });
  return [
    '<!doctype html>',
    '<html><head><meta charset="utf-8"><title>',
    escapeHtml(message.subject),
    '</title></head><body style="font-family:sans-serif;line-height:1.5">',
    `<p>${escapeHtml(greeting(context))}</p>`,
    ...body,
    '<p>The Strata team</p>',
    '</body></html>',
  ].join('');
}

function toText(message: Message, context: RenderContext): string {
  const body = message.blocks.map((block) => {
    switch (block.kind) {
      case 'paragraph':
        return block.text;
      case 'quote':
        return block.text
          .split('\n')
          .map((line) => `> ${line}`)
          .join('\n');
      case 'link':
        return `${block.label}: ${block.url}`;
      case 'facts':
        return block.rows.map(([name, value]) => `${name}: ${value}`).join('\n');
    }
  });
  return [greeting(context), ...body, 'The Strata team'].join('\n\n') + '\n';
}

function isTemplate(name: string): name is EmailTemplate {
  return (EMAIL_TEMPLATES as readonly string[]).includes(name);
}

/**
 * Renders a template to subject, HTML and text. Every variable is escaped in the HTML part;
 * links are built with `URL`, so a variable cannot change a link's host or path.
 * @throws PermanentJobError for a template this worker does not know.
 */
export function renderEmail<Template extends EmailTemplate>(
  template: Template,
  data: EmailTemplateData[Template],
  context: RenderContext,
): RenderedEmail {
  if (!isTemplate(template))
    throw new PermanentJobError(`unknown email template "${String(template)}"`);
  const render = TEMPLATES[template] as (
    data: EmailTemplateData[Template],
    context: RenderContext,
  ) => Message;
  const message = render(data, context);
  return {
    subject: message.subject,
    html: toHtml(message, context),
    text: toText(message, context),
  };
}
