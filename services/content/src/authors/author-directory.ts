import { type UnaryCallOptions } from '@strata/grpc';
import { type Logger } from '@strata/logger';

/** Display names by user id, from one user-service call per page. */
export interface AuthorDirectory {
  /** One BatchGetUsers call for all distinct ids (none when `ids` is empty). Unknown ids map to ''. */
  displayNames(ids: readonly string[], signal?: AbortSignal): Promise<Map<string, string>>;
}

export interface AuthorNameCacheOptions {
  /** How long a name the user service gave is reused; 0 asks the user service on every page. */
  readonly ttlMs: number;
  /** Bound of the in-process map; the oldest entries go first. */
  readonly maxEntries: number;
  /** Injected by tests. */
  readonly now?: () => number;
}

/** The part of the user service's client this needs (`GrpcClient<UserServiceClient>` is one). */
export interface UserNamesClient {
  batchGetUsers(
    request: { userIds: string[] },
    options?: UnaryCallOptions,
  ): Promise<{ users: ReadonlyArray<{ id: string; displayName: string }> }>;
}

interface CachedName {
  readonly name: string;
  readonly expiresAt: number;
}

/**
 * Author names are the user service's data, so they are not copied into this service's tables or
 * Redis caches. They are asked of the user service per page, and the answers are kept **in this
 * process for `ttlMs`** (default 10 s): a renamed user shows under their articles within that
 * bound, and the warm read path (article from the object cache) does not pay a second gRPC hop
 * per request. That hop was a third of the warm read's CPU in the benchmark profiles (the user
 * service's BatchGetUsers plus this side's client call; bench/README.md). A short in-process TTL
 * is the usual trade for reference data owned by another service: no invalidation traffic, a
 * staleness bound that holds per replica, and a miss costs only what every read used to cost.
 *
 * If the user service fails, pages degrade to empty names (logged) instead of failing: the
 * content is still right; failed lookups are not cached, so names come back at the next page.
 */
export class GrpcAuthorDirectory implements AuthorDirectory {
  readonly #names = new Map<string, CachedName>();
  readonly #now: () => number;

  constructor(
    private readonly users: UserNamesClient,
    private readonly logger: Logger,
    private readonly deadlineMs: number,
    private readonly cache: AuthorNameCacheOptions = { ttlMs: 0, maxEntries: 0 },
  ) {
    this.#now = cache.now ?? Date.now;
  }

  async displayNames(ids: readonly string[], signal?: AbortSignal): Promise<Map<string, string>> {
    const unique = [...new Set(ids)];
    const names = new Map<string, string>();
    const now = this.#now();
    const missing: string[] = [];
    for (const id of unique) {
      const cached = this.#names.get(id);
      if (cached !== undefined && cached.expiresAt > now) names.set(id, cached.name);
      else missing.push(id);
    }
    if (missing.length === 0) return names;
    for (const id of missing) names.set(id, '');
    try {
      const response = await this.users.batchGetUsers(
        { userIds: missing },
        { timeoutMs: this.deadlineMs, ...(signal ? { signal } : {}) },
      );
      for (const user of response.users) names.set(user.id, user.displayName);
      // Unknown ids are cached too (as ''): the answer was given, and asking again would not change it.
      this.#remember(missing, names, now);
    } catch (error) {
      this.logger.warn(
        { err: error, count: missing.length },
        'author names unavailable; serving without them',
      );
    }
    return names;
  }

  #remember(ids: readonly string[], names: ReadonlyMap<string, string>, now: number): void {
    if (this.cache.ttlMs <= 0 || this.cache.maxEntries <= 0) return;
    const expiresAt = now + this.cache.ttlMs;
    for (const id of ids) {
      // Re-inserting moves the id to the end of the Map's order: the eviction below takes the
      // least recently fetched first.
      this.#names.delete(id);
      this.#names.set(id, { name: names.get(id) ?? '', expiresAt });
    }
    for (const id of this.#names.keys()) {
      if (this.#names.size <= this.cache.maxEntries) break;
      this.#names.delete(id);
    }
  }
}
