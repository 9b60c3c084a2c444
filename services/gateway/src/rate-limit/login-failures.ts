import { createHash } from 'node:crypto';
import { type Logger } from '@strata/logger';
import { type Redis } from 'ioredis';

export interface LoginFailureLimiterOptions {
  readonly redis: Redis;
  readonly logger: Logger;
  readonly keyPrefix: string;
  readonly limit: number;
  readonly windowMs: number;
}

/**
 * Counts failed logins per (account, client) in Redis, shared by every replica. Once `limit`
 * failures happened within the window, further attempts for that pair are refused with 429 until
 * the window (started by the first failure) ends; a success clears the count.
 *
 * Fails open: when Redis cannot be reached, logins are allowed (and a warning logged), since
 * locking everyone out during a cache outage would be worse than a brief unthrottled window.
 */
export class LoginFailureLimiter {
  constructor(private readonly options: LoginFailureLimiterOptions) {}

  /** Seconds to wait when the pair is locked out, `undefined` when a login may be tried. */
  async retryAfterSeconds(account: string, client: string): Promise<number | undefined> {
    try {
      const key = this.key(account, client);
      const [count, ttl] = await Promise.all([
        this.options.redis.get(key),
        this.options.redis.pttl(key),
      ]);
      if (count === null || Number(count) < this.options.limit) return undefined;
      return Math.max(1, Math.ceil((ttl > 0 ? ttl : this.options.windowMs) / 1000));
    } catch (error) {
      this.options.logger.warn({ err: error }, 'login-failure limiter unavailable; allowing login');
      return undefined;
    }
  }

  async recordFailure(account: string, client: string): Promise<void> {
    try {
      const key = this.key(account, client);
      // The window starts at the first failure and is not extended by later ones (NX).
      await this.options.redis.multi().incr(key).pexpire(key, this.options.windowMs, 'NX').exec();
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not record login failure');
    }
  }

  async reset(account: string, client: string): Promise<void> {
    try {
      await this.options.redis.del(this.key(account, client));
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not reset login failures');
    }
  }

  private key(account: string, client: string): string {
    // Hashed so that Redis holds no email addresses.
    const digest = createHash('sha256')
      .update(`${account.trim().toLowerCase()}\u0000${client}`)
      .digest('base64url');
    return `${this.options.keyPrefix}:login-failures:${digest}`;
  }
}
