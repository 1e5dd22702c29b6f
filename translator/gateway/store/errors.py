"""The exceptions the response store raises.

::

    TranslatorError
    └── StoreError                  base of everything below
        ├── ResponseNotFoundError   unknown, expired or deleted response id (-> 404)
        ├── ResponseInProgressError continuing from a response that is still queued or in progress (-> 400)
        ├── DuplicateResponseError  a response with that id is already stored
        ├── ResponseTooLargeError   a response over the store's byte cap (-> 413 / 400)
        ├── ConversationTooLargeError  a conversation over the cap on what one request may load (-> 413)
        ├── QuotaExceededError      storing would pass the owner's quota (-> 413) or the store's (-> 507)
        ├── InvalidListParameterError  bad ``after`` / ``limit`` / ``order`` for input items (-> 400)
        ├── InvalidStoreSpecError   a ``--store`` value that names no backend, or a bad path/URL
        └── StoreUnavailableError   the backend cannot be reached or written (Redis down, disk full)
"""

from __future__ import annotations

from ...errors import TranslatorError

__all__ = [
    "ConversationTooLargeError",
    "DuplicateResponseError",
    "InvalidListParameterError",
    "InvalidStoreSpecError",
    "QuotaExceededError",
    "ResponseInProgressError",
    "ResponseNotFoundError",
    "ResponseTooLargeError",
    "StoreError",
    "StoreUnavailableError",
]


class StoreError(TranslatorError):
    """Base class of the response store's errors."""


class ResponseNotFoundError(StoreError):
    """No live response has this id: never stored, stored with ``store: false``, expired, or deleted."""

    def __init__(self, response_id: str) -> None:
        self.response_id = response_id
        super().__init__(f"no stored response with id {response_id!r} (unknown, expired or deleted)")


class ResponseInProgressError(StoreError):
    """A request continues from a response that is still ``queued`` or ``in_progress``."""

    def __init__(self, response_id: str) -> None:
        self.response_id = response_id
        super().__init__(
            f"response {response_id!r} is still in progress; it can be continued once it has finished"
        )


class DuplicateResponseError(StoreError):
    """``create`` was given an id that is already stored."""

    def __init__(self, response_id: str) -> None:
        self.response_id = response_id
        super().__init__(f"a response with id {response_id!r} is already stored")


class ResponseTooLargeError(StoreError):
    """A response (its object plus its own input and output items) is over the store's byte cap."""

    def __init__(self, response_id: str, size: int, limit: int) -> None:
        self.response_id = response_id
        self.size = size
        self.limit = limit
        super().__init__(
            f"response {response_id!r} needs {size} bytes of storage, over the store's cap of {limit} bytes"
        )


class ConversationTooLargeError(StoreError):
    """The conversation a request continues is over a cap on what one request may load: ``what`` is
    ``"items"`` or ``"bytes"``, ``found`` how many it holds (at least), ``cap`` the cap.  Raised before the
    conversation is loaded (a stored chain is measured first) or as soon as the count passes the cap."""

    def __init__(self, source_id: str, what: str, found: int, cap: int) -> None:
        self.source_id = source_id
        self.what = what
        self.found = found
        self.cap = cap
        super().__init__(f"the conversation of {source_id!r} holds {found:,} {what}, over the cap of {cap:,}")


class QuotaExceededError(StoreError):
    """Storing ``needed`` more bytes would take the live stored bytes past a quota: ``quota`` is
    ``"per_owner"`` (the writer's own bytes, ``usage``, against ``limit``) or ``"total"`` (everyone's).
    Nothing was written.  The message names no owner."""

    def __init__(self, quota: str, usage: int, needed: int, limit: int) -> None:
        self.quota = quota
        self.usage = usage
        self.needed = needed
        self.limit = limit
        whose = "the owner's" if quota == "per_owner" else "the store's"
        super().__init__(
            f"storing {needed:,} more bytes would take {whose} stored bytes from {usage:,} past the"
            f" {quota.replace('_', ' ')} quota of {limit:,} bytes"
        )


class InvalidListParameterError(StoreError):
    """A bad input-items list parameter; ``param`` names it (``after``, ``limit`` or ``order``)."""

    def __init__(self, param: str, reason: str) -> None:
        self.param = param
        self.reason = reason
        super().__init__(f"{param}: {reason}")


class InvalidStoreSpecError(StoreError):
    """A store spec that is not ``memory``, ``sqlite[:PATH]`` or a ``redis://`` URL, or is unusable."""


class StoreUnavailableError(StoreError):
    """The backend failed: Redis unreachable or timing out, SQLite file locked too long, disk full."""
