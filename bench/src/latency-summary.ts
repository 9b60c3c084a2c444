// Percentiles of the load generators (HTTP, gRPC, WebSocket), computed one way for all of them.
// A module of its own: the generators are child processes whose files start a run when loaded.

/** The value at percentile `p` (0–100) of ascending `sorted` values; NaN when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Two decimals: what every generator reports, in ms or s. */
export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** p50/p90/p99/max of ascending latencies (ms), two decimals. */
export function latencySummary(sorted: readonly number[]): {
  p50: number;
  p90: number;
  p99: number;
  max: number;
} {
  return {
    p50: round2(percentile(sorted, 50)),
    p90: round2(percentile(sorted, 90)),
    p99: round2(percentile(sorted, 99)),
    max: round2(sorted.at(-1) ?? NaN),
  };
}
