/**
 * Lua run with EVAL (not EVALSHA): each script is a few hundred bytes, Redis caches the compiled
 * body itself, and EVAL never needs the NOSCRIPT → EVAL second round trip after a Redis restart,
 * which keeps "one round trip per read" true on a cold server too.
 *
 * Keys are passed as KEYS in (value, lease) pairs. This targets a single Redis (or one primary);
 * on Redis Cluster the pairs of a batch would have to share a hash slot.
 */

// Lua shared by the read scripts (script-local functions: Redis forbids global ones).

// One (value, lease) pair: the value when present; otherwise try to take the lease
// (`SET lease token NX PX ttl`) and answer 1 when taken, 0 when another loader holds it.
const READ_OR_LEASE_LUA = `
local function read_or_lease(value_key, lease_key, token, lease_ttl_ms)
  local value = redis.call('GET', value_key)
  if value then
    return value
  end
  if redis.call('SET', lease_key, token, 'NX', 'PX', lease_ttl_ms) then
    return 1
  end
  return 0
end
`;

// The generation of a namespace, created from the caller's clock (ms) when missing (see
// READ_GENERATION_SCRIPT for why a timestamp).
const CURRENT_GENERATION_LUA = `
local function current_generation(generation_key, now_ms)
  local generation = redis.call('GET', generation_key)
  if not generation then
    redis.call('SET', generation_key, now_ms)
    generation = now_ms
  end
  return generation
end
`;

/**
 * For each (value, lease) pair: the value when present; otherwise try to take the lease
 * (`SET lease token NX PX ttl`) and answer 1 when taken, 0 when another loader holds it.
 * ARGV: token, lease TTL in ms.
 */
export const READ_OR_LEASE_SCRIPT = `${READ_OR_LEASE_LUA}
local result = {}
for i = 1, #KEYS, 2 do
  result[#result + 1] = read_or_lease(KEYS[i], KEYS[i + 1], ARGV[1], ARGV[2])
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
export const READ_VERSIONED_OR_LEASE_SCRIPT = `${CURRENT_GENERATION_LUA}${READ_OR_LEASE_LUA}
local generation = current_generation(KEYS[1], ARGV[1])
local result = { generation }
for i = 6, #ARGV do
  local suffix = generation .. ':' .. ARGV[i]
  result[#result + 1] = read_or_lease(ARGV[4] .. suffix, ARGV[5] .. suffix, ARGV[2], ARGV[3])
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
export const READ_GENERATION_SCRIPT = `${CURRENT_GENERATION_LUA}
return current_generation(KEYS[1], ARGV[1])
`;

/** INCR of the generation, initialised like READ_GENERATION_SCRIPT when missing. ARGV: now in ms. */
export const BUMP_GENERATION_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SET', KEYS[1], ARGV[1])
end
return redis.call('INCR', KEYS[1])
`;
