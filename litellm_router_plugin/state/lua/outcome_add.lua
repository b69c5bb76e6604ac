-- Append one outcome (newest first), keep the newest ARGV[2], count every outcome ever added.
-- KEYS: outcomes list, outcomes counter. ARGV: record (JSON), how many to keep.
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
return redis.call('INCR', KEYS[2])
