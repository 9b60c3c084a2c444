import { Cache } from '@strata/cache';
import { type Logger } from '@strata/logger';
import { type Redis } from 'ioredis';

/** A cached balance: amounts as decimal strings (JSON has no BigInt). */
export type CachedBalances = Array<{ currency: string; amountMinor: string }>;

export const BALANCE_CACHE_PREFIX = 'strata:payment';

export function createBalanceCache(options: {
  redis: Redis;
  logger: Logger;
  prefix?: string;
  ttlSeconds: number;
}): Cache<CachedBalances> {
  return new Cache<CachedBalances>({
    redis: options.redis,
    logger: options.logger,
    prefix: options.prefix ?? BALANCE_CACHE_PREFIX,
    namespace: 'balance',
    schemaVersion: 1,
    // Correctness comes from invalidation on every posting; the TTL only bounds a missed one.
    ttlSeconds: options.ttlSeconds,
  });
}
