-- Claim the next retraining when ARGV[1] outcomes arrived since the last one, for one worker at a time.
-- KEYS: outcomes counter, mark (counter at the last claim), lock. ARGV: every, lock lease (ms), owner.
-- Returns the counter when claimed, else 0.
local total = tonumber(redis.call('GET', KEYS[1]) or '0')
local mark = tonumber(redis.call('GET', KEYS[2]) or '0')
if total - mark < tonumber(ARGV[1]) then
  return 0
end
if not redis.call('SET', KEYS[3], ARGV[3], 'NX', 'PX', tonumber(ARGV[2])) then
  return 0
end
redis.call('SET', KEYS[2], total)
return total
