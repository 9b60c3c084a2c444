import { reconnectDelayMs } from './redis-client';

describe('reconnectDelayMs', () => {
  it('backs off exponentially from 100 ms, capped, with under 100 ms of jitter', () => {
    expect(reconnectDelayMs(1, 2_000, () => 0)).toBe(100);
    expect(reconnectDelayMs(2, 2_000, () => 0)).toBe(200);
    expect(reconnectDelayMs(5, 2_000, () => 0)).toBe(1_600);
    expect(reconnectDelayMs(6, 2_000, () => 0)).toBe(2_000);
    expect(reconnectDelayMs(10_000, 2_000, () => 0.999)).toBe(2_099);
  });

  it('always returns a number, so the client never stops reconnecting', () => {
    for (let attempt = 1; attempt < 1_000; attempt += 37) {
      expect(typeof reconnectDelayMs(attempt, 2_000)).toBe('number');
    }
  });
});
