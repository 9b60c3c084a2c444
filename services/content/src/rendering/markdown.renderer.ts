import MarkdownIt from 'markdown-it';
import sanitizeHtml from 'sanitize-html';

/**
 * Part of every fragment-cache key: bump it whenever the Markdown options or the sanitiser's
 * allow-list change, so HTML rendered by the old rules is never served again.
 */
export const RENDERER_VERSION = 'md14-sanitize1';

/** Renders an article body; injectable so tests can count renders. */
export interface BodyRenderer {
  readonly version: string;
  render(markdown: string): string;
}

// An allow-list, never a deny-list: anything not named here (script, style, iframe, on* handlers,
// style attributes) is dropped, and links may only use these schemes, so `javascript:` and
// `data:` URLs cannot survive even if markdown-it's own link check changes.
const SANITIZE_OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: [
    'p',
    'br',
    'hr',
    'h1',
    'h2',
    'h3',
    'h4',
    'h5',
    'h6',
    'blockquote',
    'pre',
    'code',
    'em',
    'strong',
    's',
    'del',
    'ul',
    'ol',
    'li',
    'a',
    'img',
    'table',
    'thead',
    'tbody',
    'tr',
    'th',
    'td',
    'sup',
    'sub',
  ],
  allowedAttributes: {
    a: ['href', 'title', 'rel'],
    img: ['src', 'alt', 'title'],
    code: ['class'],
    th: ['align'],
    td: ['align'],
    ol: ['start'],
  },
  allowedClasses: { code: [/^language-[a-z0-9+#-]+$/] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['http', 'https'] },
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  transformTags: {
    // User content links elsewhere: no referrer leak, no window.opener, no SEO credit for spam.
    a: sanitizeHtml.simpleTransform('a', { rel: 'nofollow noopener noreferrer' }),
  },
};

/** markdown-it (raw HTML off, autolinks on) followed by sanitize-html with an allow-list. */
export class MarkdownRenderer implements BodyRenderer {
  readonly version = RENDERER_VERSION;
  private readonly markdown = new MarkdownIt({ html: false, linkify: true, typographer: false });

  render(markdown: string): string {
    return sanitizeHtml(this.markdown.render(markdown), SANITIZE_OPTIONS);
  }
}

const EXCERPT_LENGTH = 200;

/** Plain-text start of rendered HTML, at most 200 characters, whitespace collapsed. */
export function excerptFromHtml(html: string): string {
  const text = sanitizeHtml(html, { allowedTags: [], allowedAttributes: {} })
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
  return [...text].slice(0, EXCERPT_LENGTH).join('');
}
