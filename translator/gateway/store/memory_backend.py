"""``--store memory``: the response store in this process's memory, lost on exit.

Every method runs without awaiting in between, so each is atomic with respect to the event loop: the
same guarantees as the persistent backends, for one process.  Expired responses are dropped when met
and by a sweep every :data:`SWEEP_EVERY` inserts.  The quotas' accounting is a :class:`~.quota.Ledger`
shared with the conversations (a response is charged as ``r:ID``, a conversation as ``c:ID``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

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
    replaceable,
)
from .conversations import ConversationStore
from .conversations_memory import MemoryConversationStore
from .errors import DuplicateResponseError, ResponseInProgressError, ResponseNotFoundError, StoreError
from .quota import DEFAULT_QUOTAS, Ledger, Quotas, Usage

__all__ = ["MemoryResponseStore"]

#: Inserts between two sweeps of expired responses.
SWEEP_EVERY = 256


@dataclass(slots=True)
class _Entry:
    owner: str
    parent: str | None
    body: bytes | None
    status: str
    items: tuple[list[bytes], list[bytes]]
    index: tuple[dict[str, int], dict[str, int]]
    input_size: int
    size: int
    expires_at: float
    deleted: bool = False
    children: int = 0
    #: when its run's lease expires (``None``: it has no lease, or it was finalized)
    lease_until: float | None = None

    def lapsed(self, now: float) -> bool:
        return self.lease_until is not None and self.lease_until <= now


def _index(ids: list[str | None]) -> dict[str, int]:
    index: dict[str, int] = {}
    for n, item_id in enumerate(ids):
        if item_id is not None:
            index.setdefault(item_id, n)
    return index


@dataclass(slots=True)
class _Log:
    owner: str
    events: list[bytes]
    expires_at: float
    closed: bool = False


@dataclass(slots=True)
class _Table:
    entries: dict[str, _Entry] = field(default_factory=dict)
    #: (owner, item id) -> the owner's response that stored it last (stale pointers are skipped, and swept)
    items: dict[tuple[str, str], str] = field(default_factory=dict)
    #: background responses' event logs
    logs: dict[str, _Log] = field(default_factory=dict)
    inserts: int = 0


class MemoryResponseStore(ResponseStore):
    """The store in a dict; see :class:`~.base.ResponseStore`."""

    def __init__(
        self, *, ttl: float = DEFAULT_TTL, max_bytes: int = DEFAULT_MAX_BYTES, quotas: Quotas = DEFAULT_QUOTAS
    ) -> None:
        super().__init__(ttl=ttl, max_bytes=max_bytes, quotas=quotas)
        self._table = _Table()
        self._owner_secret: bytes | None = None
        self._ledger = Ledger()

    def conversation_store(self) -> ConversationStore:
        return MemoryConversationStore(
            ttl=self.ttl, max_bytes=self.max_bytes, quotas=self.quotas, ledger=self._ledger
        )

    async def check(self) -> None:
        """Always ready."""

    async def close(self) -> None:
        self._table.entries.clear()
        self._ledger.clear()

    # ------------------------------------------------------------------ helpers

    def _entry(self, response_id: str, now: float | None = None) -> _Entry | None:
        """The entry, live or tombstoned, unless expired (then it is dropped)."""
        entry = self._table.entries.get(response_id)
        if entry is not None and entry.expires_at <= (time.time() if now is None else now):
            self._forget(response_id, entry)
            return None
        return entry

    def _forget(self, response_id: str, entry: _Entry) -> None:
        del self._table.entries[response_id]
        self._ledger.drop(entry.owner, f"r:{response_id}")

    def _live(self, response_id: str, owner: str) -> _Entry | None:
        """The entry if it is live and ``owner``'s."""
        entry = self._entry(response_id)
        return None if entry is None or entry.deleted or entry.owner != owner else entry

    def _sweep(self, now: float) -> None:
        expired = [(rid, entry) for rid, entry in self._table.entries.items() if entry.expires_at <= now]
        for rid, entry in expired:
            self._forget(rid, entry)
        entries = self._table.entries
        stale = [pointer for pointer, rid in self._table.items.items() if rid not in entries]
        for pointer in stale:
            del self._table.items[pointer]
        for rid in [rid for rid, log in self._table.logs.items() if log.expires_at <= now]:
            del self._table.logs[rid]

    def _point(self, response_id: str, owner: str, ids: list[str | None]) -> None:
        for item_id in ids:
            if item_id is not None:
                self._table.items[owner, item_id] = response_id

    # ------------------------------------------------------------------ primitives

    async def _insert(self, new: NewResponse) -> None:
        now = time.time()
        self._table.inserts += 1
        if self._table.inserts % SWEEP_EVERY == 0:
            self._sweep(now)
        if self._entry(new.response_id, now) is not None:
            raise DuplicateResponseError(new.response_id)
        parent = None if new.parent is None else self._live(new.parent, new.owner)
        if new.parent is not None and parent is None:
            raise ResponseNotFoundError(new.parent)
        if parent is not None and parent.status in UNFINISHED:
            raise ResponseInProgressError(new.parent or "")
        self._ledger.room(self.quotas, new.owner, new.size)
        expires_at = now + self.ttl
        self._ledger.charge(new.owner, f"r:{new.response_id}", new.size, expires_at)
        self._table.entries[new.response_id] = _Entry(
            owner=new.owner,
            parent=new.parent,
            body=new.body,
            status=new.status,
            items=(list(new.input_items), list(new.output_items)),
            index=(_index(new.input_ids), _index(new.output_ids)),
            input_size=new.input_size,
            size=new.size,
            expires_at=expires_at,
            lease_until=None if new.lease is None else now + new.lease,
        )
        self._point(new.response_id, new.owner, new.input_ids)
        self._point(new.response_id, new.owner, new.output_ids)
        if parent is not None:
            parent.children += 1
        ancestor_id = new.parent
        while ancestor_id is not None and (ancestor := self._table.entries.get(ancestor_id)) is not None:
            if ancestor.expires_at >= expires_at:
                break  # it, and so every response above it, already outlives the new one
            ancestor.expires_at = expires_at + self.ttl * EXPIRY_SLACK
            self._ledger.prolong(ancestor.owner, f"r:{ancestor_id}", ancestor.expires_at)
            ancestor_id = ancestor.parent

    async def _usage(self, owner: str, *, exact: bool) -> Usage:
        if exact:
            self._ledger.prune()
        return self._ledger.usage(owner)

    async def _secret(self, candidate: bytes) -> bytes:
        if self._owner_secret is None:
            self._owner_secret = candidate
        return self._owner_secret

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
        entry = self._live(response_id, owner)
        if entry is None:
            return Replaced.GONE, 0
        if not replaceable(entry.status, status):
            return Replaced.FINISHED, entry.size
        size = entry.input_size + output_size
        if size > self.max_bytes:
            return Replaced.TOO_LARGE, size
        self._ledger.room(self.quotas, owner, size - entry.size)
        self._ledger.charge(owner, f"r:{response_id}", size, entry.expires_at)
        entry.body, entry.status, entry.size = body, status, size
        entry.items = (entry.items[0], list(output_items))
        entry.index = (entry.index[0], _index(output_ids))
        self._point(response_id, owner, output_ids)
        return Replaced.STORED, size

    async def _read(self, response_id: str, owner: str) -> tuple[bytes, str, list[bytes], bool] | None:
        entry = self._live(response_id, owner)
        if entry is None or entry.body is None:
            return None
        return entry.body, entry.status, list(entry.items[Part.OUTPUT]), entry.lapsed(time.time())

    async def _status(self, response_id: str, owner: str) -> tuple[str, bool] | None:
        entry = self._live(response_id, owner)
        return None if entry is None else (entry.status, entry.lapsed(time.time()))

    async def _renew(self, response_id: str, owner: str, seconds: float) -> bool:
        entry = self._live(response_id, owner)
        if entry is None or entry.lease_until is None:
            return False
        entry.lease_until = time.time() + seconds
        return True

    async def _release(self, response_id: str, owner: str) -> None:
        entry = self._live(response_id, owner)
        if entry is not None and entry.lease_until is not None:
            entry.lease_until = 0.0

    async def _finalize(self, lapsed: Lapsed) -> bool:
        now = time.time()
        entry = self._live(lapsed.response_id, lapsed.owner)
        if entry is None or entry.status != lapsed.read_status or not entry.lapsed(now):
            return False
        entry.body, entry.status, entry.lease_until = lapsed.body, "failed", None
        entry.size += lapsed.growth
        self._ledger.charge(lapsed.owner, f"r:{lapsed.response_id}", entry.size, entry.expires_at)
        log = self._table.logs.get(lapsed.response_id)
        if log is not None and log.expires_at > now and log.owner == lapsed.owner and not log.closed:
            log.events.append(lapsed.event_head + str(len(log.events)).encode() + lapsed.event_tail)
            log.closed = True
        return True

    async def _cancel(self, response_id: str, owner: str) -> bool:
        entry = self._live(response_id, owner)
        if entry is None:
            return False
        if entry.status in UNFINISHED:
            entry.status = "cancelled"
        return True

    async def _chain(self, response_id: str, owner: str) -> list[Link] | None:
        if self._live(response_id, owner) is None:
            return None
        chain: list[Link] = []
        current: str | None = response_id
        while current is not None:
            entry = self._entry(current)
            if entry is None:
                raise StoreError(f"the conversation of {response_id!r} is broken: {current!r} is missing")
            items = entry.items
            chain.append(Link(current, len(items[Part.INPUT]), len(items[Part.OUTPUT]), entry.size))
            current = entry.parent
        chain.reverse()
        return chain

    async def _load(self, runs: Sequence[Run]) -> list[list[bytes]]:
        pages: list[list[bytes]] = []
        for run in runs:
            entry = self._entry(run.response_id)
            pages.append([] if entry is None else entry.items[run.part][run.start : run.stop])
        return pages

    async def _locate(self, response_ids: Sequence[str], item_id: str) -> list[tuple[str, Part, int]]:
        hits: list[tuple[str, Part, int]] = []
        for rid in response_ids:
            entry = self._entry(rid)
            if entry is None:
                continue
            for part in Part:
                index = entry.index[part].get(item_id)
                if index is not None:
                    hits.append((rid, part, index))
        return hits

    async def _find_items(self, item_ids: Sequence[str], owner: str) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for item_id in item_ids:
            rid = self._table.items.get((owner, item_id))
            entry = None if rid is None else self._live(rid, owner)
            if entry is None:
                continue
            for part in (Part.OUTPUT, Part.INPUT):
                index = entry.index[part].get(item_id)
                if index is not None:
                    found[item_id] = entry.items[part][index]
                    break
        return found

    async def _append_events(
        self, response_id: str, owner: str, first: int, blobs: list[bytes], closed: bool
    ) -> None:
        now = time.time()
        log = self._table.logs.get(response_id)
        if log is None or log.expires_at <= now:
            log = self._table.logs[response_id] = _Log(owner, [], now + self.ttl)
        if log.owner != owner or (log.closed and blobs):
            return
        if blobs:
            del log.events[first:]  # (a retried append rewrites what it wrote)
            log.events += blobs
        log.expires_at = now + self.ttl
        log.closed = log.closed or closed

    async def _events_after(
        self, response_id: str, owner: str, after: int, limit: int
    ) -> tuple[list[bytes], bool] | None:
        log = self._table.logs.get(response_id)
        if log is None or log.expires_at <= time.time() or log.owner != owner:
            return None
        start = max(after + 1, 0)
        return log.events[start : start + limit], log.closed

    async def _delete(self, response_id: str, owner: str) -> bool:
        entry = self._live(response_id, owner)
        if entry is None:
            return False
        self._table.logs.pop(response_id, None)
        self._ledger.drop(owner, f"r:{response_id}")
        if entry.children > 0:
            entry.deleted, entry.body = True, None
            return True
        del self._table.entries[response_id]
        parent_id = entry.parent
        while parent_id is not None and (parent := self._table.entries.get(parent_id)) is not None:
            parent.children -= 1
            if parent.children > 0 or not parent.deleted:
                break
            del self._table.entries[parent_id]
            parent_id = parent.parent
        return True
