"""``--store sqlite[:PATH]``: the embedded default, one SQLite file shared by any number of processes.

The file is opened in WAL mode (readers never block the writer) with a busy timeout, and every write
is one ``BEGIN IMMEDIATE`` transaction, so several gateway processes can share it.  The blocking
``sqlite3`` calls run on one worker thread per store, off the event loop; that thread owns the
connection.  One row per response, one row per item (``items``), a partial index on item ids for the
``after`` cursor.  Expired rows are deleted by a sweep at most every :data:`SWEEP_INTERVAL` seconds
(their items go with them: ``ON DELETE CASCADE``); until then reads skip them.

The quotas' accounting is the table ``owner_usage`` (owner -> live stored bytes), kept by triggers on
the responses' and conversation items' rows, so every insert, update, delete and sweep changes it in
its own transaction.  Rows expired but not yet swept still count until the next sweep; a write that
would pass a quota sweeps first, then decides.

The file is created readable by its owner only (``0600``): it holds whole conversations.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

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
from .errors import (
    DuplicateResponseError,
    ResponseInProgressError,
    ResponseNotFoundError,
    StoreError,
    StoreUnavailableError,
)
from .quota import DEFAULT_QUOTAS, Quotas, Usage
from .sqlite_transaction import transaction as _transaction

__all__ = ["SCHEMA_VERSION", "SQLiteResponseStore", "default_sqlite_path"]

T = TypeVar("T")

#: ``PRAGMA user_version`` of the files this code writes (2: responses have an owner; 3: event logs have an
#: owner too, and the quotas' ``owner_usage`` table.  Files of versions 1 and 2 are upgraded in place,
#: what they hold owned by nobody, and its usage computed from their rows).
SCHEMA_VERSION = 3
#: Seconds between two sweeps of expired rows (done by a writer).
SWEEP_INTERVAL = 60.0
#: Ids per ``IN (...)`` list (SQLite allows 32,766 variables; smaller lists plan as well).
_IN_BATCH = 500
#: How long a write waits for another process's write to finish, in milliseconds.
BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    id          TEXT PRIMARY KEY,
    owner       TEXT NOT NULL DEFAULT '',
    parent      TEXT,
    body        BLOB,
    status      TEXT NOT NULL,
    n_input     INTEGER NOT NULL,
    n_output    INTEGER NOT NULL,
    input_size  INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    created_at  REAL NOT NULL,
    expires_at  REAL NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0,
    children    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS responses_by_expiry ON responses(expires_at);
CREATE TABLE IF NOT EXISTS items (
    response_id TEXT NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
    part        INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    item_id     TEXT,
    body        BLOB NOT NULL,
    PRIMARY KEY (response_id, part, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_by_item_id ON items(item_id) WHERE item_id IS NOT NULL;
"""

# Background responses' event logs, conversations and runs' leases (a row while a response has a lease,
# its ``expires_at`` 0 once released): created in files of schema version 1 too (IF NOT EXISTS), on open.
_EXTRA_SCHEMA = """
CREATE TABLE IF NOT EXISTS event_logs (
    response_id TEXT PRIMARY KEY,
    owner       TEXT NOT NULL DEFAULT '',
    closed      INTEGER NOT NULL DEFAULT 0,
    expires_at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS event_logs_by_expiry ON event_logs(expires_at);
CREATE TABLE IF NOT EXISTS events (
    response_id TEXT NOT NULL REFERENCES event_logs(response_id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    body        BLOB NOT NULL,
    PRIMARY KEY (response_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS conversations (
    id          TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    body        BLOB NOT NULL,
    next_seq    INTEGER NOT NULL DEFAULT 0,
    expires_at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by_expiry ON conversations(expires_at);
CREATE TABLE IF NOT EXISTS conversation_items (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    item_id         TEXT NOT NULL,
    body            BLOB NOT NULL,
    PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS conversation_items_by_id ON conversation_items(conversation_id, item_id);
CREATE INDEX IF NOT EXISTS conversation_items_by_item_id ON conversation_items(item_id);
CREATE TABLE IF NOT EXISTS leases (
    response_id TEXT PRIMARY KEY REFERENCES responses(id) ON DELETE CASCADE,
    expires_at  REAL NOT NULL
) WITHOUT ROWID;
"""

#: Version 1 to 2: responses get an owner ('' for those stored before: nobody's, never served again).
_UPGRADE_1 = """
ALTER TABLE responses ADD COLUMN owner TEXT NOT NULL DEFAULT '';
"""

#: Version 2's additions (also run on a fresh file): the owner index, the store's own values.
_SCHEMA_2 = """
CREATE INDEX IF NOT EXISTS responses_by_owner ON responses(owner);
CREATE TABLE IF NOT EXISTS meta (
    name        TEXT PRIMARY KEY,
    value       BLOB NOT NULL
) WITHOUT ROWID;
"""

#: Version 3's additions (also run on a fresh file): the live stored bytes per owner, kept by triggers.
_USAGE_TABLE = """
CREATE TABLE IF NOT EXISTS owner_usage (
    owner       TEXT PRIMARY KEY,
    bytes       INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID
"""
#: One statement each (they hold ``;``).  A tombstoned (deleted) response counts no more; a conversation's
#: items are subtracted before it is deleted (its items' cascade then finds no conversation).
_USAGE_TRIGGERS = (
    """CREATE TRIGGER IF NOT EXISTS usage_response_added AFTER INSERT ON responses WHEN NEW.deleted = 0
    BEGIN
        INSERT INTO owner_usage (owner, bytes) VALUES (NEW.owner, NEW.size)
        ON CONFLICT (owner) DO UPDATE SET bytes = bytes + excluded.bytes;
    END""",
    """CREATE TRIGGER IF NOT EXISTS usage_response_changed AFTER UPDATE OF size, deleted ON responses
    BEGIN
        UPDATE owner_usage SET bytes = bytes - (CASE WHEN OLD.deleted = 0 THEN OLD.size ELSE 0 END)
            + (CASE WHEN NEW.deleted = 0 THEN NEW.size ELSE 0 END) WHERE owner = NEW.owner;
    END""",
    """CREATE TRIGGER IF NOT EXISTS usage_response_gone AFTER DELETE ON responses WHEN OLD.deleted = 0
    BEGIN
        UPDATE owner_usage SET bytes = bytes - OLD.size WHERE owner = OLD.owner;
    END""",
    """CREATE TRIGGER IF NOT EXISTS usage_item_added AFTER INSERT ON conversation_items
    BEGIN
        INSERT INTO owner_usage (owner, bytes)
            SELECT owner, length(NEW.body) FROM conversations WHERE id = NEW.conversation_id
        ON CONFLICT (owner) DO UPDATE SET bytes = bytes + excluded.bytes;
    END""",
    """CREATE TRIGGER IF NOT EXISTS usage_item_gone AFTER DELETE ON conversation_items
    WHEN EXISTS (SELECT 1 FROM conversations WHERE id = OLD.conversation_id)
    BEGIN
        UPDATE owner_usage SET bytes = bytes - length(OLD.body)
        WHERE owner = (SELECT owner FROM conversations WHERE id = OLD.conversation_id);
    END""",
    """CREATE TRIGGER IF NOT EXISTS usage_conversation_gone BEFORE DELETE ON conversations
    BEGIN
        UPDATE owner_usage SET bytes = bytes
            - (SELECT coalesce(sum(length(body)), 0) FROM conversation_items WHERE conversation_id = OLD.id)
        WHERE owner = OLD.owner;
    END""",
)
#: The usage of what a file already holds (an upgrade; nothing on a fresh file).
_USAGE_FROM_ROWS = (
    "DELETE FROM owner_usage",
    "INSERT INTO owner_usage (owner, bytes) SELECT owner, sum(size) FROM responses WHERE deleted = 0"
    " GROUP BY owner",
    "INSERT INTO owner_usage (owner, bytes) SELECT c.owner, sum(length(i.body)) FROM conversation_items AS i"
    " JOIN conversations AS c ON c.id = i.conversation_id WHERE true GROUP BY c.owner"
    " ON CONFLICT (owner) DO UPDATE SET bytes = bytes + excluded.bytes",
)

_LIVE = "deleted = 0 AND expires_at > ?"
#: A response's lease expiry, as a column of a ``responses`` query (``NULL``: no lease).
_LEASE = "(SELECT l.expires_at FROM leases AS l WHERE l.response_id = responses.id)"
#: Live and the given owner's: (id, now, owner) with ``id = ? AND {_OWNED}``.
_OWNED = f"{_LIVE} AND owner = ?"

_CHAIN = f"""
WITH RECURSIVE chain(id, parent, n_input, n_output, size, depth) AS (
    SELECT id, parent, n_input, n_output, size, 0 FROM responses WHERE id = ? AND {_OWNED}
    UNION ALL
    SELECT r.id, r.parent, r.n_input, r.n_output, r.size, chain.depth + 1
    FROM responses AS r JOIN chain ON r.id = chain.parent
)
SELECT id, parent, n_input, n_output, size FROM chain ORDER BY depth DESC
"""


def default_sqlite_path() -> Path:
    """``$XDG_STATE_HOME/translator/responses.sqlite3`` (``~/.local/state`` when the variable is unset)."""
    state_home = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state_home) / "translator" / "responses.sqlite3"


def _create_private_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)


def _make_private(path: Path) -> None:
    """Make an existing store file, and its WAL, shared-memory and journal files, readable by their
    owner only (SQLite gives a new WAL the main file's permissions), or refuse to open it."""
    for file in (path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal"))):
        try:
            mode = file.stat().st_mode & 0o777
        except FileNotFoundError:
            continue
        if not mode & 0o077:
            continue
        try:
            os.chmod(file, 0o600)
        except OSError as exc:
            raise StoreError(
                f"{file} is readable or writable by others (mode {mode:04o}) and could not be made"
                f" private ({exc.strerror}): run chmod 600 on it, or use another file"
            ) from None
        logging.getLogger("translator.gateway").warning(
            "response store: %s was readable or writable by others (mode %04o); made it 0600", file, mode
        )


def _identity(path: Path) -> tuple[int, int] | None:
    """Which file ``path`` is (device and inode), ``None`` when there is none."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def _script(db: sqlite3.Connection, script: str) -> None:
    """Run the ``;``-separated statements of ``script`` (inside the caller's transaction)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _add_column(db: sqlite3.Connection, table: str, column: str, declaration: str) -> None:
    """Add ``column`` to ``table`` if the table exists without it (an upgrade, inside its transaction)."""
    columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
    if columns and column not in columns:
        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


def _usage(db: sqlite3.Connection, owner: str) -> Usage:
    """What ``owner_usage`` says (rows expired but not yet swept included)."""
    row = db.execute("SELECT bytes FROM owner_usage WHERE owner = ?", (owner,)).fetchone()
    total = db.execute("SELECT coalesce(sum(bytes), 0) FROM owner_usage").fetchone()[0]
    return Usage(0 if row is None else int(row[0]), int(total))


def _item_rows(
    response_id: str, part: Part, blobs: list[bytes], ids: list[str | None]
) -> list[tuple[Any, ...]]:
    pairs = enumerate(zip(blobs, ids, strict=True))
    return [(response_id, int(part), n, item_id, blob) for n, (blob, item_id) in pairs]


class SQLiteResponseStore(ResponseStore):
    """The store in one SQLite file; see :class:`~.base.ResponseStore` and the module docstring."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        ttl: float = DEFAULT_TTL,
        max_bytes: int = DEFAULT_MAX_BYTES,
        quotas: Quotas = DEFAULT_QUOTAS,
    ) -> None:
        super().__init__(ttl=ttl, max_bytes=max_bytes, quotas=quotas)
        self.path = Path(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="translator-sqlite")
        self._db: sqlite3.Connection | None = None
        self._file: tuple[int, int] | None = None
        self._next_sweep = 0.0
        self._closed = False

    # ------------------------------------------------------------------ plumbing

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            if not self.path.exists():
                _create_private_file(self.path)
            _make_private(self.path)
            db = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA foreign_keys = ON")
            with _transaction(db, "BEGIN IMMEDIATE"):
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version not in range(SCHEMA_VERSION + 1):
                    raise StoreError(
                        f"{self.path} has response-store schema version {version}; this version of"
                        f" translator reads versions 1 to {SCHEMA_VERSION}"
                    )
                if version != SCHEMA_VERSION:
                    if version < 2:
                        _script(db, _SCHEMA if version == 0 else _UPGRADE_1)
                        _script(db, _SCHEMA_2)
                    _add_column(db, "event_logs", "owner", "TEXT NOT NULL DEFAULT ''")
                    _script(db, _EXTRA_SCHEMA)
                    for statement in (_USAGE_TABLE, *_USAGE_TRIGGERS, *_USAGE_FROM_ROWS):
                        db.execute(statement)
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                _script(db, _EXTRA_SCHEMA)
            self._db, self._file = db, _identity(self.path)
        elif _identity(self.path) != self._file:
            raise StoreUnavailableError(
                f"SQLite response store {str(self.path)!r}: the file was deleted or replaced while the"
                " gateway had it open, so what is stored would be lost; restart the gateway"
            )
        return self._db

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        def call() -> T:
            try:
                return fn(self._connect(), *args)
            except (sqlite3.Error, OSError) as exc:
                raise StoreUnavailableError(f"SQLite response store {str(self.path)!r}: {exc}") from exc

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def conversation_store(self) -> ConversationStore:
        from .conversations_sqlite import SQLiteConversationStore

        return SQLiteConversationStore(
            self._run, self._room, ttl=self.ttl, max_bytes=self.max_bytes, quotas=self.quotas
        )

    async def check(self) -> None:
        await self._run(lambda db: db.execute("SELECT 1").fetchone())

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        def shut() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        await asyncio.get_running_loop().run_in_executor(self._executor, shut)
        self._executor.shutdown(wait=True)

    # ------------------------------------------------------------------ expiry and quotas (in a transaction)

    def _sweep(self, db: sqlite3.Connection, now: float) -> None:
        """Delete the expired rows (the triggers subtract their bytes)."""
        db.execute("DELETE FROM responses WHERE expires_at <= ?", (now,))
        db.execute("DELETE FROM event_logs WHERE expires_at <= ?", (now,))
        db.execute("DELETE FROM conversations WHERE expires_at <= ?", (now,))
        self._next_sweep = now + SWEEP_INTERVAL

    def _room(self, db: sqlite3.Connection, owner: str, needed: int) -> None:
        """Raise :class:`~.errors.QuotaExceededError` unless ``needed`` more bytes of ``owner``'s fit
        (sweeping expired rows before refusing)."""
        if self.quotas.refusal(_usage(db, owner), needed) is None:
            return
        self._sweep(db, time.time())
        refused = self.quotas.refusal(_usage(db, owner), needed)
        if refused is not None:
            raise refused

    async def _usage(self, owner: str, *, exact: bool) -> Usage:
        def usage(db: sqlite3.Connection) -> Usage:
            if not exact:
                return _usage(db, owner)
            with _transaction(db, "BEGIN IMMEDIATE"):
                self._sweep(db, time.time())
                return _usage(db, owner)

        return await self._run(usage)

    # ------------------------------------------------------------------ primitives

    async def _insert(self, new: NewResponse) -> None:
        await self._run(self._insert_sync, new)

    def _insert_sync(self, db: sqlite3.Connection, new: NewResponse) -> None:
        now = time.time()
        expires_at = now + self.ttl
        with _transaction(db, "BEGIN IMMEDIATE"):
            if now >= self._next_sweep:
                self._sweep(db, now)
            existing = db.execute(
                "SELECT expires_at FROM responses WHERE id = ?", (new.response_id,)
            ).fetchone()
            if existing is not None:
                if existing[0] > now:
                    raise DuplicateResponseError(new.response_id)
                db.execute("DELETE FROM responses WHERE id = ?", (new.response_id,))
            if new.parent is not None:
                parent = db.execute(
                    f"SELECT status FROM responses WHERE id = ? AND {_OWNED}", (new.parent, now, new.owner)
                ).fetchone()
                if parent is None:
                    raise ResponseNotFoundError(new.parent)
                if parent[0] in UNFINISHED:
                    raise ResponseInProgressError(new.parent)
            self._room(db, new.owner, new.size)
            db.execute(
                "INSERT INTO responses (id, owner, parent, body, status, n_input, n_output, input_size, size,"
                " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new.response_id,
                    new.owner,
                    new.parent,
                    new.body,
                    new.status,
                    len(new.input_items),
                    len(new.output_items),
                    new.input_size,
                    new.size,
                    new.created_at,
                    expires_at,
                ),
            )
            rows = _item_rows(new.response_id, Part.INPUT, new.input_items, new.input_ids)
            rows += _item_rows(new.response_id, Part.OUTPUT, new.output_items, new.output_ids)
            db.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?)", rows)
            if new.lease is not None:
                db.execute("INSERT INTO leases VALUES (?, ?)", (new.response_id, now + new.lease))
            if new.parent is not None:
                db.execute("UPDATE responses SET children = children + 1 WHERE id = ?", (new.parent,))
            ancestor = new.parent
            while ancestor is not None:
                row = db.execute(
                    "SELECT parent, expires_at FROM responses WHERE id = ?", (ancestor,)
                ).fetchone()
                if row is None or row[1] >= expires_at:
                    break  # it, and so every response above it, already outlives the new one
                db.execute(
                    "UPDATE responses SET expires_at = ? WHERE id = ?",
                    (expires_at + self.ttl * EXPIRY_SLACK, ancestor),
                )
                ancestor = row[0]

    async def _secret(self, candidate: bytes) -> bytes:
        def secret(db: sqlite3.Connection) -> bytes:
            with _transaction(db, "BEGIN IMMEDIATE"):
                db.execute("INSERT OR IGNORE INTO meta VALUES ('owner_secret', ?)", (candidate,))
                return bytes(db.execute("SELECT value FROM meta WHERE name = 'owner_secret'").fetchone()[0])

        return await self._run(secret)

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
        def replace(db: sqlite3.Connection) -> tuple[Replaced, int]:
            with _transaction(db, "BEGIN IMMEDIATE"):
                row = db.execute(
                    f"SELECT status, input_size, size FROM responses WHERE id = ? AND {_OWNED}",
                    (response_id, time.time(), owner),
                ).fetchone()
                if row is None:
                    return Replaced.GONE, 0
                stored_status, input_size, stored_size = row
                if not replaceable(stored_status, status):
                    return Replaced.FINISHED, stored_size
                size = input_size + output_size
                if size > self.max_bytes:
                    return Replaced.TOO_LARGE, size
                self._room(db, owner, size - stored_size)
                db.execute(
                    "DELETE FROM items WHERE response_id = ? AND part = ?", (response_id, int(Part.OUTPUT))
                )
                db.executemany(
                    "INSERT INTO items VALUES (?, ?, ?, ?, ?)",
                    _item_rows(response_id, Part.OUTPUT, output_items, output_ids),
                )
                db.execute(
                    "UPDATE responses SET body = ?, status = ?, n_output = ?, size = ? WHERE id = ?",
                    (body, status, len(output_items), size, response_id),
                )
                return Replaced.STORED, size

        return await self._run(replace)

    async def _read(self, response_id: str, owner: str) -> tuple[bytes, str, list[bytes], bool] | None:
        def read(db: sqlite3.Connection) -> tuple[bytes, str, list[bytes], bool] | None:
            now = time.time()
            with _transaction(db, "BEGIN"):
                row = db.execute(
                    f"SELECT body, status, {_LEASE} FROM responses WHERE id = ? AND {_OWNED}",
                    (response_id, now, owner),
                ).fetchone()
                if row is None:
                    return None
                outputs = db.execute(
                    "SELECT body FROM items WHERE response_id = ? AND part = ? ORDER BY seq",
                    (response_id, int(Part.OUTPUT)),
                ).fetchall()
                return row[0], row[1], [blob for (blob,) in outputs], row[2] is not None and row[2] <= now

        return await self._run(read)

    async def _status(self, response_id: str, owner: str) -> tuple[str, bool] | None:
        def status(db: sqlite3.Connection) -> tuple[str, bool] | None:
            now = time.time()
            row = db.execute(
                f"SELECT status, {_LEASE} FROM responses WHERE id = ? AND {_OWNED}", (response_id, now, owner)
            ).fetchone()
            return None if row is None else (str(row[0]), row[1] is not None and row[1] <= now)

        return await self._run(status)

    async def _renew(self, response_id: str, owner: str, seconds: float) -> bool:
        def renew(db: sqlite3.Connection) -> bool:
            now = time.time()
            with _transaction(db, "BEGIN IMMEDIATE"):
                return (
                    db.execute(
                        "UPDATE leases SET expires_at = ? WHERE response_id = ?"
                        f" AND EXISTS (SELECT 1 FROM responses WHERE id = ? AND {_OWNED})",
                        (now + seconds, response_id, response_id, now, owner),
                    ).rowcount
                    == 1
                )

        return await self._run(renew)

    async def _release(self, response_id: str, owner: str) -> None:
        def release(db: sqlite3.Connection) -> None:
            with _transaction(db, "BEGIN IMMEDIATE"):
                db.execute(
                    "UPDATE leases SET expires_at = 0 WHERE response_id = ?"
                    f" AND EXISTS (SELECT 1 FROM responses WHERE id = ? AND {_OWNED})",
                    (response_id, response_id, time.time(), owner),
                )

        await self._run(release)

    async def _finalize(self, lapsed: Lapsed) -> bool:
        def finalize(db: sqlite3.Connection) -> bool:
            now, rid = time.time(), lapsed.response_id
            with _transaction(db, "BEGIN IMMEDIATE"):
                row = db.execute(
                    f"SELECT status, {_LEASE} FROM responses WHERE id = ? AND {_OWNED}",
                    (rid, now, lapsed.owner),
                ).fetchone()
                if row is None or row[0] != lapsed.read_status or row[1] is None or row[1] > now:
                    return False
                db.execute(
                    "UPDATE responses SET body = ?, status = 'failed', size = size + ? WHERE id = ?",
                    (lapsed.body, lapsed.growth, rid),
                )
                db.execute("DELETE FROM leases WHERE response_id = ?", (rid,))
                log = db.execute(
                    "SELECT 1 FROM event_logs WHERE response_id = ? AND owner = ? AND expires_at > ?"
                    " AND closed = 0",
                    (rid, lapsed.owner, now),
                ).fetchone()
                if log is not None:
                    (n,) = db.execute(
                        "SELECT coalesce(max(seq) + 1, 0) FROM events WHERE response_id = ?", (rid,)
                    ).fetchone()
                    event = lapsed.event_head + str(n).encode() + lapsed.event_tail
                    db.execute("INSERT INTO events VALUES (?, ?, ?)", (rid, n, event))
                    db.execute("UPDATE event_logs SET closed = 1 WHERE response_id = ?", (rid,))
                return True

        return await self._run(finalize)

    async def _cancel(self, response_id: str, owner: str) -> bool:
        def cancel(db: sqlite3.Connection) -> bool:
            now = time.time()
            with _transaction(db, "BEGIN IMMEDIATE"):
                db.execute(
                    f"UPDATE responses SET status = 'cancelled' WHERE id = ? AND {_OWNED}"
                    f" AND status IN ({', '.join('?' * len(UNFINISHED))})",
                    (response_id, now, owner, *UNFINISHED),
                )
                return (
                    db.execute(
                        f"SELECT 1 FROM responses WHERE id = ? AND {_OWNED}", (response_id, now, owner)
                    ).fetchone()
                    is not None
                )

        return await self._run(cancel)

    async def _chain(self, response_id: str, owner: str) -> list[Link] | None:
        def chain(db: sqlite3.Connection) -> list[Link] | None:
            rows = db.execute(_CHAIN, (response_id, time.time(), owner)).fetchall()
            if not rows:
                return None
            if rows[0][1] is not None:
                raise StoreError(f"the conversation of {response_id!r} is broken: {rows[0][1]!r} is missing")
            return [Link(rid, n_input, n_output, size) for rid, _, n_input, n_output, size in rows]

        return await self._run(chain)

    async def _load(self, runs: Sequence[Run]) -> list[list[bytes]]:
        query = (
            "SELECT body FROM items WHERE response_id = ? AND part = ? AND seq >= ? AND seq < ? ORDER BY seq"
        )

        def load(db: sqlite3.Connection) -> list[list[bytes]]:
            with _transaction(db, "BEGIN"):
                return [
                    [
                        blob
                        for (blob,) in db.execute(
                            query, (run.response_id, int(run.part), run.start, run.stop)
                        )
                    ]
                    for run in runs
                ]

        return await self._run(load)

    async def _locate(self, response_ids: Sequence[str], item_id: str) -> list[tuple[str, Part, int]]:
        wanted = set(response_ids)

        def locate(db: sqlite3.Connection) -> list[tuple[str, Part, int]]:
            rows = db.execute(
                "SELECT response_id, part, seq FROM items WHERE item_id = ?", (item_id,)
            ).fetchall()
            return [(rid, Part(part), seq) for rid, part, seq in rows if rid in wanted]

        return await self._run(locate)

    async def _find_items(self, item_ids: Sequence[str], owner: str) -> dict[str, bytes]:
        def find(db: sqlite3.Connection) -> dict[str, bytes]:
            found: dict[str, bytes] = {}
            now = time.time()
            with _transaction(db, "BEGIN"):
                for start in range(0, len(item_ids), _IN_BATCH):
                    batch = list(item_ids[start : start + _IN_BATCH])
                    marks = ", ".join("?" * len(batch))
                    rows = db.execute(
                        "SELECT i.item_id, i.body FROM items AS i JOIN responses AS r ON r.id = i.response_id"
                        f" WHERE i.item_id IN ({marks}) AND r.deleted = 0 AND r.expires_at > ?"
                        " AND r.owner = ? ORDER BY r.created_at, i.part",
                        (*batch, now, owner),
                    ).fetchall()
                    found.update((item_id, blob) for item_id, blob in rows)  # the latest last
            return found

        return await self._run(find)

    async def _append_events(
        self, response_id: str, owner: str, first: int, blobs: list[bytes], closed: bool
    ) -> None:
        def append(db: sqlite3.Connection) -> None:
            now = time.time()
            with _transaction(db, "BEGIN IMMEDIATE"):
                held = db.execute(
                    "SELECT owner, closed FROM event_logs WHERE response_id = ?", (response_id,)
                ).fetchone()
                if held is not None and (held[0] != owner or (held[1] and blobs)):
                    return  # another owner's log, or a closed one
                db.execute(
                    "INSERT INTO event_logs (response_id, owner, closed, expires_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (response_id) DO UPDATE SET closed = max(closed, excluded.closed),"
                    " expires_at = excluded.expires_at",
                    (response_id, owner, int(closed), now + self.ttl),
                )
                db.executemany(
                    "INSERT OR REPLACE INTO events VALUES (?, ?, ?)",
                    [(response_id, first + n, blob) for n, blob in enumerate(blobs)],
                )

        await self._run(append)

    async def _events_after(
        self, response_id: str, owner: str, after: int, limit: int
    ) -> tuple[list[bytes], bool] | None:
        def read(db: sqlite3.Connection) -> tuple[list[bytes], bool] | None:
            with _transaction(db, "BEGIN"):
                row = db.execute(
                    "SELECT closed FROM event_logs WHERE response_id = ? AND owner = ? AND expires_at > ?",
                    (response_id, owner, time.time()),
                ).fetchone()
                if row is None:
                    return None
                rows = db.execute(
                    "SELECT body FROM events WHERE response_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                    (response_id, after, limit),
                ).fetchall()
                return [blob for (blob,) in rows], bool(row[0])

        return await self._run(read)

    async def _delete(self, response_id: str, owner: str) -> bool:
        def delete(db: sqlite3.Connection) -> bool:
            with _transaction(db, "BEGIN IMMEDIATE"):
                row = db.execute(
                    f"SELECT children, parent FROM responses WHERE id = ? AND {_OWNED}",
                    (response_id, time.time(), owner),
                ).fetchone()
                if row is None:
                    return False
                db.execute("DELETE FROM event_logs WHERE response_id = ?", (response_id,))
                children, parent = row
                if children > 0:
                    db.execute("UPDATE responses SET deleted = 1, body = NULL WHERE id = ?", (response_id,))
                    return True
                db.execute("DELETE FROM responses WHERE id = ?", (response_id,))
                while parent is not None:
                    db.execute("UPDATE responses SET children = children - 1 WHERE id = ?", (parent,))
                    found = db.execute(
                        "SELECT children, deleted, parent FROM responses WHERE id = ?", (parent,)
                    ).fetchone()
                    if found is None or found[0] > 0 or not found[1]:
                        break
                    db.execute("DELETE FROM responses WHERE id = ?", (parent,))
                    parent = found[2]
                return True

        return await self._run(delete)
