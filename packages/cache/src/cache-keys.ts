/**
 * Key layout (one place, so that every process computes the same names):
 *
 *   value  <prefix>:<namespace>:v<schemaVersion>[:g<generation>]:<key>
 *   lease  <prefix>:<namespace>#lease:v<schemaVersion>[:g<generation>]:<key>
 *   version of a namespace (list caches)  <prefix>:<namespace>#generation
 *
 * `schemaVersion` is bumped in code when the cached shape changes, so old processes and new ones
 * never read each other's entries during a rolling deploy. `generation` is bumped at run time by
 * writes (namespace versioning). Namespaces may not contain `#` or `:`, so lease and generation keys
 * can never collide with value keys.
 */

const NAMESPACE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const PREFIX_PATTERN = /^[^\s]+$/;
const MAX_KEY_LENGTH = 1024;

export interface KeyLayout {
  readonly prefix: string;
  readonly namespace: string;
  readonly schemaVersion: number;
}

/** The Redis names of one logical entry. */
export interface EntryKeys {
  readonly key: string;
  readonly valueKey: string;
  readonly leaseKey: string;
}

export function validateLayout(layout: KeyLayout): void {
  if (!PREFIX_PATTERN.test(layout.prefix)) {
    throw new TypeError(
      `cache prefix must be non-empty without whitespace, got ${JSON.stringify(layout.prefix)}`,
    );
  }
  if (!NAMESPACE_PATTERN.test(layout.namespace)) {
    throw new TypeError(
      `cache namespace must match ${String(NAMESPACE_PATTERN)}, got ${JSON.stringify(layout.namespace)}`,
    );
  }
  if (!Number.isSafeInteger(layout.schemaVersion) || layout.schemaVersion < 0) {
    throw new TypeError(
      `cache schemaVersion must be a non-negative integer, got ${layout.schemaVersion}`,
    );
  }
}

export function validateKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new TypeError(
      `cache key must be a non-empty string of at most ${MAX_KEY_LENGTH} characters`,
    );
  }
}

/** The value and lease names up to `versionSegment` (the one place the layout is spelled out). */
function namePrefixes(layout: KeyLayout, versionSegment: string): { value: string; lease: string } {
  return {
    value: `${layout.prefix}:${layout.namespace}:${versionSegment}`,
    lease: `${layout.prefix}:${layout.namespace}#lease:${versionSegment}`,
  };
}

export function entryKeys(layout: KeyLayout, key: string, generation?: string): EntryKeys {
  const prefixes =
    generation === undefined
      ? namePrefixes(layout, `v${layout.schemaVersion}:`)
      : versionedEntryPrefixes(layout);
  const suffix = generation === undefined ? key : `${generation}:${key}`;
  return { key, valueKey: prefixes.value + suffix, leaseKey: prefixes.lease + suffix };
}

/**
 * The parts of a versioned entry's names before the generation: `<valuePrefix><generation>:<key>`
 * is {@link entryKeys}' value key, likewise the lease. For the read script that resolves the
 * generation and reads the entry in one round trip (it builds the names inside Redis).
 */
export function versionedEntryPrefixes(layout: KeyLayout): { value: string; lease: string } {
  return namePrefixes(layout, `v${layout.schemaVersion}:g`);
}

export function generationKey(layout: KeyLayout): string {
  return `${layout.prefix}:${layout.namespace}#generation`;
}
