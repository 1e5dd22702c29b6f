"""Id and clock sources.  Inject them into translators to make output deterministic in tests.

An id source is any callable ``(prefix) -> str``; a clock is any callable ``() -> int`` (Unix seconds).

Ids that :func:`random_id` synthesizes look like OpenAI's (``resp_`` + 48 hex digits) but carry a mark:
the last 8 hex digits are a keyed BLAKE2b hash of the rest.  :func:`is_synthesized` checks it, so the
normalizer of golden files can rename the ids we made up (new on every run) and keep the ones a
provider gave (``call_abc``), whose loss a golden must catch.  A provider id passes the check by chance
with probability 2**-32.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable
from itertools import count

__all__ = [
    "Clock",
    "IdSource",
    "SequentialIds",
    "fixed_clock",
    "is_synthesized",
    "random_id",
    "system_clock",
]

IdSource = Callable[[str], str]
Clock = Callable[[], int]


_MARK_KEY = b"chat-responses-translator"
_MARKED = re.compile(r"([A-Za-z]+[_-][0-9a-f]{40})([0-9a-f]{8})")


def _mark(head: str) -> str:
    return hashlib.blake2b(head.encode(), digest_size=4, key=_MARK_KEY).hexdigest()


def random_id(prefix: str) -> str:
    """An id shaped like OpenAI's (``resp_`` / ``msg_`` / ``fc_`` / ``rs_`` + 48 hex digits), marked."""
    sep = "-" if prefix == "chatcmpl" else "_"
    head = f"{prefix}{sep}{secrets.token_hex(20)}"
    return head + _mark(head)


def is_synthesized(value: str) -> bool:
    """Whether ``value`` was made by :func:`random_id` (its mark checks out), not given by a provider."""
    match = _MARKED.fullmatch(value)
    return match is not None and _mark(match.group(1)) == match.group(2)


class SequentialIds:
    """Deterministic ids: ``resp_0001``, ``msg_0002``... one counter shared by every prefix."""

    def __init__(self, start: int = 1) -> None:
        self._counter = count(start)

    def __call__(self, prefix: str) -> str:
        sep = "-" if prefix == "chatcmpl" else "_"
        return f"{prefix}{sep}{next(self._counter):04d}"


def system_clock() -> int:
    return int(time.time())


def fixed_clock(value: int) -> Clock:
    """A clock that always answers ``value``."""
    return lambda: value
