-- Rebuild the spent counters of a Redis that lost its data, once: the first worker to get here sets
-- them (from the durable ledger) together with the epoch marker; any later caller finds the marker
-- and changes nothing, so concurrent workers never restore twice. Each counter's ledger part
-- ("base") is kept beside it, so rows that land in the ledger later can be added (reconcile.lua).
-- The restoring worker's holds in flight are re-created in the same step (as admit.lua records a
-- hold), so no admit sees the restored counters without them.
--
-- KEYS: epoch marker, provisional flag, holds (zset), hold (hash), then per counter: spent, base;
--       then per hold and scope: spent, held
-- ARGV: epoch value, ttl_s, provisional (0/1: the ledger could not be read), n_counters, then one
--       amount (micro-USD) per counter; then per hold: id, amount, lease_ms, window, n_scopes
-- Returns 1 when restored here, 0 when the marker was already there
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local ttl, n_counters = tonumber(ARGV[2]), tonumber(ARGV[4])
for c = 1, n_counters do
  local amount = ARGV[4 + c]
  redis.call('SET', KEYS[3 + 2 * c], amount, 'EX', ttl)
  redis.call('SET', KEYS[4 + 2 * c], amount, 'EX', ttl)
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local k, a = 5 + 2 * n_counters, 5 + n_counters
while a <= #ARGV do
  local id, amount, lease, window, n = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), ARGV[a + 3], tonumber(ARGV[a + 4])
  local ks = {}
  for i = 0, n - 1 do
    redis.call('INCRBY', KEYS[k + 2 * i + 1], amount)
    redis.call('EXPIRE', KEYS[k + 2 * i + 1], ttl)
    ks[#ks + 1] = KEYS[k + 2 * i]
    ks[#ks + 1] = KEYS[k + 2 * i + 1]
  end
  redis.call('ZADD', KEYS[3], now + lease, id)
  redis.call('HSET', KEYS[4], id, cjson.encode({a = amount, k = ks, e = 0, w = window}))
  k, a = k + 2 * n, a + 5
end
if ARGV[3] == '1' then
  redis.call('SET', KEYS[2], ARGV[1], 'EX', ttl)
else
  redis.call('DEL', KEYS[2])
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
