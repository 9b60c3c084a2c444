import { loadCommonPasswords, PasswordPolicy } from './password-policy';

describe('PasswordPolicy', () => {
  const commonPasswords = loadCommonPasswords();
  const policy = new PasswordPolicy(commonPasswords);

  it('ships a list of common passwords long enough to matter', () => {
    expect(commonPasswords.size).toBeGreaterThanOrEqual(500);
    expect(commonPasswords.has('qwertyuiop')).toBe(true);
    expect([...commonPasswords].every((entry) => entry.length >= 10)).toBe(true);
  });

  it('bounds the length in characters (code points), 10 to 128', () => {
    expect(policy.violation('short-pw1')).toBe('must be at least 10 characters');
    expect(policy.violation('tolerable-1')).toBeUndefined();
    expect(policy.violation('x'.repeat(128))).toBeUndefined();
    expect(policy.violation('x'.repeat(129))).toBe('must be at most 128 characters');
    // Five emoji are ten UTF-16 units but five characters.
    expect(policy.violation('🔑🔑🔑🔑🔑')).toBe('must be at least 10 characters');
  });

  it('rejects common passwords whatever their case', () => {
    expect(policy.violation('Password123')).toMatch(/most common passwords/);
    expect(policy.violation('QWERTYUIOP')).toMatch(/most common passwords/);
    expect(policy.violation('correct horse battery staple')).toBeUndefined();
  });
});
