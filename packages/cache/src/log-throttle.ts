/**
 * Lets one event through per interval and counts the rest, so that an outage (every request
 * failing, every reconnect attempt erroring) produces one warning per interval instead of one per
 * request, while the count still tells how bad it was.
 */
export class LogThrottle {
  private lastAllowedAt = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Returns how many events were suppressed since the last one let through when this one may be
   * logged, or `undefined` when it must be dropped.
   */
  take(): number | undefined {
    const now = this.now();
    if (now - this.lastAllowedAt < this.intervalMs) {
      this.suppressed += 1;
      return undefined;
    }
    this.lastAllowedAt = now;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    return suppressed;
  }
}
