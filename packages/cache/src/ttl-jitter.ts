/**
 * Spreads expiry times so that entries written together (a warm-up, a popular list page filled by
 * many processes) do not all expire in the same second and stampede the database together.
 *
 * Returns milliseconds (for `SET … PX`) within `ttlSeconds × (1 ± jitterRatio)`, never below 1 ms.
 */
export function jitteredTtlMs(
  ttlSeconds: number,
  jitterRatio: number,
  random: () => number = Math.random,
): number {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(`ttlSeconds must be a positive number, got ${ttlSeconds}`);
  }
  if (!Number.isFinite(jitterRatio) || jitterRatio < 0 || jitterRatio >= 1) {
    throw new RangeError(`jitterRatio must be in [0, 1), got ${jitterRatio}`);
  }
  const baseMs = ttlSeconds * 1000;
  // random() ∈ [0, 1) → factor ∈ [1 - ratio, 1 + ratio)
  const factor = 1 + (random() * 2 - 1) * jitterRatio;
  return Math.max(1, Math.round(baseMs * factor));
}
