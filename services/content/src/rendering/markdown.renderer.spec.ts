import { FragmentCache } from './fragment-cache';
import { MarkdownRenderer, RENDERER_VERSION, excerptFromHtml } from './markdown.renderer';

describe('MarkdownRenderer', () => {
  const renderer = new MarkdownRenderer();

  it('renders Markdown', () => {
    expect(renderer.render('# Hi\n\n- a\n- **b**\n\n```ts\nconst x = 1;\n```')).toBe(
      '<h1>Hi</h1>\n<ul>\n<li>a</li>\n<li><strong>b</strong></li>\n</ul>\n<pre><code class="language-ts">const x = 1;\n</code></pre>\n',
    );
  });

  it.each([
    ['script tag', '<script>alert(1)</script>'],
    ['event handler', '<img src="x" onerror="alert(1)">'],
    ['javascript link', '[x](javascript:alert(1))'],
    ['encoded javascript link', '[x](jav&#x09;ascript:alert(1))'],
    ['data link', '[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)'],
    ['autolink', '<javascript:alert(1)>'],
    ['image with javascript src', '![x](javascript:alert(1))'],
  ])('leaves no executable markup for a %s', (_name, markdown) => {
    const html = renderer.render(markdown);
    const tags = html.match(/<[a-z][^>]*>/gi) ?? [];
    for (const tag of tags) {
      expect(tag).not.toMatch(/^<(script|iframe|object|embed|style)/i);
      expect(tag).not.toMatch(/\son[a-z]+\s*=/i);
      expect(tag).not.toMatch(/(javascript|data|vbscript):/i);
    }
  });

  it('keeps safe links and marks them nofollow', () => {
    expect(renderer.render('[a](https://example.com "t")')).toBe(
      '<p><a href="https://example.com" title="t" rel="nofollow noopener noreferrer">a</a></p>\n',
    );
  });

  it('makes plain-text excerpts of at most 200 characters', () => {
    expect(excerptFromHtml(renderer.render('# T\n\nA &amp; <b>'))).toBe('T A & <b>');
    expect([...excerptFromHtml(renderer.render('é'.repeat(500)))].length).toBe(200);
  });

  it('keys fragments by renderer version and body', () => {
    const key = FragmentCache.keyFor(RENDERER_VERSION, 'body');
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(FragmentCache.keyFor(RENDERER_VERSION, 'body ')).not.toBe(key);
    expect(FragmentCache.keyFor('other-version', 'body')).not.toBe(key);
  });
});
