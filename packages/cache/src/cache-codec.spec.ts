import { decodeEnvelope, encodeEnvelope, jsonCodec } from './cache-codec';

describe('cache envelope', () => {
  const codec = jsonCodec<{ name: string } | null>();

  it('round-trips values and keeps "not found" distinct from any value', () => {
    expect(decodeEnvelope(codec, encodeEnvelope(codec, { name: 'Ada' }))).toEqual({
      found: true,
      value: { name: 'Ada' },
    });
    expect(decodeEnvelope(codec, encodeEnvelope(codec, null))).toEqual({ found: false });
    const strings = jsonCodec<string>();
    expect(decodeEnvelope(strings, encodeEnvelope(strings, '!'))).toEqual({
      found: true,
      value: '!',
    });
  });

  it('throws on entries it did not write', () => {
    expect(() => decodeEnvelope(codec, '{"name":"Ada"}')).toThrow();
    expect(() => decodeEnvelope(codec, '={not json')).toThrow();
  });
});
