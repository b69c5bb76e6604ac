-- Rebuild the spent counters of a Redis that lost its data, once: the first worker to get here sets
-- them (from the durable ledger) together with the epoch marker; any later caller finds the marker
-- and changes nothing, so concurrent workers never restore twice. Each counter's ledger part
-- ("base") is kept beside it, so rows that land in the ledger later can be added (reconcile.lua).
--
-- KEYS: epoch marker, provisional flag, then per counter: spent, base
-- ARGV: epoch value, ttl_s, provisional (0/1: the ledger could not be read), then one amount
--       (micro-USD) per counter
-- Returns 1 when restored here, 0 when the marker was already there
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local ttl = tonumber(ARGV[2])
for i = 3, #KEYS, 2 do
  local amount = ARGV[(i - 3) / 2 + 4]
  redis.call('SET', KEYS[i], amount, 'EX', ttl)
  redis.call('SET', KEYS[i + 1], amount, 'EX', ttl)
end
if ARGV[3] == '1' then
  redis.call('SET', KEYS[2], ARGV[1], 'EX', ttl)
else
  redis.call('DEL', KEYS[2])
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
