"""Responses state for the gateway: ``store``, ``previous_response_id``, retrieval, input items, cancel.

One interface, :class:`ResponseStore`, and three backends chosen by a spec string
(:func:`open_store`): ``memory`` (this process only, lost on exit), ``sqlite`` / ``sqlite:PATH`` (the
embedded default, one file any number of local processes can share) and ``redis://host:port/db``
(shared by every gateway instance using that Redis and key prefix).
"""

from __future__ import annotations

import os
from pathlib import Path

from .base import DEFAULT_MAX_BYTES, DEFAULT_TTL, ResponseStore
from .errors import (
    ConversationTooLargeError,
    DuplicateResponseError,
    InvalidListParameterError,
    InvalidStoreSpecError,
    QuotaExceededError,
    ResponseInProgressError,
    ResponseNotFoundError,
    ResponseTooLargeError,
    StoreError,
    StoreUnavailableError,
)
from .items import stored_input_items
from .memory_backend import MemoryResponseStore
from .quota import DEFAULT_QUOTAS, Quotas, Usage
from .sqlite_backend import SQLiteResponseStore, default_sqlite_path

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_STORE_SPEC",
    "DEFAULT_TTL",
    "ConversationTooLargeError",
    "DuplicateResponseError",
    "InvalidListParameterError",
    "InvalidStoreSpecError",
    "MemoryResponseStore",
    "QuotaExceededError",
    "Quotas",
    "ResponseInProgressError",
    "ResponseNotFoundError",
    "ResponseStore",
    "ResponseTooLargeError",
    "SQLiteResponseStore",
    "StoreError",
    "StoreUnavailableError",
    "Usage",
    "default_sqlite_path",
    "open_store",
    "stored_input_items",
]

#: The store used when none is configured: SQLite in the user's state directory.
DEFAULT_STORE_SPEC = "sqlite"

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def open_store(
    spec: str = DEFAULT_STORE_SPEC,
    *,
    ttl: float = DEFAULT_TTL,
    max_bytes: int = DEFAULT_MAX_BYTES,
    quotas: Quotas = DEFAULT_QUOTAS,
    key_prefix: str | None = None,
) -> ResponseStore:
    """The store a spec names: ``memory``, ``sqlite`` (:func:`default_sqlite_path`), ``sqlite:PATH``,
    or a Redis URL (``redis://``, ``rediss://``, ``unix://``; ``?key_prefix=`` or ``key_prefix=``
    sets the key prefix, default ``translator:``).

    Nothing is connected or opened yet: call ``await store.check()`` to fail early.

    Raises:
        InvalidStoreSpecError: the spec names no backend, or an empty path.
        ValueError: a non-positive ``ttl``, ``max_bytes`` or quota.
    """
    if spec == "memory":
        return MemoryResponseStore(ttl=ttl, max_bytes=max_bytes, quotas=quotas)
    if spec == "sqlite" or spec.startswith("sqlite:"):
        raw = spec.partition(":")[2]
        if spec != "sqlite" and not raw:
            raise InvalidStoreSpecError("store 'sqlite:' names no file: use 'sqlite' or 'sqlite:PATH'")
        path = Path(os.path.expanduser(raw)) if raw else default_sqlite_path()
        if path.is_dir():
            raise InvalidStoreSpecError(f"store {spec!r}: {str(path)!r} is a directory, not a database file")
        return SQLiteResponseStore(path, ttl=ttl, max_bytes=max_bytes, quotas=quotas)
    if spec.startswith(_REDIS_SCHEMES):
        from .redis_backend import RedisResponseStore  # imports redis only when used

        return RedisResponseStore(spec, key_prefix=key_prefix, ttl=ttl, max_bytes=max_bytes, quotas=quotas)
    shown = spec if "@" not in spec else spec.split("://", 1)[0] + "://…@" + spec.rsplit("@", 1)[1]
    raise InvalidStoreSpecError(
        f"unknown store {shown!r}: expected 'memory', 'sqlite', 'sqlite:PATH' or a redis:// URL"
    )
