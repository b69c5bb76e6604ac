-- Add ledger rows that landed after a rebuild (settled before the store lost its data, written by a
-- worker whose queue was still in backoff) to the live counters: each counter's ledger part ("base")
-- is raised to the ledger's total of rows charged in earlier epochs, and the difference is added to
-- spent. A total not above the base changes nothing, so a stale or repeated reconcile is harmless.
--
-- KEYS: epoch marker, provisional flag, then per counter: spent, base
-- ARGV: the epoch the totals were read under, ttl_s, then one total (micro-USD) per counter
-- Returns the micro-USD added, or -1 when the marker is not that epoch any more (nothing changed)
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
local ttl = tonumber(ARGV[2])
local added = 0
for i = 3, #KEYS, 2 do
  local total = tonumber(ARGV[(i - 3) / 2 + 3])
  local base = tonumber(redis.call('GET', KEYS[i + 1]) or '0')
  if total > base then
    redis.call('INCRBY', KEYS[i], total - base)
    redis.call('EXPIRE', KEYS[i], ttl)
    redis.call('SET', KEYS[i + 1], total, 'EX', ttl)
    added = added + total - base
  end
end
redis.call('DEL', KEYS[2])
return added
