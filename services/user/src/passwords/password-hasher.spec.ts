import { PasswordHasher, readArgon2Parameters } from './password-hasher';

describe('PasswordHasher', () => {
  const hasher = new PasswordHasher();

  it('hashes with argon2id at the OWASP parameters, read back from the stored string', async () => {
    const stored = await hasher.hash('correct horse battery staple');
    expect(readArgon2Parameters(stored)).toEqual({
      algorithm: 'argon2id',
      version: 19,
      memoryCost: 19_456,
      timeCost: 2,
      parallelism: 1,
    });
    expect(stored).not.toContain('correct horse');
  });

  it('verifies the right password only, and never throws on a damaged hash', async () => {
    const stored = await hasher.hash('correct horse battery staple');
    await expect(hasher.verify(stored, 'correct horse battery staple')).resolves.toBe(true);
    await expect(hasher.verify(stored, 'correct horse battery stapler')).resolves.toBe(false);
    await expect(hasher.verify('not-a-hash', 'anything at all')).resolves.toBe(false);
    await expect(hasher.verifyDummy('correct horse battery staple')).resolves.toBe(false);
  });

  it('treats Unicode compatibility forms of one password alike (NFKC)', async () => {
    const stored = await hasher.hash('ﬁnancial-planning');
    await expect(hasher.verify(stored, 'financial-planning')).resolves.toBe(true);
  });

  it('asks for a rehash of hashes made with weaker parameters', async () => {
    const weak = new PasswordHasher({ memoryCost: 8_192, timeCost: 1, parallelism: 1 });
    const old = await weak.hash('correct horse battery staple');
    expect(hasher.needsRehash(old)).toBe(true);
    expect(hasher.needsRehash(await hasher.hash('correct horse battery staple'))).toBe(false);
  });
});
