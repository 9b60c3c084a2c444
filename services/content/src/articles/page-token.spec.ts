import { status } from '@grpc/grpc-js';
import { DomainError } from '@strata/grpc';
import { decodePageToken, encodePageToken, filterFingerprint } from './page-token';

describe('page tokens', () => {
  const fingerprint = filterFingerprint({ tag: 'a', author: undefined, query: undefined });
  const position = {
    time: 1_700_000_000_123,
    id: '0190e6c4-5a1b-7c2d-8e3f-123456789abc',
    rank: 0.0607927,
  };

  it('round-trips a position for the same filters', () => {
    expect(decodePageToken(encodePageToken(fingerprint, position), fingerprint)).toEqual(position);
    expect(decodePageToken('', fingerprint)).toBeUndefined();
  });

  it.each([
    ['garbage', 'not base64!'],
    ['json of the wrong shape', Buffer.from('{"v":2}').toString('base64url')],
    ['another filter set', encodePageToken(filterFingerprint({ tag: 'b' }), position)],
    [
      'a bad id',
      Buffer.from(JSON.stringify({ v: 1, f: fingerprint, t: 1, i: "x' OR 1=1" })).toString(
        'base64url',
      ),
    ],
  ])('rejects %s as INVALID_ARGUMENT page_token', (_name, token) => {
    try {
      decodePageToken(token, fingerprint);
      throw new Error('expected a failure');
    } catch (error) {
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).code).toBe(status.INVALID_ARGUMENT);
      expect((error as DomainError).field).toBe('page_token');
    }
  });
});
