"""Conversations in Redis (``--store redis://...``), shared by every instance on the same prefix; see
:mod:`.conversations`.

Keys, for a conversation ``C`` under the key prefix ``P``::

    P conv:C      hash    owner, body (created_at, metadata), next (the next sequence number)
    P convseq:C   zset    item id -> sequence number (the order)
    P convitem:C  hash    item id -> the item, one JSON document
    P citem:O:I   string  owner O's conversation holding item I (``item_reference``; one pointer per owner:
                          owners choose item ids, and may choose the same)

Every write is one Lua script (atomic on the server) that extends all of the conversation's keys, its
item pointers included, to ``ttl``, and keeps its entry ``c:C`` in the quotas' ledger
(:mod:`.redis_ledger`: its items' bytes); reads are one script or pipeline each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, cast

import redis.asyncio as aioredis

from .conversations import ConversationStore, Meta
from .quota import Quotas
from .redis_ledger import LEDGER, refused

__all__ = ["RedisConversationStore"]

_PRELUDE = (
    """
local p, c = ARGV[1], ARGV[2]
"""
    + LEDGER
    + """
local meta, seq, items = p .. 'conv:' .. c, p .. 'convseq:' .. c, p .. 'convitem:' .. c
local owner = redis.call('HGET', meta, 'owner')
local function pointer_of(item_id) return p .. 'citem:' .. owner .. ':' .. item_id end
-- extend every key to ttl, and the ledger's entry, its bytes changed by delta
local function touch(ttl, delta)
  for _, key in ipairs({meta, seq, items}) do redis.call('PEXPIRE', key, ttl) end
  for _, item_id in ipairs(redis.call('HKEYS', items)) do
    local pointer = pointer_of(item_id)
    if redis.call('GET', pointer) == c then redis.call('PEXPIRE', pointer, ttl) end
  end
  charge(owner, 'c:' .. c, held(owner, 'c:' .. c) + delta, ttl, ttl)
end
-- the bytes of n items from ARGV[from]
local function bytes(from, n)
  local size = 0
  for j = 0, n - 1 do size = size + #ARGV[from + j] end
  return size
end
local function add(first, n, from, ttl)
  for j = 0, n - 1 do
    local item_id = ARGV[from + n + j]
    redis.call('ZADD', seq, first + j, item_id)
    redis.call('HSET', items, item_id, ARGV[from + j])
    redis.call('SET', pointer_of(item_id), c, 'PX', ttl)
  end
end
"""
)

# ARGV: prefix, id, owner, body, ttl ms, n, items..., ids..., quota per owner, quota total.  Returns 1, or
# the ledger's refusal (nothing written).
_PUT = (
    _PRELUDE
    + """
local n, ttl = tonumber(ARGV[6]), tonumber(ARGV[5])
owner = ARGV[3]
local size = bytes(7, n)
local refused = over(owner, size, ARGV[#ARGV - 1], ARGV[#ARGV])
if refused then return refused end
redis.call('HSET', meta, 'owner', owner, 'body', ARGV[4], 'next', n)
add(0, n, 7, ttl)
touch(ttl, size)
return 1
"""
)

# ARGV: prefix, id, ttl ms, n, items..., ids..., quota per owner, quota total.  Returns 1, 0 (gone), or
# the ledger's refusal (nothing written).
_APPEND = (
    _PRELUDE
    + """
if redis.call('EXISTS', meta) == 0 then return 0 end
local n, ttl = tonumber(ARGV[4]), tonumber(ARGV[3])
local size = bytes(5, n)
local refused = over(owner, size, ARGV[#ARGV - 1], ARGV[#ARGV])
if refused then return refused end
local first = redis.call('HINCRBY', meta, 'next', n) - n
add(first, n, 5, ttl)
touch(ttl, size)
return 1
"""
)

# ARGV: prefix, id, ttl ms, body ('' keeps it)
_TOUCH = (
    _PRELUDE
    + """
if redis.call('EXISTS', meta) == 0 then return 0 end
if ARGV[4] ~= '' then redis.call('HSET', meta, 'body', ARGV[4]) end
touch(tonumber(ARGV[3]), 0)
return 1
"""
)

# ARGV: prefix, id, item id, ttl ms
_REMOVE = (
    _PRELUDE
    + """
if redis.call('ZREM', seq, ARGV[3]) == 0 then return 0 end
local item = redis.call('HGET', items, ARGV[3]) or ''
redis.call('HDEL', items, ARGV[3])
local pointer = pointer_of(ARGV[3])
if redis.call('GET', pointer) == c then redis.call('DEL', pointer) end
touch(tonumber(ARGV[4]), -#item)
return 1
"""
)

# ARGV: prefix, id
_DROP = (
    _PRELUDE
    + """
if redis.call('EXISTS', meta) == 0 then return 0 end
for _, item_id in ipairs(redis.call('HKEYS', items)) do
  local pointer = pointer_of(item_id)
  if redis.call('GET', pointer) == c then redis.call('DEL', pointer) end
end
redis.call('DEL', meta, seq, items)
uncharge(owner, 'c:' .. c)
return 1
"""
)

# ARGV: prefix, id, min, max, limit, desc (1/0).  Returns seq, item, seq, item...
_PAGE = (
    _PRELUDE
    + """
local ids
if ARGV[6] == '1' then
  ids = redis.call('ZREVRANGEBYSCORE', seq, ARGV[4], ARGV[3], 'WITHSCORES', 'LIMIT', 0, ARGV[5])
else
  ids = redis.call('ZRANGEBYSCORE', seq, ARGV[3], ARGV[4], 'WITHSCORES', 'LIMIT', 0, ARGV[5])
end
local out = {}
for i = 1, #ids, 2 do
  out[#out + 1] = ids[i + 1]
  out[#out + 1] = redis.call('HGET', items, ids[i])
end
return out
"""
)

# ARGV: prefix, owner, item ids.  Returns id, item, id, item... for items of owner's live conversations.
_FIND = """
local p, owner, out = ARGV[1], ARGV[2], {}
for i = 3, #ARGV do
  local c = redis.call('GET', p .. 'citem:' .. owner .. ':' .. ARGV[i])
  if c then
    local holder = redis.call('HGET', p .. 'conv:' .. c, 'owner')
    local item = redis.call('HGET', p .. 'convitem:' .. c, ARGV[i])
    if holder == owner and item then
      out[#out + 1] = ARGV[i]
      out[#out + 1] = item
    end
  end
end
return out
"""


class RedisConversationStore(ConversationStore):
    def __init__(
        self,
        redis: aioredis.Redis,
        key_prefix: str,
        errors: Callable[[], AbstractAsyncContextManager[None]],
        *,
        ttl: float,
        max_bytes: int,
        quotas: Quotas,
    ) -> None:
        """``redis``, ``key_prefix`` and ``errors`` (what turns Redis errors into store errors) are the
        response store's."""
        super().__init__(ttl=ttl, max_bytes=max_bytes, quotas=quotas)
        self._errors = errors
        self._prefix = key_prefix
        self._redis = redis
        self._put_script = redis.register_script(_PUT)
        self._append_script = redis.register_script(_APPEND)
        self._touch_script = redis.register_script(_TOUCH)
        self._remove_script = redis.register_script(_REMOVE)
        self._drop_script = redis.register_script(_DROP)
        self._page_script = redis.register_script(_PAGE)
        self._find_script = redis.register_script(_FIND)

    @property
    def _ttl_ms(self) -> int:
        return max(1, round(self.ttl * 1000))

    def _key(self, kind: str, conversation_id: str) -> str:
        return f"{self._prefix}{kind}{conversation_id}"

    async def _call(self, script: Any, *args: Any) -> Any:
        async with self._errors():
            return await script(keys=[], args=[self._prefix, *args])

    async def _put(
        self, conversation_id: str, owner: str, body: bytes, blobs: list[bytes], ids: list[str]
    ) -> None:
        refused(
            await self._call(
                self._put_script,
                conversation_id,
                owner,
                body,
                self._ttl_ms,
                len(blobs),
                *blobs,
                *ids,
                *self.quotas,
            )
        )

    async def _meta(self, conversation_id: str) -> Meta | None:
        async with self._errors():
            fields = await self._redis.hmget(self._key("conv:", conversation_id), "owner", "body")
        owner, body = cast("list[bytes | None]", fields)
        return None if owner is None or body is None else Meta(owner.decode(), body)

    async def _set_meta(self, conversation_id: str, body: bytes) -> bool:
        return bool(await self._call(self._touch_script, conversation_id, self._ttl_ms, body))

    async def _drop(self, conversation_id: str) -> bool:
        return bool(await self._call(self._drop_script, conversation_id))

    async def _taken(self, conversation_id: str, item_ids: Sequence[Any]) -> set[str]:
        wanted = [i for i in item_ids if isinstance(i, str)]
        if not wanted:
            return set()
        async with self._errors():
            scores = await self._redis.zmscore(self._key("convseq:", conversation_id), wanted)
        return {item_id for item_id, score in zip(wanted, scores, strict=True) if score is not None}

    async def _append(self, conversation_id: str, blobs: list[bytes], ids: list[str]) -> bool:
        found = await self._call(
            self._append_script, conversation_id, self._ttl_ms, len(blobs), *blobs, *ids, *self.quotas
        )
        refused(found)
        return bool(found)

    async def _seq_of(self, conversation_id: str, item_id: str) -> int | None:
        async with self._errors():
            score = await self._redis.zscore(self._key("convseq:", conversation_id), item_id)
        return None if score is None else int(score)

    async def _scores(
        self, conversation_id: str, low: str, high: str, limit: int, descending: bool
    ) -> list[tuple[int, bytes]]:
        flat = await self._call(self._page_script, conversation_id, low, high, limit, int(descending))
        return [(int(float(flat[n])), flat[n + 1]) for n in range(0, len(flat), 2)]

    async def _page_with_seq(
        self, conversation_id: str, after: int | None, limit: int
    ) -> list[tuple[int, bytes]]:
        return await self._scores(
            conversation_id, "-inf" if after is None else f"({after}", "+inf", limit, False
        )

    async def _page(
        self, conversation_id: str, cursor: int | None, limit: int, descending: bool
    ) -> list[bytes]:
        if not descending:
            return [blob for _, blob in await self._page_with_seq(conversation_id, cursor, limit)]
        high = "+inf" if cursor is None else f"({cursor}"
        return [blob for _, blob in await self._scores(conversation_id, "-inf", high, limit, True)]

    async def _item(self, conversation_id: str, item_id: str) -> bytes | None:
        async with self._errors():
            blob = await self._redis.hget(self._key("convitem:", conversation_id), item_id)
        return cast("bytes | None", blob)

    async def _remove(self, conversation_id: str, item_id: str) -> bool:
        return bool(await self._call(self._remove_script, conversation_id, item_id, self._ttl_ms))

    async def _find(self, owner: str, item_ids: Sequence[str]) -> dict[str, bytes]:
        if not item_ids:
            return {}
        flat = await self._call(self._find_script, owner, *item_ids)
        return {flat[n].decode(): flat[n + 1] for n in range(0, len(flat), 2)}
