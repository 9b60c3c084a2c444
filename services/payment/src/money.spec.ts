import { platformFee, refundedFeeShare } from './money';

describe('money', () => {
  it('rounds the fee down', () => {
    expect(platformFee(999n, 500)).toBe(49n);
    expect(platformFee(1000n, 0)).toBe(0n);
  });

  it('gives back exactly the whole fee over partial refunds that add up to the amount', () => {
    const amount = 1001n;
    const fee = platformFee(amount, 333);
    let refunded = 0n;
    let feeBack = 0n;
    for (const part of [1n, 333n, 7n, 400n, 260n]) {
      feeBack += refundedFeeShare(amount, fee, refunded, part);
      refunded += part;
    }
    expect(refunded).toBe(amount);
    expect(feeBack).toBe(fee);
  });
});
