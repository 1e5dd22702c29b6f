"""The quotas' accounting in Redis (:mod:`.quota`): Lua functions the response and conversation scripts
include, so a write and its accounting are one atomic step.

Keys, for an owner ``O`` under the key prefix ``P``::

    P quota:O          zset    what O holds (``r:ID`` a response, ``c:ID`` a conversation) -> when it
                               expires (ms, the server's clock)
    P quotasize:O      hash    the same -> its bytes, and ``=`` -> their sum
    P quota_all        zset    ``O r:ID`` / ``O c:ID`` of every owner -> when it expires
    P quotasize_all    hash    the same -> its bytes, and ``=`` -> their sum

Every write first prunes the expired entries (subtracting their bytes), so an expired response stops
counting although Redis expires its own keys without telling anyone.  Each ledger key is kept at least
as long as its longest-lived entry, so none outlives what it accounts for by more than one write.
"""

from __future__ import annotations

from typing import Any

from .errors import QuotaExceededError

__all__ = ["LEDGER", "refused"]

#: Needs ``p`` (the key prefix) defined before it.  Functions: ``used(owner)`` -> owner's bytes, total;
#: ``over(owner, needed, per_owner, total)`` -> nil or {'quota', which, usage, limit, needed};
#: ``charge(owner, member, size, ttl, keep)``; ``prolong(owner, member, ttl, keep)``;
#: ``resize(owner, member, size)``; ``held(owner, member)``; ``uncharge(owner, member)``.
LEDGER = """
if redis.replicate_commands then redis.replicate_commands() end
local all_z, all_h = p .. 'quota_all', p .. 'quotasize_all'
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function ledgers(owner, member)
  local mine = {p .. 'quota:' .. owner, p .. 'quotasize:' .. owner, member}
  return {mine, {all_z, all_h, owner .. ' ' .. member}}
end
local function keep_for(key, keep)
  if redis.call('PTTL', key) < keep then redis.call('PEXPIRE', key, keep) end
end
-- an empty ledger leaves no keys
local function tidy(zset, sizes)
  if redis.call('ZCARD', zset) == 0 then redis.call('DEL', sizes) end
end
local function prune(zset, sizes, now)
  local gone = redis.call('ZRANGEBYSCORE', zset, '-inf', now)
  if #gone == 0 then return end
  local freed = 0
  for _, m in ipairs(gone) do
    freed = freed + tonumber(redis.call('HGET', sizes, m) or '0')
    redis.call('HDEL', sizes, m)
  end
  redis.call('ZREMRANGEBYSCORE', zset, '-inf', now)
  redis.call('HINCRBY', sizes, '=', -freed)
  tidy(zset, sizes)
end
local function used(owner)
  local now, l = now_ms(), ledgers(owner, '')
  prune(l[1][1], l[1][2], now)
  prune(all_z, all_h, now)
  return tonumber(redis.call('HGET', l[1][2], '=') or '0'), tonumber(redis.call('HGET', all_h, '=') or '0')
end
local function over(owner, needed, per_owner, total)
  if needed <= 0 then return nil end
  local mine, all = used(owner)
  if mine + needed > tonumber(per_owner) then return {'quota', 'per_owner', mine, per_owner, needed} end
  if all + needed > tonumber(total) then return {'quota', 'total', all, total, needed} end
  return nil
end
local function held(owner, member)
  return tonumber(redis.call('HGET', p .. 'quotasize:' .. owner, member) or '0')
end
local function charge(owner, member, size, ttl, keep)
  local expires = now_ms() + ttl
  for _, l in ipairs(ledgers(owner, member)) do
    local old = tonumber(redis.call('HGET', l[2], l[3]) or '0')
    redis.call('HSET', l[2], l[3], size)
    redis.call('HINCRBY', l[2], '=', size - old)
    redis.call('ZADD', l[1], expires, l[3])
    keep_for(l[1], keep)
    keep_for(l[2], keep)
  end
end
local function prolong(owner, member, ttl, keep)
  local expires = now_ms() + ttl
  for _, l in ipairs(ledgers(owner, member)) do
    redis.call('ZADD', l[1], 'XX', expires, l[3])
    keep_for(l[1], keep)
    keep_for(l[2], keep)
  end
end
local function resize(owner, member, size)
  for _, l in ipairs(ledgers(owner, member)) do
    local old = redis.call('HGET', l[2], l[3])
    if old then
      redis.call('HSET', l[2], l[3], size)
      redis.call('HINCRBY', l[2], '=', size - tonumber(old))
    end
  end
end
local function uncharge(owner, member)
  for _, l in ipairs(ledgers(owner, member)) do
    local old = redis.call('HGET', l[2], l[3])
    if old then
      redis.call('HDEL', l[2], l[3])
      redis.call('HINCRBY', l[2], '=', -tonumber(old))
      redis.call('ZREM', l[1], l[3])
      tidy(l[1], l[2])
    end
  end
end
"""


def refused(outcome: Any) -> None:
    """Raise the :class:`~.errors.QuotaExceededError` a script's answer stands for when it is ``over``'s
    refusal (``{'quota', which, usage, limit, needed}``)."""
    if isinstance(outcome, list) and outcome and outcome[0] == b"quota":
        _, which, usage, limit, needed = outcome
        raise QuotaExceededError(which.decode(), int(usage), int(needed), int(limit))
