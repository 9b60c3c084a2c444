import {
  entryKeys,
  generationKey,
  validateKey,
  validateLayout,
  versionedEntryPrefixes,
} from './cache-keys';

const layout = { prefix: 'strata:user', namespace: 'profile', schemaVersion: 3 };

describe('cache keys', () => {
  it('builds <prefix>:<namespace>:v<schemaVersion>:<key>, with the generation when versioned', () => {
    expect(entryKeys(layout, 'u:42')).toEqual({
      key: 'u:42',
      valueKey: 'strata:user:profile:v3:u:42',
      leaseKey: 'strata:user:profile#lease:v3:u:42',
    });
    expect(entryKeys(layout, 'page:1', '17').valueKey).toBe('strata:user:profile:v3:g17:page:1');
    expect(generationKey(layout)).toBe('strata:user:profile#generation');
  });

  it('gives the prefixes that the generation and key complete into entryKeys names', () => {
    const prefixes = versionedEntryPrefixes(layout);
    const entry = entryKeys(layout, 'page:1', '17');
    expect(`${prefixes.value}17:page:1`).toBe(entry.valueKey);
    expect(`${prefixes.lease}17:page:1`).toBe(entry.leaseKey);
  });

  it('rejects namespaces that could collide with lease or generation keys', () => {
    expect(() => validateLayout({ ...layout, namespace: 'a#lease' })).toThrow(TypeError);
    expect(() => validateLayout({ ...layout, namespace: 'a:b' })).toThrow(TypeError);
    expect(() => validateLayout({ ...layout, prefix: '' })).toThrow(TypeError);
    expect(() => validateLayout({ ...layout, schemaVersion: 1.5 })).toThrow(TypeError);
    expect(() => validateLayout(layout)).not.toThrow();
  });

  it('rejects empty and oversized keys', () => {
    expect(() => validateKey('')).toThrow(TypeError);
    expect(() => validateKey('x'.repeat(1025))).toThrow(TypeError);
    expect(() => validateKey('ok')).not.toThrow();
  });
});
