import { jitteredTtlMs } from './ttl-jitter';

describe('jitteredTtlMs', () => {
  it('stays within ±ratio of the base TTL, at both ends of random()', () => {
    expect(jitteredTtlMs(100, 0.1, () => 0)).toBe(90_000);
    expect(jitteredTtlMs(100, 0.1, () => 0.999999)).toBeLessThanOrEqual(110_000);
    expect(jitteredTtlMs(100, 0.1, () => 0.999999)).toBeGreaterThan(109_990);
    expect(jitteredTtlMs(100, 0.1, () => 0.5)).toBe(100_000);
  });

  it('spreads values over the whole range', () => {
    const samples = Array.from({ length: 2_000 }, () => jitteredTtlMs(60, 0.1));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(54_000);
    expect(Math.max(...samples)).toBeLessThanOrEqual(66_000);
    // Both halves of the range are used (a constant TTL would fail this).
    expect(samples.some((sample) => sample < 57_000)).toBe(true);
    expect(samples.some((sample) => sample > 63_000)).toBe(true);
  });

  it('never returns less than 1 ms and rejects nonsense', () => {
    expect(jitteredTtlMs(0.0001, 0.5, () => 0)).toBe(1);
    expect(() => jitteredTtlMs(0, 0.1)).toThrow(RangeError);
    expect(() => jitteredTtlMs(10, 1)).toThrow(RangeError);
    expect(() => jitteredTtlMs(10, -0.1)).toThrow(RangeError);
  });
});
