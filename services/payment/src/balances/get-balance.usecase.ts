import { type Cache } from '@strata/cache';
import { type paymentV1 } from '@strata/contracts';
import { permissionDenied } from '@strata/grpc';
import { type PaymentDatabase } from '../database';
import { requireActor, requireUuid } from '../grpc/request-validation';
import { userBalances } from '../ledger/ledger.repository';
import { toSafeNumber } from '../money';
import { type CachedBalances } from './balance-cache';

/** GetBalance: the sum of the user's postings per currency, through the cache. */
export async function getBalance(
  database: PaymentDatabase,
  cache: Cache<CachedBalances>,
  request: paymentV1.GetBalanceRequest,
): Promise<paymentV1.GetBalanceResponse> {
  const actor = requireActor(request.actor);
  const userId = requireUuid('user_id', request.userId);
  if (userId !== actor.userId && !actor.isAdmin)
    throw permissionDenied("cannot read another user's balance");
  const balances = await cache.getOrLoad(userId, async () =>
    (await userBalances(database, userId)).map((balance) => ({
      currency: balance.currency,
      amountMinor: balance.amount.toString(),
    })),
  );
  return {
    balances: balances.map((balance) => ({
      currency: balance.currency,
      amountMinor: toSafeNumber(BigInt(balance.amountMinor)),
    })),
  };
}
