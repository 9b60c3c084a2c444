/**
 * Lua run with EVAL (not EVALSHA): each script is a few hundred bytes, Redis caches the compiled
 * body itself, and EVAL never needs the NOSCRIPT → EVAL second round trip after a Redis restart,
 * which keeps "one round trip per read" true on a cold server too.
 *
 * Keys are passed as KEYS in (value, lease) pairs. This targets a single Redis (or one primary);
 * on Redis Cluster the pairs of a batch would have to share a hash slot.
 */

/**
 * For each (value, lease) pair: the value when present; otherwise try to take the lease
 * (`SET lease token NX PX ttl`) and answer 1 when taken, 0 when another loader holds it.
 * ARGV: token, lease TTL in ms.
 */
export const READ_OR_LEASE_SCRIPT = `
local result = {}
for i = 1, #KEYS, 2 do
  local value = redis.call('GET', KEYS[i])
  if value then
    result[#result + 1] = value
  elseif redis.call('SET', KEYS[i + 1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    result[#result + 1] = 1
  else
    result[#result + 1] = 0
  end
end
return result
`;

/**
 * READ_GENERATION_SCRIPT and READ_OR_LEASE_SCRIPT in one round trip, for namespace-versioned
 * caches: the generation (created like READ_GENERATION_SCRIPT when missing), then one item per key
 * as READ_OR_LEASE_SCRIPT answers. The entry names depend on the generation, so they are built
 * here from their prefixes (see `versionedEntryPrefixes`) rather than passed as KEYS: fine on one
 * Redis, not on Redis Cluster (like the pairs above, which would need one hash slot there too).
 * KEYS: the generation key. ARGV: now in ms, token, lease TTL in ms, value prefix, lease prefix,
 * then the keys.
 */
export const READ_VERSIONED_OR_LEASE_SCRIPT = `
local generation = redis.call('GET', KEYS[1])
if not generation then
  redis.call('SET', KEYS[1], ARGV[1])
  generation = ARGV[1]
end
local result = { generation }
for i = 6, #ARGV do
  local suffix = generation .. ':' .. ARGV[i]
  local value = redis.call('GET', ARGV[4] .. suffix)
  if value then
    result[#result + 1] = value
  elseif redis.call('SET', ARGV[5] .. suffix, ARGV[2], 'NX', 'PX', ARGV[3]) then
    result[#result + 1] = 1
  else
    result[#result + 1] = 0
  end
end
return result
`;

/**
 * Fills entries only where the caller still holds the lease it took before loading. An
 * invalidation deletes the lease, so a load that read the database before a write can never put
 * its (now stale) result back after the write's invalidation. A TTL of 0 only releases the lease.
 * ARGV: token, then (ttl ms, value) per pair. Returns how many values were written.
 */
export const WRITE_WITH_LEASE_SCRIPT = `
local written = 0
for i = 1, #KEYS, 2 do
  if redis.call('GET', KEYS[i + 1]) == ARGV[1] then
    redis.call('DEL', KEYS[i + 1])
    local ttl = tonumber(ARGV[i + 1])
    if ttl > 0 then
      redis.call('SET', KEYS[i], ARGV[i + 2], 'PX', ttl)
      written = written + 1
    end
  end
end
return written
`;

/**
 * Current generation of a namespace, created on first use from the caller's clock (ms). Starting
 * from a timestamp rather than 0 means that if the generation key is ever lost (eviction, FLUSHDB of
 * part of the data), it restarts above every generation used before, so entries of old generations
 * can never become reachable again. ARGV: now in ms.
 */
export const READ_GENERATION_SCRIPT = `
local generation = redis.call('GET', KEYS[1])
if not generation then
  redis.call('SET', KEYS[1], ARGV[1])
  generation = ARGV[1]
end
return generation
`;

/** INCR of the generation, initialised like READ_GENERATION_SCRIPT when missing. ARGV: now in ms. */
export const BUMP_GENERATION_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SET', KEYS[1], ARGV[1])
end
return redis.call('INCR', KEYS[1])
`;
