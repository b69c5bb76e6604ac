-- Admit one request, atomically: the first candidate whose circuit breaker allows a call and whose
-- estimate fits every budget scope (spent + held + estimate <= limit) gets a hold with a lease.
--
-- The daily window is chosen here, by Redis TIME, not by the caller's clock: the caller passes the
-- counters of the two windows around the nearest boundary and the boundary instant, so a worker
-- whose clock runs fast cannot charge tomorrow's counter before midnight.
--
-- KEYS: holds (zset id -> lease expiry ms), hold (hash id -> json), expired (zset id -> ms),
--       then per scope: spent and held before the boundary, spent and held after it;
--       then per candidate: breaker hash; last: the epoch marker.
-- ARGV: now_ms (0: use Redis TIME), id, lease_ms, n_scopes, n_candidates, window_ttl_s,
--       boundary_ms (0: no boundary, use the first window), window_before, window_after,
--       then per scope: limit (-1: none), floor (0: none); then per candidate: estimate, per_request (-1: none),
--       has_breaker (0/1), recovery_ms, probe_lease_ms; last: attempt (this call's id: the same call
--       re-sent by the driver gets its first result back), deadline_ms (0: none; past it the caller
--       has given up, so nothing is held), charge_lost (1: a hold whose lease expires unsettled is
--       charged at its estimate; 0: released).
-- Returns {result, {now_ms, lost id, amount, charged, ...}} (the holds this call expired), result:
--       {'ok', candidate, probe, window} | {'budget', candidate, scope, limit, spent, held, asked}
--       | {'per_request', candidate, limit, asked} | {'open', retry_after_ms} | {'duplicate'}
--       | {'late'} | {'reset'} (no epoch marker: a new or emptied Redis; restore, then admit again)
local now = tonumber(ARGV[1])
if now <= 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local id, lease = ARGV[2], tonumber(ARGV[3])
local n_scopes, n_cands, ttl = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local holds, hold, expired = KEYS[1], KEYS[2], KEYS[3]
local attempt, deadline, charge_lost = ARGV[#ARGV - 2], tonumber(ARGV[#ARGV - 1]), tonumber(ARGV[#ARGV])
local lost = {now}
if deadline > 0 and now > deadline then
  return {{'late'}, lost}  -- the caller timed out already: a hold now would block budget for nothing
end
if n_scopes > 0 and redis.call('EXISTS', KEYS[#KEYS]) == 0 then
  return {{'reset'}, lost}
end
local boundary = tonumber(ARGV[7])
local after = boundary > 0 and now >= boundary
local window = after and ARGV[9] or ARGV[8]
local shift = after and 2 or 0
local function spent_key(i) return KEYS[3 + 4 * (i - 1) + 1 + shift] end
local function held_key(i) return KEYS[3 + 4 * (i - 1) + 2 + shift] end

-- Expire holds whose lease ran out (a worker died between reserve and settle, or its settle was
-- lost): their amount stops being held and, unless the hold asked to be released, is charged at its
-- estimate, so a crash can over-count but never under-count. The record stays a day so a late
-- settle still charges the actual cost (correcting the estimate). Each one is reported to the caller.
local due = redis.call('ZRANGEBYSCORE', holds, '-inf', now, 'LIMIT', 0, 100)
for _, hid in ipairs(due) do
  local raw = redis.call('HGET', hold, hid)
  if raw then
    local d = cjson.decode(raw)
    local charge = d.l ~= 0
    for i = 2, #d.k, 2 do redis.call('DECRBY', d.k[i], d.a) end
    if charge then
      for i = 1, #d.k, 2 do
        redis.call('INCRBY', d.k[i], d.a)
        redis.call('EXPIRE', d.k[i], ttl)
      end
      d.c = d.a
    end
    d.e = 1
    redis.call('HSET', hold, hid, cjson.encode(d))
    redis.call('ZADD', expired, now, hid)
    lost[#lost + 1] = hid
    lost[#lost + 1] = d.a
    lost[#lost + 1] = charge and 1 or 0
  end
  redis.call('ZREM', holds, hid)
end
local stale = redis.call('ZRANGEBYSCORE', expired, '-inf', now - 86400000, 'LIMIT', 0, 100)
for _, hid in ipairs(stale) do
  redis.call('HDEL', hold, hid)
  redis.call('ZREM', expired, hid)
end

if n_scopes > 0 then
  local mine = redis.call('HGET', hold, id)
  if mine then
    local d = cjson.decode(mine)
    if d.t == attempt then  -- this very call, re-sent after its reply was lost: the same answer
      return {{'ok', d.j, d.p, d.w}, lost}
    end
    return {{'duplicate'}, lost}
  end
end

local spent, held, limits = {}, {}, {}
for i = 1, n_scopes do
  spent[i] = tonumber(redis.call('GET', spent_key(i)) or '0')
  held[i] = tonumber(redis.call('GET', held_key(i)) or '0')
  limits[i] = tonumber(ARGV[8 + 2 * i])
  -- A floor is spend recorded elsewhere (LiteLLM's own `spend` of a budget). It lags, and it also
  -- holds calls this counter charged already, so the counter becomes the larger of the two (max, not
  -- sum): an old floor changes nothing, and two admits carrying the same floor raise it once.
  local floor = tonumber(ARGV[9 + 2 * i])
  if floor > spent[i] then
    local sk = spent_key(i)
    redis.call('INCRBY', sk, floor - spent[i])  -- keeps the TTL a settle gave the counter
    -- A counter that is only a floor may expire early: the next admit carries the floor again.
    if redis.call('TTL', sk) < 0 then redis.call('EXPIRE', sk, ttl) end
    spent[i] = floor
  end
end

local refusal = nil
local retry_after = -1
local base_k, base_a = 3 + 4 * n_scopes, 9 + 2 * n_scopes
for j = 1, n_cands do
  local a = base_a + 5 * (j - 1)
  local est, per_request = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local has_breaker, recovery, probe_lease = ARGV[a + 3] == '1', tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])
  local bkey = KEYS[base_k + j]
  local allowed, probe = true, false
  if has_breaker then
    local b = redis.call('HMGET', bkey, 'state', 'opened_at', 'probe_until', 'probe_id')
    local state = b[1] or 'closed'
    if state == 'open' then
      local reopen_at = tonumber(b[2]) + recovery
      if now >= reopen_at then
        local probe_until = tonumber(b[3] or '0')
        if probe_until > now and b[4] ~= id then
          allowed = false  -- one probe is already in flight, from some worker
          if retry_after < 0 or probe_until - now < retry_after then retry_after = probe_until - now end
        else
          probe = true
        end
      else
        allowed = false
        if retry_after < 0 or reopen_at - now < retry_after then retry_after = reopen_at - now end
      end
    end
  end
  if allowed then
    if per_request >= 0 and est > per_request then
      refusal = refusal or {'per_request', j - 1, per_request, est}
    else
      local fits = true
      for i = 1, n_scopes do
        if limits[i] >= 0 and spent[i] + held[i] + est > limits[i] then
          refusal = refusal or {'budget', j - 1, i - 1, limits[i], spent[i], held[i], est}
          fits = false
          break
        end
      end
      if fits then
        if n_scopes > 0 then
          local ks = {}
          for i = 1, n_scopes do
            local hk = held_key(i)
            redis.call('INCRBY', hk, est)
            redis.call('EXPIRE', hk, ttl)
            ks[#ks + 1] = spent_key(i)
            ks[#ks + 1] = hk
          end
          redis.call('ZADD', holds, now + lease, id)
          -- the settle charges the window chosen here, whenever it comes
          redis.call('HSET', hold, id, cjson.encode(
            {a = est, k = ks, e = 0, w = window, t = attempt, j = j - 1, p = probe and 1 or 0, l = charge_lost}))
        end
        if probe then
          redis.call('HSET', bkey, 'probe_until', now + probe_lease, 'probe_id', id)
        end
        return {{'ok', j - 1, probe and 1 or 0, window}, lost}
      end
    end
  end
end
if refusal then return {refusal, lost} end
return {{'open', retry_after}, lost}
