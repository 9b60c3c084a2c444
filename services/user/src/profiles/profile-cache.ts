import { Cache, type CacheCodec } from '@strata/cache';
import { type Logger } from '@strata/logger';
import { type Redis } from 'ioredis';
import { ROLES, type UserProfile } from '../users/user';
import { type ProfileCache } from './profiles.repository';

/** Profiles change rarely and every write invalidates, so the TTL only bounds a missed invalidation. */
export const PROFILE_CACHE_TTL_SECONDS = 300;

interface CachedProfile {
  id: string;
  displayName: string;
  bio: string;
  role: string;
  createdAt: string;
  updatedAt: string;
}

function isCachedProfile(value: unknown): value is CachedProfile {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  return (
    ['id', 'displayName', 'bio', 'role', 'createdAt', 'updatedAt'].every(
      (key) => typeof entry[key] === 'string',
    ) && (ROLES as readonly unknown[]).includes(entry['role'])
  );
}

/** JSON with the dates revived; anything unexpected throws, which the cache treats as a corrupt entry. */
export const profileCodec: CacheCodec<UserProfile> = {
  encode: (profile) =>
    JSON.stringify({
      ...profile,
      createdAt: profile.createdAt.toISOString(),
      updatedAt: profile.updatedAt.toISOString(),
    }),
  decode: (raw) => {
    const parsed: unknown = JSON.parse(raw);
    if (!isCachedProfile(parsed)) throw new Error('cached profile has an unexpected shape');
    return {
      id: parsed.id,
      displayName: parsed.displayName,
      bio: parsed.bio,
      role: parsed.role as UserProfile['role'],
      createdAt: new Date(parsed.createdAt),
      updatedAt: new Date(parsed.updatedAt),
    };
  },
};

export interface ProfileCacheOptions {
  readonly redis: Redis;
  readonly logger: Logger;
  /** Owner prefix of the keys: `strata:user` in production, a unique one per test suite. */
  readonly keyPrefix: string;
  /** Per-command bound before a read falls through to PostgreSQL (the kit's 50 ms by default). */
  readonly timeoutMs?: number;
}

/** Public profiles, cache-aside over @strata/cache (fail-open, single-flight, lease-guarded fills). */
export class RedisProfileCache implements ProfileCache {
  readonly cache: Cache<UserProfile>;

  constructor(options: ProfileCacheOptions) {
    this.cache = new Cache<UserProfile>({
      redis: options.redis,
      logger: options.logger,
      prefix: options.keyPrefix,
      namespace: 'profile',
      schemaVersion: 1,
      ttlSeconds: PROFILE_CACHE_TTL_SECONDS,
      codec: profileCodec,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  }

  async get(
    userId: string,
    load: () => Promise<UserProfile | undefined>,
  ): Promise<UserProfile | undefined> {
    return (await this.cache.getOrLoad(userId, async () => (await load()) ?? null)) ?? undefined;
  }

  getMany(
    userIds: readonly string[],
    load: (missing: readonly string[]) => Promise<UserProfile[]>,
  ): Promise<Map<string, UserProfile>> {
    return this.cache.getMany(userIds, async (missing) => {
      const loaded = await load(missing);
      return new Map(loaded.map((profile) => [profile.id, profile]));
    });
  }

  async invalidate(userId: string): Promise<void> {
    // A failed delete is remembered and replayed by the cache; the write itself has succeeded.
    await this.cache.invalidate(userId);
  }

  /** Lets background fills finish, before the Redis client is closed. */
  drain(): Promise<void> {
    return this.cache.drain();
  }
}
