-- Settle one request exactly once: release its hold, charge the actual cost to every scope it held
-- against, append the ledger line, and feed the outcome to the deployment's circuit breaker.
--
-- KEYS: holds, hold, expired, settled (hash id -> charged), settled_at (zset id -> ms), ledger (list),
--       breaker hash, breaker failures (zset), epoch marker
-- ARGV: now_ms (0: Redis TIME), id, actual, ledger_json ('' for none), ledger_max, keep_settled_ms,
--       outcome ('success' | 'failure' | 'neutral' | ''), failure_threshold, window_ms, probe (0/1),
--       spent_ttl_s
-- Returns {'settled', charged, held, lease_expired, window, epoch, spent keys...} | {'already', charged}
--       | {'unknown'}
local now = tonumber(ARGV[1])
if now <= 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local id, actual = ARGV[2], tonumber(ARGV[3])
local holds, hold, expired, settled, settled_at, ledger = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local bkey, fkey = KEYS[7], KEYS[8]

local previous = redis.call('HGET', settled, id)
if previous then return {'already', tonumber(previous)} end

local result
local raw = redis.call('HGET', hold, id)
if raw then
  local d = cjson.decode(raw)
  local lease_until = tonumber(redis.call('ZSCORE', holds, id) or '0')
  local lease_expired = d.e == 1 or lease_until <= now
  if d.e == 1 then
    redis.call('ZREM', expired, id)
  else
    for i = 2, #d.k, 2 do redis.call('DECRBY', d.k[i], d.a) end
    redis.call('ZREM', holds, id)
  end
  -- a hold charged at its estimate when its lease expired (d.c) is corrected to the actual cost
  local delta = actual - (d.c or 0)
  for i = 1, #d.k, 2 do
    redis.call('INCRBY', d.k[i], delta)
    redis.call('EXPIRE', d.k[i], tonumber(ARGV[11]))
  end
  redis.call('HDEL', hold, id)
  if ARGV[4] ~= '' then  -- only a charged call enters the ledger, so counters and ledger agree
    redis.call('LPUSH', ledger, ARGV[4])
    redis.call('LTRIM', ledger, 0, tonumber(ARGV[5]) - 1)
  end
  -- the epoch charged: a ledger row of an earlier epoch than the marker's is not in the counters
  result = {'settled', actual, d.a, lease_expired and 1 or 0, d.w or '', redis.call('GET', KEYS[9]) or ''}
  for i = 1, #d.k, 2 do result[#result + 1] = d.k[i] end
else
  result = {'unknown'}
end

redis.call('HSET', settled, id, actual)
redis.call('ZADD', settled_at, now, id)
local old = redis.call('ZRANGEBYSCORE', settled_at, '-inf', now - tonumber(ARGV[6]), 'LIMIT', 0, 100)
for _, sid in ipairs(old) do
  redis.call('HDEL', settled, sid)
  redis.call('ZREM', settled_at, sid)
end

local outcome, probe = ARGV[7], ARGV[10] == '1'
if outcome ~= '' then
  local is_probe = probe and redis.call('HGET', bkey, 'probe_id') == id
  if outcome == 'failure' then
    local window = tonumber(ARGV[9])
    redis.call('ZADD', fkey, now, id)
    redis.call('ZREMRANGEBYSCORE', fkey, '-inf', now - window)
    redis.call('PEXPIRE', fkey, window)
    local state = redis.call('HGET', bkey, 'state') or 'closed'
    if is_probe then
      redis.call('HSET', bkey, 'state', 'open', 'opened_at', now)
      redis.call('HDEL', bkey, 'probe_until', 'probe_id')
    elseif state == 'closed' and redis.call('ZCARD', fkey) >= tonumber(ARGV[8]) then
      redis.call('HSET', bkey, 'state', 'open', 'opened_at', now)
    end
  elseif is_probe then
    if outcome == 'success' then
      redis.call('DEL', bkey, fkey)
    else
      redis.call('HDEL', bkey, 'probe_until', 'probe_id')  -- not the deployment's fault: let another probe
    end
  end
end
return result
