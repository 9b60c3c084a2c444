import { Secret } from '@strata/config';
import { isAuthorized } from './admin-auth';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('isAuthorized', () => {
  const token = new Secret('t'.repeat(32));
  const both = { token, user: 'ops', password: new Secret('p4ssw0rd:with-colon') };

  it('accepts the bearer token, and the token as a Basic password', () => {
    expect(isAuthorized(`Bearer ${'t'.repeat(32)}`, { token })).toBe(true);
    expect(isAuthorized(`bearer   ${'t'.repeat(32)}`, { token })).toBe(true);
    expect(isAuthorized(basic('whoever', 't'.repeat(32)), { token })).toBe(true);
  });

  it('accepts the Basic user and password (a colon in the password included)', () => {
    expect(isAuthorized(basic('ops', 'p4ssw0rd:with-colon'), both)).toBe(true);
  });

  it.each([
    ['no header', undefined],
    ['empty', ''],
    ['wrong token', `Bearer ${'t'.repeat(31)}u`],
    ['token prefix', `Bearer ${'t'.repeat(31)}`],
    ['empty bearer', 'Bearer '],
    ['wrong user', basic('admin', 'p4ssw0rd:with-colon')],
    ['wrong password', basic('ops', 'p4ssw0rd')],
    ['no colon', `Basic ${Buffer.from('ops').toString('base64')}`],
    ['other scheme', `Digest ${'t'.repeat(32)}`],
  ])('refuses %s', (_label, header) => {
    expect(isAuthorized(header, both)).toBe(false);
  });

  it('refuses Basic when only a token is configured and the password is not it', () => {
    expect(isAuthorized(basic('ops', 'p4ssw0rd:with-colon'), { token })).toBe(false);
  });
});
