/**
 * Money arithmetic in integer minor units (BigInt), never floats. Amounts cross the gRPC boundary
 * as `number` (exact below 2^53, and config bounds them far below) and live as BigInt in the
 * database and the ledger.
 */

/** The platform fee of `amount`, rounded down (the payee never gets less than the exact share). */
export function platformFee(amount: bigint, feeBps: number): bigint {
  return (amount * BigInt(feeBps)) / 10_000n;
}

/**
 * The part of the fee a refund gives back, computed on cumulative totals so that partial refunds
 * that add up to the whole amount give back exactly the whole fee (no rounding drift).
 */
export function refundedFeeShare(
  amount: bigint,
  fee: bigint,
  refundedBefore: bigint,
  refund: bigint,
): bigint {
  return (fee * (refundedBefore + refund)) / amount - (fee * refundedBefore) / amount;
}

/** A BigInt that must be exact as a JS number (proto int64 mapped to number). */
export function toSafeNumber(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`amount ${value} is beyond 2^53`);
  }
  return Number(value);
}
