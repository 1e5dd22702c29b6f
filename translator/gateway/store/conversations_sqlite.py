"""Conversations in the SQLite store's file (``--store sqlite[:PATH]``); see :mod:`.conversations`.

Two tables beside the responses' (``conversations``, ``conversation_items``), on the same connection
and worker thread; every write is one ``BEGIN IMMEDIATE`` transaction, and extends the conversation's
expiry.  Expired conversations are swept with the responses.  The items' bytes count in the owner's
usage (the response store's ``owner_usage`` triggers); a write checks the quotas in its transaction.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

from .conversations import ConversationStore, Meta
from .quota import Quotas
from .sqlite_transaction import transaction as _transaction

__all__ = ["Room", "Runner", "SQLiteConversationStore"]

T = TypeVar("T")


class Runner(Protocol):
    """Runs a function with the connection on the store's thread (the response store's ``_run``)."""

    def __call__(self, fn: Callable[[sqlite3.Connection], T], /) -> Awaitable[T]: ...


#: Raises :class:`~.errors.QuotaExceededError` unless (owner, bytes) fit (the response store's ``_room``).
Room = Callable[[sqlite3.Connection, str, int], None]


_LIVE = "id = ? AND expires_at > ?"
_INSERT = "INSERT INTO conversation_items VALUES (?, ?, ?, ?)"
_ITEMS = "SELECT {} FROM conversation_items WHERE conversation_id = ?"


def _rows(conversation_id: str, first: int, blobs: list[bytes], ids: list[str]) -> list[tuple[Any, ...]]:
    return [
        (conversation_id, first + n, item_id, blob)
        for n, (blob, item_id) in enumerate(zip(blobs, ids, strict=True))
    ]


class SQLiteConversationStore(ConversationStore):
    def __init__(self, run: Runner, room: Room, *, ttl: float, max_bytes: int, quotas: Quotas) -> None:
        """``run`` is the response store's: it calls a function with the connection on its thread;
        ``room`` its quota check."""
        super().__init__(ttl=ttl, max_bytes=max_bytes, quotas=quotas)
        self._run = run
        self._room = room

    async def _put(
        self, conversation_id: str, owner: str, body: bytes, blobs: list[bytes], ids: list[str]
    ) -> None:
        def put(db: sqlite3.Connection) -> None:
            with _transaction(db, "BEGIN IMMEDIATE"):
                self._room(db, owner, sum(map(len, blobs)))
                db.execute(
                    "INSERT INTO conversations (id, owner, body, next_seq, expires_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (conversation_id, owner, body, len(blobs), time.time() + self.ttl),
                )
                db.executemany(
                    "INSERT INTO conversation_items VALUES (?, ?, ?, ?)",
                    _rows(conversation_id, 0, blobs, ids),
                )

        await self._run(put)

    async def _meta(self, conversation_id: str) -> Meta | None:
        def meta(db: sqlite3.Connection) -> Meta | None:
            row = db.execute(
                f"SELECT owner, body FROM conversations WHERE {_LIVE}", (conversation_id, time.time())
            ).fetchone()
            return None if row is None else Meta(row[0], row[1])

        return await self._run(meta)

    def _touch(
        self, db: sqlite3.Connection, conversation_id: str, extra: str = "", args: tuple[Any, ...] = ()
    ) -> bool:
        now = time.time()
        changed = db.execute(
            f"UPDATE conversations SET expires_at = ?{extra} WHERE {_LIVE}",
            (now + self.ttl, *args, conversation_id, now),
        )
        return changed.rowcount > 0

    async def _set_meta(self, conversation_id: str, body: bytes) -> bool:
        def update(db: sqlite3.Connection) -> bool:
            with _transaction(db, "BEGIN IMMEDIATE"):
                return self._touch(db, conversation_id, ", body = ?", (body,))

        return await self._run(update)

    async def _drop(self, conversation_id: str) -> bool:
        def drop(db: sqlite3.Connection) -> bool:
            with _transaction(db, "BEGIN IMMEDIATE"):
                gone = db.execute(f"DELETE FROM conversations WHERE {_LIVE}", (conversation_id, time.time()))
                return gone.rowcount > 0

        return await self._run(drop)

    async def _taken(self, conversation_id: str, item_ids: Sequence[Any]) -> set[str]:
        wanted = [i for i in item_ids if isinstance(i, str)]

        def taken(db: sqlite3.Connection) -> set[str]:
            found: set[str] = set()
            for start in range(0, len(wanted), 500):
                batch = wanted[start : start + 500]
                marks = ", ".join("?" * len(batch))
                rows = db.execute(
                    _ITEMS.format("item_id") + f" AND item_id IN ({marks})",
                    (conversation_id, *batch),
                )
                found.update(item_id for (item_id,) in rows)
            return found

        return await self._run(taken) if wanted else set()

    async def _append(self, conversation_id: str, blobs: list[bytes], ids: list[str]) -> bool:
        def append(db: sqlite3.Connection) -> bool:
            with _transaction(db, "BEGIN IMMEDIATE"):
                row = db.execute(
                    f"SELECT next_seq, owner FROM conversations WHERE {_LIVE}", (conversation_id, time.time())
                ).fetchone()
                if row is None:
                    return False
                self._room(db, row[1], sum(map(len, blobs)))
                db.executemany(
                    "INSERT INTO conversation_items VALUES (?, ?, ?, ?)",
                    _rows(conversation_id, row[0], blobs, ids),
                )
                return self._touch(db, conversation_id, ", next_seq = ?", (row[0] + len(blobs),))

        return await self._run(append)

    async def _seq_of(self, conversation_id: str, item_id: str) -> int | None:
        def seq(db: sqlite3.Connection) -> int | None:
            row = db.execute(
                "SELECT seq FROM conversation_items WHERE conversation_id = ? AND item_id = ?",
                (conversation_id, item_id),
            ).fetchone()
            return None if row is None else int(row[0])

        return await self._run(seq)

    async def _page_with_seq(
        self, conversation_id: str, after: int | None, limit: int
    ) -> list[tuple[int, bytes]]:
        def page(db: sqlite3.Connection) -> list[tuple[int, bytes]]:
            rows = db.execute(
                _ITEMS.format("seq, body") + " AND seq > ? ORDER BY seq LIMIT ?",
                (conversation_id, -1 if after is None else after, limit),
            ).fetchall()
            return [(int(seq), blob) for seq, blob in rows]

        return await self._run(page)

    async def _page(
        self, conversation_id: str, cursor: int | None, limit: int, descending: bool
    ) -> list[bytes]:
        if not descending:
            return [blob for _, blob in await self._page_with_seq(conversation_id, cursor, limit)]

        def page(db: sqlite3.Connection) -> list[bytes]:
            rows = db.execute(
                _ITEMS.format("body") + " AND seq < ? ORDER BY seq DESC LIMIT ?",
                (conversation_id, 2**62 if cursor is None else cursor, limit),
            ).fetchall()
            return [blob for (blob,) in rows]

        return await self._run(page)

    async def _item(self, conversation_id: str, item_id: str) -> bytes | None:
        def item(db: sqlite3.Connection) -> bytes | None:
            row = db.execute(
                "SELECT body FROM conversation_items WHERE conversation_id = ? AND item_id = ?",
                (conversation_id, item_id),
            ).fetchone()
            return None if row is None else bytes(row[0])

        return await self._run(item)

    async def _remove(self, conversation_id: str, item_id: str) -> bool:
        def remove(db: sqlite3.Connection) -> bool:
            with _transaction(db, "BEGIN IMMEDIATE"):
                gone = db.execute(
                    "DELETE FROM conversation_items WHERE conversation_id = ? AND item_id = ?",
                    (conversation_id, item_id),
                )
                return gone.rowcount > 0 and self._touch(db, conversation_id)

        return await self._run(remove)

    async def _find(self, owner: str, item_ids: Sequence[str]) -> dict[str, bytes]:
        def find(db: sqlite3.Connection) -> dict[str, bytes]:
            found: dict[str, bytes] = {}
            now = time.time()
            for start in range(0, len(item_ids), 500):
                batch = list(item_ids[start : start + 500])
                marks = ", ".join("?" * len(batch))
                rows = db.execute(
                    "SELECT i.item_id, i.body FROM conversation_items AS i"
                    " JOIN conversations AS c ON c.id = i.conversation_id"
                    f" WHERE i.item_id IN ({marks}) AND c.expires_at > ? AND c.owner = ?",
                    (*batch, now, owner),
                )
                found.update((item_id, blob) for item_id, blob in rows)
            return found

        return await self._run(find) if item_ids else {}
