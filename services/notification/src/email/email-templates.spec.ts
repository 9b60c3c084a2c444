import { EMAIL_TEMPLATES, type EmailTemplate, type EmailTemplateData } from '@strata/jobs';
import { PermanentJobError } from '@strata/queue';
import { escapeHtml, formatAmount, renderEmail } from './email-templates';

const context = { displayName: 'Ada', webUrl: 'https://strata.test' };
const HOSTILE = `<img src=x onerror="alert('x')"> & "quotes"`;

const SAMPLE_DATA: { [Name in EmailTemplate]: EmailTemplateData[Name] } = {
  'email-verification': { token: HOSTILE },
  'password-reset': { token: HOSTILE },
  'payment-receipt': {
    paymentId: HOSTILE,
    amountMinor: '1250',
    currency: 'EUR',
    articleId: HOSTILE,
  },
  'payment-received': {
    paymentId: HOSTILE,
    amountMinor: '1250',
    netAmountMinor: '1125',
    currency: 'EUR',
  },
  'comment-on-article': { articleTitle: HOSTILE, articleSlug: HOSTILE, commentExcerpt: HOSTILE },
};

describe('renderEmail', () => {
  it.each(EMAIL_TEMPLATES)(
    '%s: escapes every variable in HTML, keeps text readable',
    (template) => {
      const rendered = renderEmail(template, SAMPLE_DATA[template], context);
      expect(rendered.subject.length).toBeGreaterThan(0);
      expect(rendered.html).toMatch(/^<!doctype html>/);
      expect(rendered.html).toContain('<p>Hi Ada,</p>');
      // No raw markup from the data made it into the HTML part.
      expect(rendered.html).not.toContain('<img');
      expect(rendered.html).not.toContain('onerror="');
      expect(rendered.text).toMatch(/^Hi Ada,\n\n/);
      expect(rendered.text).not.toContain('&lt;');
    },
  );

  it('builds links with URL encoding: a token cannot change the link', () => {
    const rendered = renderEmail('password-reset', { token: 'a&b=c d"/../x' }, context);
    const url = 'https://strata.test/reset-password?token=a%26b%3Dc+d%22%2F..%2Fx';
    expect(rendered.text).toContain(`Choose a new password: ${url}`);
    expect(rendered.html).toContain(`<a href="${escapeHtml(url)}">Choose a new password</a>`);
  });

  it('keeps links under PUBLIC_WEB_URL, with or without a path and trailing slash', () => {
    const withPath = { webUrl: 'https://example.com/app' };
    expect(renderEmail('email-verification', { token: 't' }, withPath).text).toContain(
      'https://example.com/app/verify-email?token=t',
    );
    const slug = renderEmail(
      'comment-on-article',
      { articleTitle: 'T', articleSlug: '../../admin', commentExcerpt: 'c' },
      { webUrl: 'https://example.com/' },
    );
    expect(slug.text).toContain('https://example.com/articles/..%2F..%2Fadmin');
  });

  it('greets by name when known, generically otherwise', () => {
    expect(
      renderEmail('email-verification', { token: 't' }, { webUrl: 'https://x.test' }).text,
    ).toMatch(/^Hello,\n/);
    expect(
      renderEmail(
        'email-verification',
        { token: 't' },
        { displayName: '<b>Bo</b>', webUrl: 'https://x.test' },
      ).html,
    ).toContain('<p>Hi &lt;b&gt;Bo&lt;/b&gt;,</p>');
  });

  it('renders payment amounts exactly', () => {
    const receipt = renderEmail('payment-receipt', SAMPLE_DATA['payment-receipt'], context);
    expect(receipt.subject).toBe('Receipt for your payment of 12.50 EUR');
    const received = renderEmail('payment-received', SAMPLE_DATA['payment-received'], context);
    expect(received.subject).toBe('You received 11.25 EUR');
    expect(received.text).toContain('Paid: 12.50 EUR\nYou receive: 11.25 EUR');
  });

  it('refuses a template it does not know, permanently', () => {
    expect(() => renderEmail('newsletter' as EmailTemplate, { token: 't' }, context)).toThrow(
      PermanentJobError,
    );
  });
});

describe('formatAmount', () => {
  it.each([
    ['0', 'EUR', '0.00 EUR'],
    ['5', 'EUR', '0.05 EUR'],
    ['1250', 'EUR', '12.50 EUR'],
    ['123456789', 'USD', '1,234,567.89 USD'],
    ['900719925474099312', 'EUR', '9,007,199,254,740,993.12 EUR'],
    ['1500', 'JPY', '1500 JPY'],
    ['1234', 'BHD', '1.234 BHD'],
  ])('%s minor units of %s → %s', (amount, currency, expected) => {
    expect(formatAmount(amount, currency)).toBe(expected);
  });
});
