"""Conversations: the Conversations API's objects and items, one async interface over three backends.

A conversation is its object (``id`` ``conv_...``, ``created_at``, ``metadata``), its owner, and an
ordered list of items, each with an id unique within the conversation (an item added with an id the
conversation already holds gets a new one).  Items are kept one per row (SQLite) or hash field (Redis),
in the order they were added (a sequence number per conversation), so a page is read without loading
the rest.

Rules every backend keeps (the tests check them on all three):

* **Owners.**  Every method takes the caller's owner; another owner's conversation behaves as absent.
* **Expiry.**  A conversation and its items expire ``ttl`` seconds after its last write (created,
  updated, items added or deleted, a response appended).
* **Size.**  One write (the items of one request or of one response) over ``max_bytes`` is refused
  with :class:`~.errors.ResponseTooLargeError`, and nothing is written.
* **Quotas.**  A conversation's items count in its owner's live stored bytes, with the responses'
  (:mod:`.quota`): a write past a quota is refused with :class:`~.errors.QuotaExceededError`,
  atomically, and nothing is written; deleting items or the conversation, or its expiry, frees them.

Each backend implements the primitives (``_put``, ``_meta``, ``_append``, ``_page``...); the public
methods, the list parameters and the API's shapes are written once, here.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, NamedTuple

import orjson

from ...ids import random_id
from .errors import ConversationTooLargeError, InvalidListParameterError, ResponseTooLargeError
from .listing import DEFAULT_LIMIT, Order, check_list_parameters, list_page
from .quota import Quotas

__all__ = ["CONVERSATION_PAGE", "ConversationStore", "Meta"]

#: Items read per round trip while reading a whole conversation (to prepend it to a request).
CONVERSATION_PAGE = 100


class Meta(NamedTuple):
    """A live conversation's owner and object (without ``id`` and ``object``, as stored)."""

    owner: str
    body: bytes


def _conversation(conversation_id: str, body: bytes) -> dict[str, Any]:
    stored = orjson.loads(body)
    return {
        "id": conversation_id,
        "object": "conversation",
        "created_at": stored["created_at"],
        "metadata": stored.get("metadata") or {},
    }


class ConversationStore(ABC):
    """Conversations of one store (memory, SQLite or Redis); see the module docstring."""

    def __init__(self, *, ttl: float, max_bytes: int, quotas: Quotas) -> None:
        self.ttl = ttl
        self.max_bytes = max_bytes
        self.quotas = quotas

    # ------------------------------------------------------------------ the conversation

    async def create(
        self, owner: str, metadata: Mapping[str, Any], items: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """A new conversation with ``metadata`` and ``items`` (already in the stored shape, with ids)."""
        conversation_id = random_id("conv")
        body = orjson.dumps({"created_at": int(time.time()), "metadata": dict(metadata)})
        blobs, ids = self._blobs(conversation_id, items)
        await self._put(conversation_id, owner, body, blobs, ids)
        return _conversation(conversation_id, body)

    async def get(self, owner: str, conversation_id: str) -> dict[str, Any] | None:
        meta = await self._owned(owner, conversation_id)
        return None if meta is None else _conversation(conversation_id, meta.body)

    async def update(
        self, owner: str, conversation_id: str, metadata: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """Replace the conversation's metadata; ``None`` when it is absent."""
        meta = await self._owned(owner, conversation_id)
        if meta is None:
            return None
        body = orjson.dumps({**orjson.loads(meta.body), "metadata": dict(metadata)})
        if not await self._set_meta(conversation_id, body):
            return None
        return _conversation(conversation_id, body)

    async def delete(self, owner: str, conversation_id: str) -> bool:
        if await self._owned(owner, conversation_id) is None:
            return False
        return await self._drop(conversation_id)

    # ------------------------------------------------------------------ its items

    async def add_items(
        self, owner: str, conversation_id: str, items: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]] | None:
        """Append ``items`` (stored shape, with ids); the items as added (an id the conversation already
        holds replaced by a new one), or ``None`` when the conversation is absent."""
        if await self._owned(owner, conversation_id) is None:
            return None
        taken = await self._taken(conversation_id, [item.get("id") for item in items])
        fresh = [
            {**item, "id": random_id(str(item["id"]).split("_", 1)[0] or "item")}
            if item.get("id") in taken
            else dict(item)
            for item in items
        ]
        blobs, ids = self._blobs(conversation_id, fresh)
        if not await self._append(conversation_id, blobs, ids):
            return None
        return fresh

    async def list_items(
        self,
        owner: str,
        conversation_id: str,
        *,
        after: str | None = None,
        limit: int = DEFAULT_LIMIT,
        order: Order = "desc",
    ) -> dict[str, Any] | None:
        """A page of the items (the API's list object); ``None`` when the conversation is absent.

        Raises:
            InvalidListParameterError: a bad ``limit`` or ``order``, or an ``after`` not in the conversation.
        """
        check_list_parameters(limit, order)
        if await self._owned(owner, conversation_id) is None:
            return None
        cursor = None
        if after is not None:
            cursor = await self._seq_of(conversation_id, after)
            if cursor is None:
                raise InvalidListParameterError("after", f"no item with id {after!r} in this conversation")
        blobs = await self._page(conversation_id, cursor, limit + 1, order == "desc")
        data = [orjson.loads(blob) for blob in blobs[:limit]]
        return list_page(data, len(blobs) > limit)

    async def items(
        self,
        owner: str,
        conversation_id: str,
        *,
        max_items: int | None = None,
        max_bytes: int | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item, oldest first, page by page (what a response in the conversation is given first).
        Nothing when the conversation is absent (check with :meth:`get` first).

        Raises:
            ConversationTooLargeError: past ``max_items`` items or ``max_bytes`` bytes of items, as soon
                as a page passes it (no more than the caps and one page are ever read).
        """
        if await self._owned(owner, conversation_id) is None:
            return
        cursor: int | None = None
        count = size = 0
        while True:
            rows = await self._page_with_seq(conversation_id, cursor, CONVERSATION_PAGE)
            count += len(rows)
            size += sum(len(blob) for _, blob in rows)
            if max_items is not None and count > max_items:
                raise ConversationTooLargeError(conversation_id, "items", count, max_items)
            if max_bytes is not None and size > max_bytes:
                raise ConversationTooLargeError(conversation_id, "bytes", size, max_bytes)
            for _, blob in rows:
                yield orjson.loads(blob)
            if len(rows) < CONVERSATION_PAGE:
                return
            cursor = rows[-1][0]

    async def get_item(self, owner: str, conversation_id: str, item_id: str) -> dict[str, Any] | None:
        if await self._owned(owner, conversation_id) is None:
            return None
        blob = await self._item(conversation_id, item_id)
        return None if blob is None else orjson.loads(blob)

    async def delete_item(self, owner: str, conversation_id: str, item_id: str) -> bool | None:
        """Remove one item: ``True``, ``False`` when the conversation has no such item, ``None`` when the
        conversation is absent."""
        if await self._owned(owner, conversation_id) is None:
            return None
        return await self._remove(conversation_id, item_id)

    async def find_items(self, owner: str, item_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Items of ``owner``'s live conversations with these ids (``item_reference``)."""
        found = await self._find(owner, list(dict.fromkeys(item_ids)))
        return {item_id: orjson.loads(blob) for item_id, blob in found.items()}

    # ------------------------------------------------------------------ helpers

    async def _owned(self, owner: str, conversation_id: str) -> Meta | None:
        meta = await self._meta(conversation_id)
        return meta if meta is not None and meta.owner == owner else None

    def _blobs(
        self, conversation_id: str, items: Sequence[Mapping[str, Any]]
    ) -> tuple[list[bytes], list[str]]:
        blobs = [orjson.dumps(item) for item in items]
        size = sum(map(len, blobs))
        if size > self.max_bytes:
            raise ResponseTooLargeError(conversation_id, size, self.max_bytes)
        return blobs, [str(item["id"]) for item in items]

    # ------------------------------------------------------------------ backend primitives

    @abstractmethod
    async def _put(
        self, conversation_id: str, owner: str, body: bytes, blobs: list[bytes], ids: list[str]
    ) -> None:
        """Create the conversation with its first items."""

    @abstractmethod
    async def _meta(self, conversation_id: str) -> Meta | None:
        """The live conversation's owner and stored body."""

    @abstractmethod
    async def _set_meta(self, conversation_id: str, body: bytes) -> bool:
        """Replace the body (and extend the expiry); ``False`` when gone."""

    @abstractmethod
    async def _drop(self, conversation_id: str) -> bool:
        """Delete the conversation and its items; ``False`` when gone."""

    @abstractmethod
    async def _taken(self, conversation_id: str, item_ids: Sequence[Any]) -> set[str]:
        """Which of ``item_ids`` the conversation already holds."""

    @abstractmethod
    async def _append(self, conversation_id: str, blobs: list[bytes], ids: list[str]) -> bool:
        """Append items after the last (and extend the expiry); ``False`` when gone."""

    @abstractmethod
    async def _seq_of(self, conversation_id: str, item_id: str) -> int | None:
        """The sequence number of an item."""

    @abstractmethod
    async def _page_with_seq(
        self, conversation_id: str, after: int | None, limit: int
    ) -> list[tuple[int, bytes]]:
        """Up to ``limit`` (sequence number, item) after sequence number ``after``, oldest first."""

    @abstractmethod
    async def _page(
        self, conversation_id: str, cursor: int | None, limit: int, descending: bool
    ) -> list[bytes]:
        """Up to ``limit`` items after (asc) or before (desc) sequence number ``cursor``."""

    @abstractmethod
    async def _item(self, conversation_id: str, item_id: str) -> bytes | None:
        """One item."""

    @abstractmethod
    async def _remove(self, conversation_id: str, item_id: str) -> bool:
        """Remove one item (and extend the expiry); ``False`` when there is none."""

    @abstractmethod
    async def _find(self, owner: str, item_ids: Sequence[str]) -> dict[str, bytes]:
        """Items with these ids in ``owner``'s live conversations: id -> item."""
