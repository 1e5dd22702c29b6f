"""Store quotas: how many bytes one owner, and everyone together, may keep stored.

The bytes counted are those of what is *live* (not expired, not deleted): every stored response's
object and own input and output items (the size :class:`~.base.ResponseStore` keeps per response), and
every conversation's items (:class:`~.conversations.ConversationStore`).  Background responses' event
logs are not counted: they expire with their response, which is.

A write that would take the owner past ``quota_per_owner`` or the store past ``quota_total`` is refused
with :class:`~.errors.QuotaExceededError`, atomically with the write, in every backend (memory: the
:class:`Ledger` below; SQLite: a usage table kept by triggers; Redis: a ledger kept by the Lua scripts,
:mod:`.redis_ledger`).  The gateway checks the same before it calls the upstream
(:meth:`~.base.ResponseStore.check_room`), with the request's own input size.
"""

from __future__ import annotations

import time
from typing import NamedTuple

from .errors import QuotaExceededError

__all__ = ["DEFAULT_QUOTAS", "DEFAULT_QUOTA_PER_OWNER", "DEFAULT_QUOTA_TOTAL", "Ledger", "Quotas", "Usage"]

#: The default cap on one owner's live stored bytes (1 GiB).
DEFAULT_QUOTA_PER_OWNER = 1024**3
#: The default cap on the whole store's live stored bytes (8 GiB).
DEFAULT_QUOTA_TOTAL = 8 * 1024**3


class Usage(NamedTuple):
    """Live stored bytes: one owner's, and everyone's."""

    owner: int
    total: int


class Quotas(NamedTuple):
    """The caps on :class:`Usage`."""

    per_owner: int = DEFAULT_QUOTA_PER_OWNER
    total: int = DEFAULT_QUOTA_TOTAL

    def checked(self) -> Quotas:
        for name, value in zip(self._fields, self, strict=True):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"quota_{name} must be a positive number of bytes, got {value!r}")
        return self

    def refusal(self, usage: Usage, needed: int) -> QuotaExceededError | None:
        """The error storing ``needed`` more bytes on top of ``usage`` meets, or ``None`` when it fits."""
        if needed > 0 and usage.owner + needed > self.per_owner:
            return QuotaExceededError("per_owner", usage.owner, needed, self.per_owner)
        if needed > 0 and usage.total + needed > self.total:
            return QuotaExceededError("total", usage.total, needed, self.total)
        return None


#: The default quotas.
DEFAULT_QUOTAS = Quotas()


class Ledger:
    """The memory backends' accounting: every charged thing (a response, a conversation) of every owner,
    with its size and expiry, and the sums.  Expired things are dropped by :meth:`prune`."""

    def __init__(self) -> None:
        self._held: dict[tuple[str, str], tuple[int, float]] = {}
        self._owners: dict[str, int] = {}
        self._total = 0

    def charge(self, owner: str, key: str, size: int, expires_at: float) -> None:
        """Record ``key`` of ``owner`` as holding ``size`` bytes until ``expires_at`` (replacing what it
        held)."""
        old = self._held.get((owner, key))
        delta = size - (old[0] if old is not None else 0)
        self._held[owner, key] = (size, expires_at)
        self._owners[owner] = self._owners.get(owner, 0) + delta
        self._total += delta

    def prolong(self, owner: str, key: str, expires_at: float) -> None:
        """Move ``key``'s expiry to ``expires_at`` (if it is recorded)."""
        held = self._held.get((owner, key))
        if held is not None:
            self._held[owner, key] = (held[0], expires_at)

    def drop(self, owner: str, key: str) -> None:
        """Forget ``key`` (deleted or expired); nothing when it is not recorded."""
        held = self._held.pop((owner, key), None)
        if held is not None:
            left = self._owners[owner] - held[0]
            if left:
                self._owners[owner] = left
            else:
                del self._owners[owner]
            self._total -= held[0]

    def prune(self) -> None:
        """Drop every expired thing."""
        now = time.time()
        for owner, key in [held for held, (_, expires_at) in self._held.items() if expires_at <= now]:
            self.drop(owner, key)

    def usage(self, owner: str) -> Usage:
        """What is recorded (expired things included until :meth:`prune`)."""
        return Usage(self._owners.get(owner, 0), self._total)

    def room(self, quotas: Quotas, owner: str, needed: int) -> None:
        """Raise :class:`QuotaExceededError` unless ``needed`` more bytes of ``owner``'s fit (expired things
        are pruned before refusing)."""
        if quotas.refusal(self.usage(owner), needed) is None:
            return
        self.prune()
        refused = quotas.refusal(self.usage(owner), needed)
        if refused is not None:
            raise refused

    def clear(self) -> None:
        self._held.clear()
        self._owners.clear()
        self._total = 0
