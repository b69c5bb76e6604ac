-- Make a stored model version current: push it on the history (head = current), keep ARGV[2] entries.
-- KEYS: models hash, history list. ARGV: version, history kept.
-- Returns {status, previous}: status 'ok', 'unknown' (no such version) or 'current' (already current).
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return {'unknown', ''}
end
local previous = redis.call('LINDEX', KEYS[2], 0) or ''
if previous == ARGV[1] then
  return {'current', previous}
end
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[2]) - 1)
return {'ok', previous}
