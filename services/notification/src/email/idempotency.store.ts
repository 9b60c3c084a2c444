import { createHash, randomUUID } from 'node:crypto';
import { type Redis } from 'ioredis';

/** Outcome of trying to claim an idempotency key before sending. */
export type ClaimResult =
  /** This caller owns the key until it marks it sent or releases it (or the lease expires). */
  | { readonly status: 'claimed'; readonly owner: string }
  /** An email for this key was already accepted by the SMTP server. */
  | { readonly status: 'sent'; readonly messageId: string }
  /** Another delivery holds the key right now; retry once it has finished or its lease expired. */
  | { readonly status: 'busy'; readonly retryInMs: number };

export interface IdempotencyStoreOptions {
  /** Key namespace, e.g. `bull:email-idempotency`. */
  readonly namespace: string;
  /** Lifetime of a "sending" claim; see the README on what it bounds. */
  readonly leaseMs: number;
  /** Lifetime of a "sent" record. */
  readonly sentTtlMs: number;
}

// States, one Redis string per key:
//   sending|<owner>            with PX = lease: someone is talking to the SMTP server
//   sent|<messageId>|<at ms>   with PX = sentTtl: the SMTP server accepted the message
// All transitions are single Lua scripts, so two workers can never both own a key.
const CLAIM_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if not current then
  redis.call('SET', KEYS[1], 'sending|' .. ARGV[1], 'PX', ARGV[2])
  return {'claimed', ''}
end
return {current, tostring(redis.call('PTTL', KEYS[1]))}
`;

// Only the owner may turn its claim into "sent"; a claim that expired and was taken over by
// another delivery is not overwritten (that delivery will write its own record).
const MARK_SENT_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current == 'sending|' .. ARGV[1] or not current then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
`;

const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == 'sending|' .. ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

/** A stable, fixed-length id for a key of any length or alphabet. */
export function hashIdempotencyKey(idempotencyKey: string): string {
  return createHash('sha256').update(idempotencyKey).digest('hex');
}

/**
 * Exactly-one-send bookkeeping per idempotency key, in Redis: claim before sending, mark sent
 * when the SMTP server accepted the message, release when it definitely did not.
 */
export class IdempotencyStore {
  constructor(
    private readonly redis: Redis,
    private readonly options: IdempotencyStoreOptions,
  ) {}

  private key(idempotencyKey: string): string {
    return `${this.options.namespace}:${hashIdempotencyKey(idempotencyKey)}`;
  }

  /** The message id when an email for this key was sent (a cheap check before any work). */
  async sentMessageId(idempotencyKey: string): Promise<string | undefined> {
    const value = await this.redis.get(this.key(idempotencyKey));
    return value?.startsWith('sent|') ? value.split('|')[1] : undefined;
  }

  async claim(idempotencyKey: string): Promise<ClaimResult> {
    const owner = randomUUID();
    const reply = (await this.redis.eval(
      CLAIM_SCRIPT,
      1,
      this.key(idempotencyKey),
      owner,
      String(this.options.leaseMs),
    )) as [string, string];
    const [state, ttl] = reply;
    if (state === 'claimed') return { status: 'claimed', owner };
    if (state.startsWith('sent|')) return { status: 'sent', messageId: state.split('|')[1] ?? '' };
    const remaining = Number(ttl);
    return { status: 'busy', retryInMs: remaining > 0 ? remaining : this.options.leaseMs };
  }

  /** Records that the SMTP server accepted the message; false if the claim was lost meanwhile. */
  async markSent(idempotencyKey: string, owner: string, messageId: string): Promise<boolean> {
    const marked = await this.redis.eval(
      MARK_SENT_SCRIPT,
      1,
      this.key(idempotencyKey),
      owner,
      `sent|${messageId}|${Date.now()}`,
      String(this.options.sentTtlMs),
    );
    return marked === 1;
  }

  /** Gives the key back after a send that certainly did not go out, so a retry can claim it at once. */
  async release(idempotencyKey: string, owner: string): Promise<void> {
    await this.redis.eval(RELEASE_SCRIPT, 1, this.key(idempotencyKey), owner);
  }
}
