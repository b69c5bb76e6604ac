-- Rebuild the spent counters of a Redis that lost its data, once: the first worker to get here sets
-- them (from the durable ledger) together with the epoch marker; any later caller finds the marker
-- and changes nothing, so concurrent workers never restore twice.
--
-- KEYS: epoch marker, then spent counters
-- ARGV: epoch value, ttl_s, then one amount (micro-USD) per counter
-- Returns 1 when restored here, 0 when the marker was already there
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local ttl = tonumber(ARGV[2])
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 1], 'EX', ttl)
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
