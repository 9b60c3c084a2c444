import { LogThrottle } from './log-throttle';

describe('LogThrottle', () => {
  it('lets one event per interval through and reports how many it dropped', () => {
    let now = 1_000;
    const throttle = new LogThrottle(10_000, () => now);
    expect(throttle.take()).toBe(0);
    expect(throttle.take()).toBeUndefined();
    now += 9_999;
    expect(throttle.take()).toBeUndefined();
    now += 1;
    expect(throttle.take()).toBe(2);
    expect(throttle.take()).toBeUndefined();
  });
});
