import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Logger } from '@strata/logger';
import { type Redis } from 'ioredis';
import {
  type CacheCodec,
  type Envelope,
  decodeEnvelope,
  encodeEnvelope,
  jsonCodec,
} from './cache-codec';
import {
  type EntryKeys,
  type KeyLayout,
  entryKeys,
  generationKey,
  validateKey,
  validateLayout,
  versionedEntryPrefixes,
} from './cache-keys';
import {
  BUMP_GENERATION_SCRIPT,
  READ_GENERATION_SCRIPT,
  READ_OR_LEASE_SCRIPT,
  READ_VERSIONED_OR_LEASE_SCRIPT,
  WRITE_WITH_LEASE_SCRIPT,
} from './cache-scripts';
import { LogThrottle } from './log-throttle';
import { RedisGuard, RedisUnavailableError } from './redis-guard';
import { DEFAULT_COMMAND_TIMEOUT_MS } from './redis-client';
import { jitteredTtlMs } from './ttl-jitter';

export const DEFAULT_JITTER_RATIO = 0.1;
export const DEFAULT_LEASE_TTL_MS = 2_000;
export const DEFAULT_LEASE_WAIT_MS = 250;
export const DEFAULT_LEASE_POLL_INTERVAL_MS = 20;
export const DEFAULT_FAILURE_THRESHOLD = 3;
export const DEFAULT_COOLDOWN_MS = 1_000;
export const DEFAULT_WARN_INTERVAL_MS = 10_000;
/** Invalidations remembered while Redis is unreachable, replayed when it is back. */
export const MAX_PENDING_INVALIDATIONS = 10_000;

/** What happened to a read, reported per key through {@link CacheOptions.onMetric}. */
export type CacheMetricEvent = 'hit' | 'miss' | 'bypass';

export interface CacheMetric {
  readonly namespace: string;
  /** `hit`: served from Redis; `miss`: loaded (Redis answered); `bypass`: loaded because Redis did not. */
  readonly event: CacheMetricEvent;
  readonly count: number;
}

/**
 * Cross-process single-flight. On a miss, a loader first takes a short lease in Redis
 * (`SET lease NX PX`); others poll for the value instead of hitting the database too.
 */
export interface CacheLeaseOptions {
  /** How long a lease lives: longer than a normal load, short enough that a crashed holder does not block fills for long. Default 2000. */
  readonly ttlMs?: number;
  /** How long other callers poll for the holder's value before loading themselves (without filling). Default 250. */
  readonly waitMs?: number;
  /** Default 20. */
  readonly pollIntervalMs?: number;
}

export interface CacheOptions<Value> {
  /** Usually from {@link createRedisClient}. The cache never closes it. */
  readonly redis: Redis;
  readonly logger: Logger;
  /** Owner of the keys, e.g. `strata:user`. */
  readonly prefix: string;
  /** Kind of entry, e.g. `profile`, `article`, `article-list` (letters, digits, `.`, `_`, `-`). */
  readonly namespace: string;
  /** Change it in code when the cached shape changes: old entries become unreachable. */
  readonly schemaVersion: number;
  /** Default time to live, jittered by ±`jitterRatio`. */
  readonly ttlSeconds: number;
  /** Cache "not found" (`null`) for this long; 0 (default) does not cache it. */
  readonly negativeTtlSeconds?: number;
  /** Default 0.1 (±10 %). */
  readonly jitterRatio?: number;
  /** Default {@link jsonCodec}. */
  readonly codec?: CacheCodec<Value>;
  /**
   * Put every key under a generation that {@link Cache.bumpNamespace} increments, so one write
   * invalidates all entries (e.g. every page of a list) without scanning. Costs one extra round
   * trip per operation (reading the generation).
   */
  readonly namespaceVersioning?: boolean;
  /** Upper bound of each Redis call made by this cache. Default 50 ms. */
  readonly timeoutMs?: number;
  readonly lease?: CacheLeaseOptions;
  /** Skip Redis for `cooldownMs` after `failureThreshold` consecutive failures. Defaults 3 / 1000 ms. */
  readonly circuitBreaker?: { readonly failureThreshold?: number; readonly cooldownMs?: number };
  /** At most one "Redis unavailable" warning per interval and kind (read/fill, invalidation). Default 10 s. */
  readonly warnIntervalMs?: number;
  /** Hit/miss/bypass counters; must not throw (errors are ignored). */
  readonly onMetric?: (metric: CacheMetric) => void;
}

export interface CacheWriteOptions {
  /** Overrides {@link CacheOptions.ttlSeconds} for the values written by this call. */
  readonly ttlSeconds?: number;
}

type ReadOutcome =
  | { readonly kind: 'hit'; readonly raw: string }
  | { readonly kind: 'leased' }
  | { readonly kind: 'busy' };

// A lease token only has to be unique (it names the holder of a lease). randomUUID draws from
// Node's cached entropy pool: ~0.2 µs a call here, against ~3.4 µs for randomBytes(12), which
// asks the CSPRNG on every call; this runs on every read that goes to Redis.
function newToken(): string {
  return randomUUID();
}

function parseReadReply(reply: unknown, expected: number): ReadOutcome[] {
  if (!Array.isArray(reply) || reply.length !== expected) {
    throw new Error('unexpected reply from the cache read script');
  }
  return reply.map((item: unknown): ReadOutcome => {
    if (typeof item === 'string') return { kind: 'hit', raw: item };
    if (Buffer.isBuffer(item)) return { kind: 'hit', raw: item.toString('utf8') };
    if (item === 1) return { kind: 'leased' };
    if (item === 0) return { kind: 'busy' };
    throw new Error('unexpected item in the cache read script reply');
  });
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new RangeError(`${name} must be a positive number, got ${value}`);
  return value;
}

/**
 * Cache-aside over Redis for one kind of entry, built to fail open.
 *
 * Guarantees:
 * - {@link getOrLoad}: one loader per key per process (concurrent callers share the promise) and,
 *   while Redis answers, at most one loader across processes for a key (lease + bounded polling).
 * - Fills are conditional on the lease taken before loading, and invalidations delete the lease,
 *   so a load that started before a write never writes its stale result after the invalidation.
 * - Redis down, slow or erroring: reads call the loader, writes are skipped, nothing throws
 *   (only a loader's own error is passed on); warnings are rate-limited. Failed invalidations are
 *   remembered and replayed before this cache's next use and when the client reconnects; until
 *   then other processes may read the old entry for at most its TTL (keep TTLs short).
 */
export class Cache<Value> {
  readonly namespace: string;

  private readonly layout: KeyLayout;
  private readonly guard: RedisGuard;
  private readonly log: Logger;
  private readonly codec: CacheCodec<Value>;
  private readonly ttlSeconds: number;
  private readonly negativeTtlSeconds: number;
  private readonly jitterRatio: number;
  private readonly namespaceVersioning: boolean;
  private readonly leaseTtlMs: number;
  private readonly leaseWaitMs: number;
  private readonly leasePollIntervalMs: number;
  private readonly onMetric: ((metric: CacheMetric) => void) | undefined;
  private readonly readWarnings: LogThrottle;
  private readonly invalidationWarnings: LogThrottle;

  private readonly inflight = new Map<string, Promise<Value | null>>();
  private readonly background = new Set<Promise<void>>();
  private readonly pendingInvalidations = new Set<string>();
  private pendingBump = false;
  private replaying: Promise<void> | undefined;
  private replayOnReconnect = false;

  constructor(options: CacheOptions<Value>) {
    this.layout = {
      prefix: options.prefix,
      namespace: options.namespace,
      schemaVersion: options.schemaVersion,
    };
    validateLayout(this.layout);
    this.namespace = options.namespace;
    this.ttlSeconds = positive(options.ttlSeconds, 'ttlSeconds');
    this.negativeTtlSeconds = options.negativeTtlSeconds ?? 0;
    if (this.negativeTtlSeconds < 0)
      throw new RangeError('negativeTtlSeconds must not be negative');
    this.jitterRatio = options.jitterRatio ?? DEFAULT_JITTER_RATIO;
    jitteredTtlMs(this.ttlSeconds, this.jitterRatio); // validates the ratio now rather than on first write
    this.codec = options.codec ?? jsonCodec<Value>();
    this.namespaceVersioning = options.namespaceVersioning ?? false;
    this.leaseTtlMs = positive(options.lease?.ttlMs ?? DEFAULT_LEASE_TTL_MS, 'lease.ttlMs');
    this.leaseWaitMs = options.lease?.waitMs ?? DEFAULT_LEASE_WAIT_MS;
    this.leasePollIntervalMs = positive(
      options.lease?.pollIntervalMs ?? DEFAULT_LEASE_POLL_INTERVAL_MS,
      'lease.pollIntervalMs',
    );
    this.onMetric = options.onMetric;
    this.guard = new RedisGuard(options.redis, {
      timeoutMs: positive(options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS, 'timeoutMs'),
      failureThreshold: options.circuitBreaker?.failureThreshold ?? DEFAULT_FAILURE_THRESHOLD,
      cooldownMs: options.circuitBreaker?.cooldownMs ?? DEFAULT_COOLDOWN_MS,
    });
    this.log = options.logger.child({ component: 'cache', cacheNamespace: options.namespace });
    const warnIntervalMs = options.warnIntervalMs ?? DEFAULT_WARN_INTERVAL_MS;
    this.readWarnings = new LogThrottle(warnIntervalMs);
    this.invalidationWarnings = new LogThrottle(warnIntervalMs);
  }

  /**
   * Cache-aside read: the cached value, or `loader()`'s result (then cached). `null` means "not
   * found" and is cached only when `negativeTtlSeconds` > 0. Rejects only with the loader's error.
   */
  async getOrLoad<Loaded extends Value | null>(
    key: string,
    loader: () => Promise<Loaded>,
    options: CacheWriteOptions = {},
  ): Promise<Loaded> {
    validateKey(key);
    const shared = this.inflight.get(key);
    // Callers of one key share one loader; the first caller's loader stands for all of them.
    if (shared) return shared as Promise<Loaded>;
    const flight = this.readThrough(key, loader, options);
    this.inflight.set(key, flight);
    const forget = (): void => {
      // An invalidation may have detached this flight and a newer one may own the slot.
      if (this.inflight.get(key) === flight) this.inflight.delete(key);
    };
    void flight.then(forget, forget);
    return flight as Promise<Loaded>;
  }

  /**
   * Batch cache-aside: one Redis round trip for all cached keys (one EVAL doing GET — and taking
   * leases for the misses — per key), then one `loadMissing` call with only the keys not served
   * from Redis, then one background round trip filling the leased ones. Keys the loader does not
   * return (or returns as `null`) are absent from the result. Rejects only with the loader's error.
   */
  async getMany(
    keys: readonly string[],
    loadMissing: (missingKeys: string[]) => Promise<ReadonlyMap<string, Value | null>>,
    options: CacheWriteOptions = {},
  ): Promise<Map<string, Value>> {
    const unique = [...new Set(keys)];
    unique.forEach(validateKey);
    if (unique.length === 0) return new Map();

    const found = new Map<string, Value | null>();
    const missing: string[] = [];
    const leased: EntryKeys[] = [];
    const token = newToken();
    try {
      const unavailable = this.knownUnavailable();
      if (unavailable !== undefined) throw new RedisUnavailableError(unavailable);
      const { entries, outcomes } = await this.readEntries(unique, token);
      outcomes.forEach((outcome, index) => {
        const entry = entries[index];
        if (outcome.kind === 'hit') {
          const envelope = this.decode(entry, outcome.raw);
          if (envelope) {
            found.set(entry.key, envelope.found ? envelope.value : null);
            return;
          }
        }
        missing.push(entry.key);
        // Keys whose lease another process holds are loaded here too but not filled: a batch
        // read never waits on someone else.
        if (outcome.kind === 'leased') leased.push(entry);
      });
      this.count('hit', found.size);
      this.count('miss', missing.length);
    } catch (error) {
      this.warnUnavailable('getMany', error);
      this.count('bypass', unique.length);
      found.clear();
      missing.splice(0, missing.length, ...unique);
      leased.length = 0;
    }

    if (missing.length > 0) {
      let loaded: ReadonlyMap<string, Value | null>;
      try {
        loaded = await loadMissing(missing);
      } catch (error) {
        this.releaseLeases(leased, token);
        throw error;
      }
      for (const key of missing) found.set(key, loaded.get(key) ?? null);
      if (leased.length > 0) {
        this.fill(
          leased,
          token,
          leased.map((entry) => found.get(entry.key) ?? null),
          options.ttlSeconds,
        );
      }
    }

    const result = new Map<string, Value>();
    for (const key of unique) {
      const value = found.get(key);
      if (value !== undefined && value !== null) result.set(key, value);
    }
    return result;
  }

  /**
   * The cached value; `null` for a cached "not found"; `undefined` for a miss, a corrupt entry or
   * an unavailable Redis.
   */
  async get(key: string): Promise<Value | null | undefined> {
    validateKey(key);
    try {
      const [entry] = await this.resolveEntries([key]);
      const raw = await this.guard.run((client) => client.get(entry.valueKey));
      if (raw === null) {
        this.count('miss', 1);
        return undefined;
      }
      const envelope = this.decode(entry, raw);
      if (!envelope) return undefined;
      this.count('hit', 1);
      return envelope.found ? envelope.value : null;
    } catch (error) {
      this.warnUnavailable('get', error);
      this.count('bypass', 1);
      return undefined;
    }
  }

  /**
   * Writes a value (write-through). Also deletes the key's lease, so a load already in flight
   * cannot overwrite this value with an older one. `null` with negative caching off deletes the
   * entry. Resolves `false` when Redis was not reached; the key is then invalidated as soon as
   * it is (see {@link invalidate}).
   */
  async set(key: string, value: Value | null, options: CacheWriteOptions = {}): Promise<boolean> {
    validateKey(key);
    const ttlMs = this.ttlMsFor(value, options.ttlSeconds);
    if (ttlMs === 0) return this.invalidate(key);
    this.inflight.delete(key);
    let encoded: string;
    try {
      encoded = encodeEnvelope(this.codec, value);
    } catch (error) {
      this.log.error({ err: error }, 'cache value could not be encoded; entry invalidated instead');
      return this.invalidate(key);
    }
    try {
      const [entry] = await this.resolveEntries([key]);
      const results = await this.guard.run((client) =>
        client.pipeline().del(entry.leaseKey).set(entry.valueKey, encoded, 'PX', ttlMs).exec(),
      );
      const failure = results?.find(([error]) => error !== null)?.[0];
      if (failure) throw failure;
      return true;
    } catch (error) {
      this.rememberInvalidations([key], error, 'set');
      return false;
    }
  }

  /**
   * Deletes entries (call it after the database write commits). Loads of these keys already in
   * flight in this process are detached (later callers load afresh) and cannot fill the cache.
   *
   * Resolves `false` when Redis was not reached. The keys are then remembered (up to
   * {@link MAX_PENDING_INVALIDATIONS}) and deleted before this cache's next operation and when the
   * client reconnects; meanwhile other processes may still read the old entries, for at most
   * their TTL if this process dies first. That window is the price of failing open.
   */
  async invalidate(keys: string | readonly string[]): Promise<boolean> {
    const list = typeof keys === 'string' ? [keys] : [...new Set(keys)];
    list.forEach(validateKey);
    for (const key of list) this.inflight.delete(key);
    if (list.length === 0) return true;
    try {
      const entries = await this.resolveEntries(list);
      const redisKeys = entries.flatMap((entry) => [entry.valueKey, entry.leaseKey]);
      // Invalidations skip the circuit breaker: they matter more than reads, and a Redis that
      // has recovered should get them at once.
      await this.guard.run((client) => client.del(...redisKeys), { ignoreCircuit: true });
      return true;
    } catch (error) {
      this.rememberInvalidations(list, error, 'invalidate');
      return false;
    }
  }

  /** Same as {@link invalidate}. */
  delete(keys: string | readonly string[]): Promise<boolean> {
    return this.invalidate(keys);
  }

  /**
   * Moves the namespace to a new generation (`INCR`), making every existing entry unreachable at
   * once; they expire by TTL. Only for caches built with `namespaceVersioning: true`. Resolves
   * `false` when Redis was not reached (then replayed like {@link invalidate}).
   */
  async bumpNamespace(): Promise<boolean> {
    if (!this.namespaceVersioning) {
      throw new TypeError(
        `cache namespace ${this.namespace} was not created with namespaceVersioning`,
      );
    }
    this.inflight.clear();
    try {
      await this.guard.run((client) => this.bumpGeneration(client), { ignoreCircuit: true });
      return true;
    } catch (error) {
      this.pendingBump = true;
      this.pendingInvalidations.clear(); // the bump covers them
      this.warnInvalidation('bumpNamespace', error);
      this.scheduleReplayOnReconnect();
      return false;
    }
  }

  /** Waits for background fills and replays (for graceful shutdown before closing the client, and tests). */
  async drain(): Promise<void> {
    while (this.background.size > 0) {
      await Promise.all([...this.background]);
    }
  }

  /** Invalidations and bumps not yet delivered to Redis. */
  pendingInvalidationCount(): number {
    return this.pendingInvalidations.size + (this.pendingBump ? 1 : 0);
  }

  private async readThrough(
    key: string,
    loader: () => Promise<Value | null>,
    options: CacheWriteOptions,
  ): Promise<Value | null> {
    const unavailable = this.knownUnavailable();
    if (unavailable !== undefined) return this.bypass('getOrLoad', unavailable, loader);
    const token = newToken();
    let entry: EntryKeys;
    let outcome: ReadOutcome;
    try {
      const read = await this.readEntries([key], token);
      [entry] = read.entries as [EntryKeys];
      [outcome] = read.outcomes as [ReadOutcome];
    } catch (error) {
      return this.bypass('getOrLoad', error, loader);
    }

    const giveUpAt = Date.now() + this.leaseWaitMs;
    for (;;) {
      if (outcome.kind === 'hit') {
        const envelope = this.decode(entry, outcome.raw);
        if (envelope) {
          this.count('hit', 1);
          return envelope.found ? envelope.value : null;
        }
        this.count('miss', 1);
        return loader();
      }

      if (outcome.kind === 'leased') {
        this.count('miss', 1);
        let value: Value | null;
        try {
          value = await loader();
        } catch (error) {
          this.releaseLeases([entry], token);
          throw error;
        }
        this.fill([entry], token, [value], options.ttlSeconds);
        return value;
      }

      // Another process holds the lease: poll for its value, but only briefly. A slow or crashed
      // holder must not make this request slow; loading ourselves (without filling) is the
      // bounded fallback. A poll may also take over a lease that expired.
      if (Date.now() >= giveUpAt) {
        this.log.debug({ key }, 'lease holder is slow; loading without filling');
        this.count('miss', 1);
        return loader();
      }
      await sleep(this.leasePollIntervalMs);
      // Polls stay in the generation of the first read: a bump meanwhile makes this load stale
      // anyway, and the fill is conditional on the lease of that generation.
      try {
        [outcome] = (await this.readOrLease([entry], token)) as [ReadOutcome];
      } catch (error) {
        return this.bypass('getOrLoad', error, loader);
      }
    }
  }

  private async bypass(
    operation: string,
    cause: unknown,
    loader: () => Promise<Value | null>,
  ): Promise<Value | null> {
    this.warnUnavailable(operation, cause);
    this.count('bypass', 1);
    return loader();
  }

  /** Delivers remembered invalidations first, then maps keys to their names in the current generation. */
  private async resolveEntries(keys: readonly string[]): Promise<EntryKeys[]> {
    await this.replayPending();
    const generation = this.namespaceVersioning ? await this.readGeneration() : undefined;
    return keys.map((key) => entryKeys(this.layout, key, generation));
  }

  /**
   * The entries of `keys` in the current generation and, per entry, its value or whether this
   * reader took the lease: one Redis round trip, also for namespace-versioned caches (whose
   * generation is read by the same script).
   */
  private async readEntries(
    keys: readonly string[],
    token: string,
  ): Promise<{ entries: EntryKeys[]; outcomes: ReadOutcome[] }> {
    await this.replayPending();
    if (!this.namespaceVersioning) {
      const entries = keys.map((key) => entryKeys(this.layout, key));
      return { entries, outcomes: await this.readOrLease(entries, token) };
    }
    const prefixes = versionedEntryPrefixes(this.layout);
    const reply = await this.guard.run((client) =>
      client.eval(
        READ_VERSIONED_OR_LEASE_SCRIPT,
        1,
        generationKey(this.layout),
        Date.now(),
        token,
        this.leaseTtlMs,
        prefixes.value,
        prefixes.lease,
        ...keys,
      ),
    );
    if (!Array.isArray(reply) || reply.length !== keys.length + 1) {
      throw new Error('unexpected reply from the cache read script');
    }
    const [generation, ...items] = reply as unknown[];
    if (typeof generation !== 'string' && typeof generation !== 'number') {
      throw new Error('unexpected generation in the cache read script reply');
    }
    return {
      entries: keys.map((key) => entryKeys(this.layout, key, String(generation))),
      outcomes: parseReadReply(items, keys.length),
    };
  }

  private async readGeneration(): Promise<string> {
    const reply = await this.guard.run((client) =>
      client.eval(READ_GENERATION_SCRIPT, 1, generationKey(this.layout), Date.now()),
    );
    if (typeof reply !== 'string' && typeof reply !== 'number') {
      throw new Error('unexpected reply from the cache generation script');
    }
    return String(reply);
  }

  private bumpGeneration(client: Redis): Promise<unknown> {
    return client.eval(BUMP_GENERATION_SCRIPT, 1, generationKey(this.layout), Date.now());
  }

  private async readOrLease(entries: readonly EntryKeys[], token: string): Promise<ReadOutcome[]> {
    const redisKeys = entries.flatMap((entry) => [entry.valueKey, entry.leaseKey]);
    const reply = await this.guard.run((client) =>
      client.eval(READ_OR_LEASE_SCRIPT, redisKeys.length, ...redisKeys, token, this.leaseTtlMs),
    );
    return parseReadReply(reply, entries.length);
  }

  /** Background, lease-conditional write of loaded values (the caller already has its answer). */
  private fill(
    entries: readonly EntryKeys[],
    token: string,
    values: ReadonlyArray<Value | null>,
    ttlSeconds: number | undefined,
  ): void {
    const redisKeys: string[] = [];
    const args: Array<string | number> = [token];
    entries.forEach((entry, index) => {
      const value = values[index] ?? null;
      let ttlMs = this.ttlMsFor(value, ttlSeconds);
      let encoded = '';
      if (ttlMs > 0) {
        try {
          encoded = encodeEnvelope(this.codec, value);
        } catch (error) {
          this.log.error(
            { err: error, key: entry.key },
            'cache value could not be encoded; not cached',
          );
          ttlMs = 0; // only releases the lease
        }
      }
      redisKeys.push(entry.valueKey, entry.leaseKey);
      args.push(ttlMs, encoded);
    });
    this.runInBackground(
      'fill',
      this.guard.run((client) =>
        client.eval(WRITE_WITH_LEASE_SCRIPT, redisKeys.length, ...redisKeys, ...args),
      ),
    );
  }

  private releaseLeases(entries: readonly EntryKeys[], token: string): void {
    if (entries.length === 0) return;
    this.fill(
      entries,
      token,
      entries.map(() => null),
      undefined,
    );
  }

  private decode(entry: EntryKeys, raw: string): Envelope<Value> | undefined {
    try {
      return decodeEnvelope(this.codec, raw);
    } catch (error) {
      this.log.warn({ err: error, key: entry.key }, 'corrupt cache entry dropped');
      this.runInBackground(
        'drop-corrupt',
        this.guard.run((client) => client.del(entry.valueKey)),
      );
      return undefined;
    }
  }

  private ttlMsFor(value: Value | null, ttlSeconds: number | undefined): number {
    if (value === null) {
      return this.negativeTtlSeconds > 0
        ? jitteredTtlMs(this.negativeTtlSeconds, this.jitterRatio)
        : 0;
    }
    return jitteredTtlMs(ttlSeconds ?? this.ttlSeconds, this.jitterRatio);
  }

  private rememberInvalidations(keys: readonly string[], error: unknown, operation: string): void {
    if (this.pendingBump && this.namespaceVersioning) {
      // A pending bump already makes every key of this namespace unreachable.
    } else if (this.pendingInvalidations.size + keys.length > MAX_PENDING_INVALIDATIONS) {
      if (this.namespaceVersioning) {
        this.pendingBump = true;
        this.pendingInvalidations.clear();
      } else {
        this.log.error(
          { operation, dropped: keys.length },
          'too many pending cache invalidations; entries may stay stale until their TTL',
        );
      }
    } else {
      for (const key of keys) this.pendingInvalidations.add(key);
    }
    this.warnInvalidation(operation, error);
    this.scheduleReplayOnReconnect();
  }

  private scheduleReplayOnReconnect(): void {
    if (this.replayOnReconnect) return;
    this.replayOnReconnect = true;
    this.guard.client.once('ready', () => {
      this.replayOnReconnect = false;
      this.runInBackground('replay', this.replayPending());
    });
  }

  private replayPending(): Promise<void> {
    if (!this.pendingBump && this.pendingInvalidations.size === 0) return Promise.resolve();
    this.replaying ??= this.replayOnce().finally(() => {
      this.replaying = undefined;
    });
    return this.replaying;
  }

  private async replayOnce(): Promise<void> {
    const replayedBump = this.pendingBump;
    if (this.pendingBump) {
      await this.guard.run((client) => this.bumpGeneration(client), { ignoreCircuit: true });
      this.pendingBump = false;
    }
    const keys = [...this.pendingInvalidations];
    if (keys.length > 0) {
      const generation = this.namespaceVersioning ? await this.readGeneration() : undefined;
      const redisKeys = keys.flatMap((key) => {
        const entry = entryKeys(this.layout, key, generation);
        return [entry.valueKey, entry.leaseKey];
      });
      await this.guard.run((client) => client.del(...redisKeys), { ignoreCircuit: true });
      for (const key of keys) this.pendingInvalidations.delete(key);
    }
    this.log.info(
      { invalidations: keys.length, namespaceBump: replayedBump },
      'delivered cache invalidations that failed while redis was unavailable',
    );
  }

  private runInBackground(operation: string, work: Promise<unknown>): void {
    const tracked = work.then(
      () => undefined,
      (error: unknown) => this.warnUnavailable(operation, error),
    );
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }

  /**
   * Why Redis will not be asked now (not ready, or the circuit is open), or undefined. Read paths
   * check it first: during an outage a read then goes straight to its loader, without a lease
   * token, a script call that would only throw, or the error to catch (bench/FINDINGS.md: a
   * bypassed read was ~5 % of the content service's CPU with its cache Redis down).
   */
  private knownUnavailable(): string | undefined {
    const availability = this.guard.availability();
    return availability.available ? undefined : availability.reason;
  }

  /** `cause`: the error of a failed call, or the reason a call was not tried. */
  private warnUnavailable(operation: string, cause: unknown): void {
    const suppressed = this.readWarnings.take();
    if (suppressed === undefined) return;
    const detail = typeof cause === 'string' ? { reason: cause } : { err: cause };
    this.log.warn({ operation, ...detail, suppressed }, 'cache unavailable: serving without it');
  }

  private warnInvalidation(operation: string, error: unknown): void {
    const suppressed = this.invalidationWarnings.take();
    if (suppressed === undefined) return;
    this.log.warn(
      { operation, err: error, suppressed, pending: this.pendingInvalidationCount() },
      'cache invalidation not delivered: will retry when redis is back; other processes may read stale entries until then or until TTL',
    );
  }

  private count(event: CacheMetricEvent, count: number): void {
    if (!this.onMetric || count === 0) return;
    try {
      this.onMetric({ namespace: this.namespace, event, count });
    } catch {
      // Metrics must never break a read.
    }
  }
}
