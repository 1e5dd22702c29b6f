"""``--store redis://host:port/db``: state shared by every gateway instance using the same Redis and prefix.

Keys, for a response ``R`` under the key prefix ``P`` (default ``translator:``)::

    P resp:R   hash   body (the Response without output), status, owner, parent, nin, nout, insize,
                      size, created, deleted (0/1), children, leased (``1`` while it has a run's lease)
    P lease:R  string the run's lease, expiring (``PX``) when it lapses unless renewed
    P in:R     list   input items, one JSON document each
    P out:R    list   output items
    P inx:R    hash   input item id -> index (first occurrence), for the ``after`` cursor
    P outx:R   hash   output item id -> index
    P item:O:I string the response of owner O that stored item I last (``item_reference``), expiring
                      with it (one pointer per owner: owners choose item ids, and may choose the same)
    P ev:R     list   background response R's streaming events, one JSON document each (index =
                      sequence number), kept ``ttl`` after the last append, deleted with R
    P evlog:R  hash   the log's owner, and closed: ``0`` open, ``1`` once the last event is in
    P owner_secret  string  the store's own secret (:meth:`~.base.ResponseStore.owner_secret`), kept at
                      least as long as the longest-lived response
    P quota...      the quotas' ledger (:mod:`.redis_ledger`): a response is charged as ``r:R``

Every write is one Lua script (atomic on the server): a create checks the id and the parent, writes
all keys, bumps the parent's child count and extends the ancestors' expiry in one step, so several
instances can continue the same response at once.  Expiry is Redis's own (``PEXPIRE``), relative, so
instances' clocks do not matter.  Reads of one response use ``MULTI``; a conversation is read in
pages with ``LRANGE``.

The scripts touch keys they compute from the prefix, so this backend needs one Redis server (or a
primary and its replicas), not Redis Cluster.  Several deployments can share a server with different
prefixes (``redis://host:6379/0?key_prefix=team-a:``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from .base import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TTL,
    EXPIRY_SLACK,
    UNFINISHED,
    Lapsed,
    Link,
    NewResponse,
    Part,
    Replaced,
    ResponseStore,
    Run,
)
from .conversations import ConversationStore
from .errors import (
    DuplicateResponseError,
    InvalidStoreSpecError,
    ResponseInProgressError,
    ResponseNotFoundError,
    StoreError,
    StoreUnavailableError,
)
from .quota import DEFAULT_QUOTAS, Quotas, Usage
from .redis_ledger import LEDGER, refused

__all__ = ["DEFAULT_KEY_PREFIX", "RedisResponseStore"]

#: The key prefix used unless the URL's ``key_prefix`` query parameter or ``key_prefix=`` says otherwise.
DEFAULT_KEY_PREFIX = "translator:"
#: Seconds to wait for a connection and for each command.
TIMEOUT = 10.0

_UNFINISHED = ",".join(UNFINISHED)
_PART_KEYS = {Part.INPUT: ("in:", "inx:"), Part.OUTPUT: ("out:", "outx:")}

_PRELUDE = (
    """
local p = ARGV[1]
local function push(key, from, count)
  local i = from
  while i < from + count do
    local last = math.min(i + 999, from + count - 1)
    redis.call('RPUSH', key, unpack(ARGV, i, last))
    i = last + 1
  end
end
local function index(key, from, count)
  for j = 0, count - 1 do
    local item_id = ARGV[from + j]
    if item_id ~= '' then redis.call('HSETNX', key, item_id, j) end
  end
end
-- whether status s is one of the comma-separated statuses in csv
local function one_of(csv, s)
  return s ~= false and string.find(',' .. csv .. ',', ',' .. s .. ',', 1, true) ~= nil
end
local function each_key(rid, fn)
  for _, kind in ipairs({'resp:', 'in:', 'out:', 'inx:', 'outx:'}) do fn(p .. kind .. rid) end
end
-- owner's item id -> the response holding it (item_reference), expiring with that response
local function refer(rid, owner, from, count, ttl)
  for j = 0, count - 1 do
    local item_id = ARGV[from + j]
    if item_id ~= '' then redis.call('SET', p .. 'item:' .. owner .. ':' .. item_id, rid, 'PX', ttl) end
  end
end
-- fn(key) for every item pointer of owner that still names rid
local function each_ref(rid, owner, fn)
  for _, kind in ipairs({'inx:', 'outx:'}) do
    for _, item_id in ipairs(redis.call('HKEYS', p .. kind .. rid)) do
      local key = p .. 'item:' .. owner .. ':' .. item_id
      if redis.call('GET', key) == rid then fn(key) end
    end
  end
end
"""
    + LEDGER
)

# ARGV: prefix, id, parent ('' for none), ttl ms, body, status, input size, size, n in, n out, created,
#       unfinished statuses (comma-separated), ancestors' ttl ms, owner, quota per owner, quota total,
#       lease ms (0: none), input items, output items, input ids, output ids.  Returns a status, or
#       {'quota', which, usage, limit} (nothing written).
_CREATE = (
    _PRELUDE
    + """
local id, parent, ttl = ARGV[2], ARGV[3], tonumber(ARGV[4])
local nin, nout = tonumber(ARGV[9]), tonumber(ARGV[10])
local meta = p .. 'resp:' .. id
if redis.call('EXISTS', meta) == 1 then return 'duplicate' end
local owner = ARGV[14]
if parent ~= '' then
  local f = redis.call('HMGET', p .. 'resp:' .. parent, 'deleted', 'status', 'owner')
  if f[1] ~= '0' or f[3] ~= owner then return 'parent' end
  if one_of(ARGV[12], f[2]) then return 'unfinished' end
end
local refused = over(owner, tonumber(ARGV[8]), ARGV[15], ARGV[16])
if refused then return refused end
charge(owner, 'r:' .. id, tonumber(ARGV[8]), ttl, tonumber(ARGV[13]))
redis.call('HSET', meta, 'body', ARGV[5], 'status', ARGV[6], 'owner', owner, 'parent', parent, 'nin', nin,
  'nout', nout, 'insize', ARGV[7], 'size', ARGV[8], 'created', ARGV[11], 'deleted', '0', 'children', '0')
-- the owner secret outlives every response made with it
local secret = p .. 'owner_secret'
if redis.call('PTTL', secret) < ttl then redis.call('PEXPIRE', secret, ARGV[13]) end
if tonumber(ARGV[17]) > 0 then
  redis.call('HSET', meta, 'leased', '1')
  redis.call('SET', p .. 'lease:' .. id, '1', 'PX', ARGV[17])
end
local first = 18
push(p .. 'in:' .. id, first, nin)
push(p .. 'out:' .. id, first + nin, nout)
index(p .. 'inx:' .. id, first + nin + nout, nin)
index(p .. 'outx:' .. id, first + 2 * nin + nout, nout)
refer(id, owner, first + nin + nout, nin, ttl)
refer(id, owner, first + 2 * nin + nout, nout, ttl)
local function expire(key) redis.call('PEXPIRE', key, ttl) end
local function extend(key) redis.call('PEXPIRE', key, ARGV[13]) end
each_key(id, expire)
if parent ~= '' then redis.call('HINCRBY', p .. 'resp:' .. parent, 'children', 1) end
-- ancestors expire no earlier than their descendants: stop at the first one that already lives long enough
local cur = parent
while cur ~= '' do
  local m = p .. 'resp:' .. cur
  if redis.call('PTTL', m) >= ttl then break end
  each_key(cur, extend)
  each_ref(cur, owner, extend)
  prolong(owner, 'r:' .. cur, tonumber(ARGV[13]), tonumber(ARGV[13]))
  cur = redis.call('HGET', m, 'parent') or ''
end
return 'ok'
"""
)

# ARGV: prefix, id, body, status, n out, output size, max bytes, unfinished statuses, owner, quota per
#       owner, quota total, output items, output ids
_REPLACE = (
    _PRELUDE
    + """
local id = ARGV[2]
local meta = p .. 'resp:' .. id
local f = redis.call('HMGET', meta, 'deleted', 'status', 'insize', 'size', 'owner')
if f[1] ~= '0' or f[5] ~= ARGV[9] then return {'gone', 0} end
-- base.replaceable: unfinished, or a cancelled response taking a cancelled update
if not (one_of(ARGV[8], f[2]) or (f[2] == 'cancelled' and ARGV[4] == 'cancelled')) then
  return {'finished', tonumber(f[4])}
end
local size = tonumber(f[3]) + tonumber(ARGV[6])
if size > tonumber(ARGV[7]) then return {'too large', size} end
local refused = over(ARGV[9], size - tonumber(f[4]), ARGV[10], ARGV[11])
if refused then return refused end
resize(ARGV[9], 'r:' .. id, size)
local nout = tonumber(ARGV[5])
local out, outx = p .. 'out:' .. id, p .. 'outx:' .. id
redis.call('DEL', out, outx)
push(out, 12, nout)
index(outx, 12 + nout, nout)
local ttl = redis.call('PTTL', meta)
if ttl > 0 then
  redis.call('PEXPIRE', out, ttl)
  redis.call('PEXPIRE', outx, ttl)
  refer(id, ARGV[9], 12 + nout, nout, ttl)
end
redis.call('HSET', meta, 'body', ARGV[3], 'status', ARGV[4], 'nout', nout, 'size', size)
return {'stored', size}
"""
)

# ARGV: prefix, id, unfinished statuses, owner
_CANCEL = (
    _PRELUDE
    + """
local meta = p .. 'resp:' .. ARGV[2]
local f = redis.call('HMGET', meta, 'deleted', 'status', 'owner')
if f[1] ~= '0' or f[3] ~= ARGV[4] then return 0 end
if one_of(ARGV[3], f[2]) then redis.call('HSET', meta, 'status', 'cancelled') end
return 1
"""
)

# ARGV: prefix, id, owner.  Returns nil when id is not live (or another owner's), else "id nin nout size id
# nin nout size ..." from id up to the root: one string (response ids have no spaces: base.RESPONSE_ID),
# parsed far faster than an array.  A chain has one owner (a create checks its parent's), so only id's is
# compared.
_CHAIN = """
local p, cur = ARGV[1], ARGV[2]
local f = redis.call('HMGET', p .. 'resp:' .. cur, 'deleted', 'nin', 'nout', 'parent', 'size', 'owner')
if f[1] ~= '0' or f[6] ~= ARGV[3] then return false end
local out = {}
while true do
  out[#out + 1] = cur
  out[#out + 1] = f[2]
  out[#out + 1] = f[3]
  out[#out + 1] = f[5] or '0'
  cur = f[4]
  if cur == '' then return table.concat(out, ' ') end
  f = redis.call('HMGET', p .. 'resp:' .. cur, 'deleted', 'nin', 'nout', 'parent', 'size')
  if not f[1] then return redis.error_reply('TRANSLATOR broken chain at ' .. cur) end
end
"""

# ARGV: prefix, then for each run: key kind (in: or out:), response id, start, stop (exclusive).
# Returns the number of items found for each run, then all the items.
_LOAD = """
local p, counts, items = ARGV[1], {}, {}
for i = 2, #ARGV, 4 do
  local found = redis.call('LRANGE', p .. ARGV[i] .. ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]) - 1)
  counts[#counts + 1] = #found
  for _, item in ipairs(found) do items[#items + 1] = item end
end
for _, item in ipairs(items) do counts[#counts + 1] = item end
return counts
"""

# ARGV: prefix, id, owner
_DELETE = (
    _PRELUDE
    + """
local id = ARGV[2]
local meta = p .. 'resp:' .. id
local f = redis.call('HMGET', meta, 'deleted', 'children', 'parent', 'owner')
local owner = ARGV[3]
if f[1] ~= '0' or f[4] ~= owner then return 0 end
redis.call('DEL', p .. 'ev:' .. id, p .. 'evlog:' .. id, p .. 'lease:' .. id)
uncharge(owner, 'r:' .. id)
if tonumber(f[2]) > 0 then
  redis.call('HSET', meta, 'deleted', '1')
  redis.call('HDEL', meta, 'body')
  return 1
end
local function purge(key) redis.call('DEL', key) end
each_ref(id, owner, purge)
each_key(id, purge)
local cur = f[3]
while cur ~= '' do
  local m = p .. 'resp:' .. cur
  local g = redis.call('HMGET', m, 'deleted', 'parent')
  if not g[1] then break end
  local left = redis.call('HINCRBY', m, 'children', -1)
  if left > 0 or g[1] ~= '1' then break end
  each_ref(cur, owner, purge)
  each_key(cur, purge)
  cur = g[2]
end
return 1
"""
)


# ARGV: prefix, owner, item ids.  Returns id, blob, id, blob... for the ids held by a live response of owner.
_FIND = """
local p, owner, out = ARGV[1], ARGV[2], {}
for i = 3, #ARGV do
  local item_id = ARGV[i]
  local rid = redis.call('GET', p .. 'item:' .. owner .. ':' .. item_id)
  local f = rid and redis.call('HMGET', p .. 'resp:' .. rid, 'deleted', 'owner')
  if f and f[1] == '0' and f[2] == owner then
    for _, kind in ipairs({'out', 'in'}) do
      local index = redis.call('HGET', p .. kind .. 'x:' .. rid, item_id)
      if index then
        local blob = redis.call('LINDEX', p .. kind .. ':' .. rid, index)
        if blob then
          out[#out + 1] = item_id
          out[#out + 1] = blob
        end
        break
      end
    end
  end
end
return out
"""

# ARGV: prefix, id, owner, ttl ms, first sequence number, closed (0/1), events.  Returns 0 (writing
# nothing) when the log is another owner's.
_APPEND_EVENTS = (
    _PRELUDE
    + """
local id, owner, ttl = ARGV[2], ARGV[3], ARGV[4]
local log, events = p .. 'evlog:' .. id, p .. 'ev:' .. id
local holder = redis.call('HGET', log, 'owner')
if holder and holder ~= owner then return 0 end
if #ARGV > 6 and redis.call('HGET', log, 'closed') == '1' then return 0 end  -- a closed log takes no more
if not holder then redis.call('HSET', log, 'owner', owner, 'closed', '0') end
if ARGV[6] == '1' then redis.call('HSET', log, 'closed', '1') end
if #ARGV > 6 then  -- (a retried append rewrites what it wrote)
  local first = tonumber(ARGV[5])
  if first > 0 then redis.call('LTRIM', events, 0, first - 1) else redis.call('DEL', events) end
  push(events, 7, #ARGV - 6)
end
redis.call('PEXPIRE', log, ttl)
redis.call('PEXPIRE', events, ttl)
return 1
"""
)

# ARGV: prefix, id, owner, lease ms.  Returns 1 when the lease was set, 0 when the response has none.
_RENEW = """
local p, id = ARGV[1], ARGV[2]
local f = redis.call('HMGET', p .. 'resp:' .. id, 'deleted', 'owner', 'leased')
if f[1] ~= '0' or f[2] ~= ARGV[3] or f[3] ~= '1' then return 0 end
if ARGV[4] == '0' then redis.call('DEL', p .. 'lease:' .. id) return 1 end
redis.call('SET', p .. 'lease:' .. id, '1', 'PX', ARGV[4])
return 1
"""

# ARGV: prefix, id, owner, status read, body, size growth, event head, event tail.  Returns 1 when the
# response was finalized (base.ResponseStore._finalize), 0 (writing nothing) otherwise.
_FINALIZE = (
    _PRELUDE
    + """
local id, owner = ARGV[2], ARGV[3]
local meta = p .. 'resp:' .. id
local f = redis.call('HMGET', meta, 'deleted', 'owner', 'status', 'leased', 'size')
if f[1] ~= '0' or f[2] ~= owner or f[3] ~= ARGV[4] or f[4] ~= '1' then return 0 end
if redis.call('EXISTS', p .. 'lease:' .. id) == 1 then return 0 end
local size = tonumber(f[5]) + tonumber(ARGV[6])
resize(owner, 'r:' .. id, size)
redis.call('HSET', meta, 'body', ARGV[5], 'status', 'failed', 'leased', '0', 'size', size)
local log, events = p .. 'evlog:' .. id, p .. 'ev:' .. id
local g = redis.call('HMGET', log, 'owner', 'closed')
local ttl = redis.call('PTTL', log)
if g[1] == owner and g[2] == '0' and ttl > 0 then
  redis.call('RPUSH', events, ARGV[7] .. redis.call('LLEN', events) .. ARGV[8])
  redis.call('PEXPIRE', events, ttl)
  redis.call('HSET', log, 'closed', '1')
end
return 1
"""
)

# ARGV: prefix, owner.  Returns the owner's live bytes and everyone's (expired entries pruned).
_USAGE = (
    _PRELUDE
    + """
local mine, all = used(ARGV[2])
return {mine, all}
"""
)

# ARGV: prefix, candidate secret, ms to keep it at least.  Returns the stored secret.
_SECRET = """
local key = ARGV[1] .. 'owner_secret'
redis.call('SET', key, ARGV[2], 'NX')
if redis.call('PTTL', key) < tonumber(ARGV[3]) then redis.call('PEXPIRE', key, ARGV[3]) end
return redis.call('GET', key)
"""


def _split_url(url: str) -> tuple[str, str | None, str]:
    """(URL without ``key_prefix``, the ``key_prefix`` it named, host:port/db without credentials)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefixes = [value for key, value in query if key == "key_prefix"]
    rest = urlencode([(key, value) for key, value in query if key != "key_prefix"])
    where = f"{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or '/0'}"
    return urlunsplit(parts._replace(query=rest)), (prefixes[-1] if prefixes else None), where


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


class RedisResponseStore(ResponseStore):
    """The store in Redis; see :class:`~.base.ResponseStore` and the module docstring.

    Args:
        url: ``redis://[:password@]host:port/db`` (or ``rediss://``, ``unix://``), optionally with a
            ``key_prefix`` query parameter.
        key_prefix: overrides the URL's; every key this store touches starts with it.
    """

    def __init__(
        self,
        url: str,
        *,
        key_prefix: str | None = None,
        ttl: float = DEFAULT_TTL,
        max_bytes: int = DEFAULT_MAX_BYTES,
        quotas: Quotas = DEFAULT_QUOTAS,
    ) -> None:
        super().__init__(ttl=ttl, max_bytes=max_bytes, quotas=quotas)
        client_url, url_prefix, self.where = _split_url(url)
        self.key_prefix = key_prefix or url_prefix or DEFAULT_KEY_PREFIX
        try:
            self._redis = aioredis.Redis.from_url(
                client_url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
            )
        except ValueError as exc:
            raise InvalidStoreSpecError(f"bad Redis URL for {self.where}: {exc}") from None
        self._create = self._redis.register_script(_CREATE)
        self._replace_script = self._redis.register_script(_REPLACE)
        self._cancel_script = self._redis.register_script(_CANCEL)
        self._chain_script = self._redis.register_script(_CHAIN)
        self._delete_script = self._redis.register_script(_DELETE)
        self._load_script = self._redis.register_script(_LOAD)
        self._find_script = self._redis.register_script(_FIND)
        self._secret_script = self._redis.register_script(_SECRET)
        self._append_events_script = self._redis.register_script(_APPEND_EVENTS)
        self._usage_script = self._redis.register_script(_USAGE)
        self._renew_script = self._redis.register_script(_RENEW)
        self._finalize_script = self._redis.register_script(_FINALIZE)

    def _key(self, kind: str, response_id: str) -> str:
        return f"{self.key_prefix}{kind}{response_id}"

    @contextlib.asynccontextmanager
    async def _errors(self) -> AsyncIterator[None]:
        try:
            yield
        except ResponseError as exc:
            if "TRANSLATOR broken chain" in str(exc):
                raise StoreError(
                    f"a stored conversation is broken: {str(exc).split('at ', 1)[-1]} is missing"
                ) from None
            raise StoreUnavailableError(f"Redis response store at {self.where}: {exc}") from exc
        except RedisError as exc:
            raise StoreUnavailableError(f"Redis response store at {self.where}: {exc}") from exc

    def conversation_store(self) -> ConversationStore:
        from .conversations_redis import RedisConversationStore

        return RedisConversationStore(
            self._redis,
            self.key_prefix,
            self._errors,
            ttl=self.ttl,
            max_bytes=self.max_bytes,
            quotas=self.quotas,
        )

    async def check(self) -> None:
        async with self._errors():
            await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()

    async def clear(self) -> int:
        """Delete every key under this store's prefix (and nothing else); returns how many."""
        deleted = 0
        async with self._errors():
            async for batch in self._scan_batches(f"{_glob_escape(self.key_prefix)}*"):
                deleted += await self._redis.unlink(*batch)
        return deleted

    async def _scan_batches(self, pattern: str) -> AsyncIterator[list[Any]]:
        batch: list[Any] = []
        async for key in self._redis.scan_iter(match=pattern, count=500):
            batch.append(key)
            if len(batch) >= 500:
                yield batch
                batch = []
        if batch:
            yield batch

    # ------------------------------------------------------------------ primitives

    async def _insert(self, new: NewResponse) -> None:
        ttl_ms = max(1, round(self.ttl * 1000))
        args: list[Any] = [
            self.key_prefix,
            new.response_id,
            new.parent or "",
            ttl_ms,
            new.body,
            new.status,
            new.input_size,
            new.size,
            len(new.input_items),
            len(new.output_items),
            repr(new.created_at),
            _UNFINISHED,
            self._kept_ms(),
            new.owner,
            *self.quotas,
            0 if new.lease is None else max(1, round(new.lease * 1000)),
            *new.input_items,
            *new.output_items,
            *(item_id or "" for item_id in new.input_ids),
            *(item_id or "" for item_id in new.output_ids),
        ]
        async with self._errors():
            outcome = await self._create(keys=[], args=args)
        refused(outcome)
        if outcome == b"duplicate":
            raise DuplicateResponseError(new.response_id)
        if outcome == b"parent":
            raise ResponseNotFoundError(new.parent or "")
        if outcome == b"unfinished":
            raise ResponseInProgressError(new.parent or "")

    def _kept_ms(self) -> int:
        """How long an extended ancestor (and the owner secret) is kept, in ms."""
        return max(1, round(self.ttl * 1000)) + round(self.ttl * EXPIRY_SLACK * 1000)

    async def _secret(self, candidate: bytes) -> bytes:
        async with self._errors():
            secret = await self._secret_script(keys=[], args=[self.key_prefix, candidate, self._kept_ms()])
        return bytes(secret)

    async def _replace(
        self,
        response_id: str,
        owner: str,
        body: bytes,
        status: str,
        output_items: list[bytes],
        output_ids: list[str | None],
        output_size: int,
    ) -> tuple[Replaced, int]:
        args: list[Any] = [
            self.key_prefix,
            response_id,
            body,
            status,
            len(output_items),
            output_size,
            self.max_bytes,
            _UNFINISHED,
            owner,
            *self.quotas,
            *output_items,
            *(item_id or "" for item_id in output_ids),
        ]
        async with self._errors():
            found = await self._replace_script(keys=[], args=args)
        refused(found)
        outcome, size = found
        return Replaced(outcome.decode()), int(size)

    async def _usage(self, owner: str, *, exact: bool) -> Usage:
        async with self._errors():
            mine, everyone = await self._usage_script(keys=[], args=[self.key_prefix, owner])
        return Usage(int(mine), int(everyone))

    async def _read(self, response_id: str, owner: str) -> tuple[bytes, str, list[bytes], bool] | None:
        async with self._errors(), self._redis.pipeline(transaction=True) as pipe:
            pipe.hmget(self._key("resp:", response_id), "body", "status", "deleted", "owner", "leased")
            pipe.lrange(self._key("out:", response_id), 0, -1)
            pipe.exists(self._key("lease:", response_id))
            (body, status, deleted, stored_owner, leased), outputs, held = await pipe.execute()
        if deleted != b"0" or body is None or stored_owner != owner.encode():
            return None
        return body, status.decode(), list(outputs), leased == b"1" and not held

    async def _status(self, response_id: str, owner: str) -> tuple[str, bool] | None:
        async with self._errors(), self._redis.pipeline(transaction=True) as pipe:
            pipe.hmget(self._key("resp:", response_id), "deleted", "status", "owner", "leased")
            pipe.exists(self._key("lease:", response_id))
            fields, held = await pipe.execute()
        deleted, status, stored_owner, leased = cast("list[bytes | None]", fields)
        if deleted != b"0" or status is None or stored_owner != owner.encode():
            return None
        return status.decode(), leased == b"1" and not held

    async def _renew(self, response_id: str, owner: str, seconds: float) -> bool:
        async with self._errors():
            found = await self._renew_script(
                keys=[], args=[self.key_prefix, response_id, owner, max(1, round(seconds * 1000))]
            )
        return bool(found)

    async def _release(self, response_id: str, owner: str) -> None:
        async with self._errors():
            await self._renew_script(keys=[], args=[self.key_prefix, response_id, owner, 0])

    async def _finalize(self, lapsed: Lapsed) -> bool:
        args: list[Any] = [
            self.key_prefix,
            lapsed.response_id,
            lapsed.owner,
            lapsed.read_status,
            lapsed.body,
            lapsed.growth,
            lapsed.event_head,
            lapsed.event_tail,
        ]
        async with self._errors():
            return bool(await self._finalize_script(keys=[], args=args))

    async def _cancel(self, response_id: str, owner: str) -> bool:
        async with self._errors():
            found = await self._cancel_script(
                keys=[], args=[self.key_prefix, response_id, _UNFINISHED, owner]
            )
        return bool(found)

    async def _chain(self, response_id: str, owner: str) -> list[Link] | None:
        async with self._errors():
            flat = await self._chain_script(keys=[], args=[self.key_prefix, response_id, owner])
        if flat is None:
            return None
        fields = flat.decode().split(" ")
        links = [
            Link(fields[n], int(fields[n + 1]), int(fields[n + 2]), int(fields[n + 3]))
            for n in range(0, len(fields), 4)
        ]
        links.reverse()
        return links

    async def _load(self, runs: Sequence[Run]) -> list[list[bytes]]:
        if not runs:
            return []
        args: list[Any] = [self.key_prefix]
        for run in runs:
            args += [_PART_KEYS[run.part][0], run.response_id, run.start, run.stop]
        async with self._errors():
            flat = await self._load_script(keys=[], args=args)
        pages: list[list[bytes]] = []
        at = len(runs)
        for count in flat[: len(runs)]:
            pages.append(flat[at : at + count])
            at += count
        return pages

    async def _locate(self, response_ids: Sequence[str], item_id: str) -> list[tuple[str, Part, int]]:
        async with self._errors(), self._redis.pipeline(transaction=False) as pipe:
            for rid in response_ids:
                for part in Part:
                    pipe.hget(self._key(_PART_KEYS[part][1], rid), item_id)
            found = await pipe.execute()
        places = [(rid, part) for rid in response_ids for part in Part]
        hits = zip(places, found, strict=True)
        return [(rid, part, int(index)) for (rid, part), index in hits if index is not None]

    async def _find_items(self, item_ids: Sequence[str], owner: str) -> dict[str, bytes]:
        async with self._errors():
            flat = await self._find_script(keys=[], args=[self.key_prefix, owner, *item_ids])
        return {flat[n].decode(): flat[n + 1] for n in range(0, len(flat), 2)}

    async def _append_events(
        self, response_id: str, owner: str, first: int, blobs: list[bytes], closed: bool
    ) -> None:
        ttl_ms = max(1, round(self.ttl * 1000))
        args: list[Any] = [self.key_prefix, response_id, owner, ttl_ms, first, int(closed), *blobs]
        async with self._errors():
            await self._append_events_script(keys=[], args=args)

    async def _events_after(
        self, response_id: str, owner: str, after: int, limit: int
    ) -> tuple[list[bytes], bool] | None:
        start = max(after + 1, 0)
        async with self._errors(), self._redis.pipeline(transaction=True) as pipe:
            pipe.hmget(self._key("evlog:", response_id), "owner", "closed")
            pipe.lrange(self._key("ev:", response_id), start, start + limit - 1)
            (holder, state), blobs = await pipe.execute()
        if holder != owner.encode():
            return None
        return list(blobs), state == b"1"

    async def _delete(self, response_id: str, owner: str) -> bool:
        async with self._errors():
            return bool(await self._delete_script(keys=[], args=[self.key_prefix, response_id, owner]))
