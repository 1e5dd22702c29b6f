"""Conversations in this process's memory (``--store memory``); see :mod:`.conversations`.

Every method runs without awaiting in between, so each is atomic with respect to the event loop.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .conversations import ConversationStore, Meta
from .quota import Ledger, Quotas

__all__ = ["MemoryConversationStore"]


@dataclass(slots=True)
class _Conversation:
    owner: str
    body: bytes
    expires_at: float
    seqs: list[int] = field(default_factory=list)  # ascending
    by_seq: dict[int, tuple[str, bytes]] = field(default_factory=dict)
    by_id: dict[str, int] = field(default_factory=dict)
    next_seq: int = 0
    size: int = 0  # bytes of its items


class MemoryConversationStore(ConversationStore):
    def __init__(self, *, ttl: float, max_bytes: int, quotas: Quotas, ledger: Ledger) -> None:
        """``ledger`` is the response store's: conversations count in the same quotas (as ``c:ID``)."""
        super().__init__(ttl=ttl, max_bytes=max_bytes, quotas=quotas)
        self._conversations: dict[str, _Conversation] = {}
        self._ledger = ledger

    def _live(self, conversation_id: str) -> _Conversation | None:
        found = self._conversations.get(conversation_id)
        if found is not None and found.expires_at <= time.time():
            self._forget(conversation_id)
            return None
        return found

    def _forget(self, conversation_id: str) -> None:
        gone = self._conversations.pop(conversation_id)
        self._ledger.drop(gone.owner, f"c:{conversation_id}")

    def _touch(self, conversation_id: str, conversation: _Conversation) -> None:
        conversation.expires_at = time.time() + self.ttl
        key = f"c:{conversation_id}"
        self._ledger.charge(conversation.owner, key, conversation.size, conversation.expires_at)

    def _add(
        self, conversation_id: str, conversation: _Conversation, blobs: list[bytes], ids: list[str]
    ) -> None:
        self._ledger.room(self.quotas, conversation.owner, sum(map(len, blobs)))
        for blob, item_id in zip(blobs, ids, strict=True):
            seq = conversation.next_seq
            conversation.next_seq += 1
            conversation.seqs.append(seq)
            conversation.by_seq[seq] = (item_id, blob)
            conversation.by_id[item_id] = seq
            conversation.size += len(blob)
        self._touch(conversation_id, conversation)

    async def _put(
        self, conversation_id: str, owner: str, body: bytes, blobs: list[bytes], ids: list[str]
    ) -> None:
        now = time.time()
        for stale in [cid for cid, c in self._conversations.items() if c.expires_at <= now]:
            self._forget(stale)
        conversation = _Conversation(owner, body, now + self.ttl)
        self._add(conversation_id, conversation, blobs, ids)
        self._conversations[conversation_id] = conversation

    async def _meta(self, conversation_id: str) -> Meta | None:
        found = self._live(conversation_id)
        return None if found is None else Meta(found.owner, found.body)

    async def _set_meta(self, conversation_id: str, body: bytes) -> bool:
        found = self._live(conversation_id)
        if found is None:
            return False
        found.body = body
        self._touch(conversation_id, found)
        return True

    async def _drop(self, conversation_id: str) -> bool:
        if self._live(conversation_id) is None:
            return False
        self._forget(conversation_id)
        return True

    async def _taken(self, conversation_id: str, item_ids: Sequence[Any]) -> set[str]:
        found = self._live(conversation_id)
        return set() if found is None else {i for i in item_ids if i in found.by_id}

    async def _append(self, conversation_id: str, blobs: list[bytes], ids: list[str]) -> bool:
        found = self._live(conversation_id)
        if found is None:
            return False
        self._add(conversation_id, found, blobs, ids)
        return True

    async def _seq_of(self, conversation_id: str, item_id: str) -> int | None:
        found = self._live(conversation_id)
        return None if found is None else found.by_id.get(item_id)

    async def _page_with_seq(
        self, conversation_id: str, after: int | None, limit: int
    ) -> list[tuple[int, bytes]]:
        found = self._live(conversation_id)
        if found is None:
            return []
        start = 0 if after is None else bisect.bisect_right(found.seqs, after)
        return [(seq, found.by_seq[seq][1]) for seq in found.seqs[start : start + limit]]

    async def _page(
        self, conversation_id: str, cursor: int | None, limit: int, descending: bool
    ) -> list[bytes]:
        found = self._live(conversation_id)
        if found is None:
            return []
        if not descending:
            return [blob for _, blob in await self._page_with_seq(conversation_id, cursor, limit)]
        stop = len(found.seqs) if cursor is None else bisect.bisect_left(found.seqs, cursor)
        chosen = found.seqs[max(stop - limit, 0) : stop]
        return [found.by_seq[seq][1] for seq in reversed(chosen)]

    async def _item(self, conversation_id: str, item_id: str) -> bytes | None:
        found = self._live(conversation_id)
        seq = None if found is None else found.by_id.get(item_id)
        return None if found is None or seq is None else found.by_seq[seq][1]

    async def _remove(self, conversation_id: str, item_id: str) -> bool:
        found = self._live(conversation_id)
        seq = None if found is None else found.by_id.pop(item_id, None)
        if found is None or seq is None:
            return False
        found.size -= len(found.by_seq.pop(seq)[1])
        found.seqs.remove(seq)
        self._touch(conversation_id, found)
        return True

    async def _find(self, owner: str, item_ids: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        wanted = set(item_ids)
        for conversation_id in list(self._conversations):
            conversation = self._live(conversation_id)
            if conversation is None or conversation.owner != owner:
                continue
            for item_id in wanted & conversation.by_id.keys():
                found[item_id] = conversation.by_seq[conversation.by_id[item_id]][1]
        return found
