-- A breaker as stored, read at one instant of one clock (Redis TIME unless the caller injects one).
--
-- KEYS: breaker hash, breaker failures (zset id -> ms)
-- ARGV: now_ms (0: Redis TIME), window_ms
-- Returns {now_ms, state, opened_at, probe_until, recent_failures} ('' for a missing field)
local now = tonumber(ARGV[1])
if now <= 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local b = redis.call('HMGET', KEYS[1], 'state', 'opened_at', 'probe_until')
local recent = redis.call('ZCOUNT', KEYS[2], '(' .. (now - tonumber(ARGV[2])), '+inf')
return {now, b[1] or '', b[2] or '', b[3] or '', recent}
