import {
  REALTIME_EVENT_TYPES,
  parseRealtimeEvent,
  realtimeEventChannel,
  serializeRealtimeEvent,
  type RealtimeEvent,
} from './index';

const AT = new Date('2026-11-27T06:56:00.000Z');

const samples: RealtimeEvent[] = [
  {
    type: 'payment.settled',
    at: AT,
    data: {
      paymentId: 'p1',
      payerId: 'u1',
      payeeId: 'u2',
      amount: { amountMinor: 500, currency: 'EUR' },
      articleId: 'a1',
      settleTime: AT,
    },
  },
  {
    type: 'payment.failed',
    at: AT,
    data: {
      paymentId: 'p2',
      payerId: 'u1',
      payeeId: 'u2',
      amount: { amountMinor: 100, currency: 'USD' },
      failureReason: 'card_declined',
    },
  },
  {
    type: 'comment.created',
    at: AT,
    data: {
      commentId: 'c1',
      articleId: 'a1',
      articleSlug: 'hello',
      articleTitle: 'Hello',
      commenterId: 'u3',
      commenterDisplayName: 'Grace',
      excerpt: '<b>nice</b>',
    },
  },
  { type: 'media.ready', at: AT, data: { mediaId: 'm1', variantNames: ['small', 'medium'] } },
  { type: 'media.failed', at: AT, data: { mediaId: 'm2', failureReason: 'corrupt image' } },
];

describe('real-time event envelope', () => {
  it('has one sample per known type', () => {
    expect(samples.map((event) => event.type).sort()).toEqual([...REALTIME_EVENT_TYPES].sort());
  });

  it.each(samples)('round-trips $type', (event) => {
    expect(parseRealtimeEvent(serializeRealtimeEvent(event))).toEqual(event);
  });

  it('publishes {type, data, at} with proto3 JSON data', () => {
    expect(JSON.parse(serializeRealtimeEvent(samples[0]))).toEqual({
      type: 'payment.settled',
      data: {
        paymentId: 'p1',
        payerId: 'u1',
        payeeId: 'u2',
        amount: { amountMinor: 500, currency: 'EUR' },
        articleId: 'a1',
        settleTime: '2026-11-27T06:56:00.000Z',
      },
      at: '2026-11-27T06:56:00.000Z',
    });
  });

  it('ignores types it does not know, so publishers can add new ones', () => {
    const text = JSON.stringify({ type: 'payment.disputed', data: {}, at: AT.toISOString() });
    expect(parseRealtimeEvent(text)).toBeUndefined();
  });

  it.each([
    ['not JSON', '{'],
    ['an array', '[]'],
    ['no type', JSON.stringify({ data: {}, at: AT.toISOString() })],
    [
      'data not an object',
      JSON.stringify({ type: 'media.ready', data: 'x', at: AT.toISOString() }),
    ],
    ['a bad time', JSON.stringify({ type: 'media.ready', data: {}, at: 'yesterday' })],
  ])('throws on %s', (_label, text) => {
    expect(() => parseRealtimeEvent(text)).toThrow();
  });

  it('names one Redis channel per recipient', () => {
    expect(realtimeEventChannel('u1')).toBe('strata:events:user:u1');
    expect(() => realtimeEventChannel('')).toThrow();
  });
});
