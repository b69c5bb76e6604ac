-- Drop the current model version: the one promoted before it becomes current again ('' = none).
-- KEYS: history list. Returns {dropped, now current}; dropped '' when there was nothing to roll back.
local dropped = redis.call('LPOP', KEYS[1])
if not dropped then
  return {'', ''}
end
return {dropped, redis.call('LINDEX', KEYS[1], 0) or ''}
