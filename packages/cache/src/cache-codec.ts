/** Turns cached values into strings and back. The default is JSON. */
export interface CacheCodec<Value> {
  encode(value: Value): string;
  /** May throw on malformed input: the cache treats that entry as corrupt, drops it and reloads. */
  decode(raw: string): Value;
}

/**
 * JSON codec. Note what JSON loses: `Date` comes back as an ISO string, `bigint` cannot be encoded,
 * `undefined` fields disappear. Cache plain DTOs (or pass a codec that revives what you need).
 */
export function jsonCodec<Value>(): CacheCodec<Value> {
  return {
    encode: (value) => JSON.stringify(value),
    decode: (raw) => JSON.parse(raw) as Value,
  };
}

// Every stored string starts with a one-character tag so that a cached "not found" can never be
// confused with a value, whatever the codec produces.
const VALUE_TAG = '=';
const NOT_FOUND_TAG = '!';

/** A decoded entry: a value, or a cached "not found" (`null`). */
export type Envelope<Value> =
  { readonly found: true; readonly value: Value } | { readonly found: false };

export function encodeEnvelope<Value>(codec: CacheCodec<Value>, value: Value | null): string {
  return value === null ? NOT_FOUND_TAG : VALUE_TAG + codec.encode(value);
}

/** Throws when `raw` was not written by this package (or the codec rejects it). */
export function decodeEnvelope<Value>(codec: CacheCodec<Value>, raw: string): Envelope<Value> {
  if (raw === NOT_FOUND_TAG) return { found: false };
  if (raw.startsWith(VALUE_TAG))
    return { found: true, value: codec.decode(raw.slice(VALUE_TAG.length)) };
  throw new Error('cache entry has an unknown format');
}
