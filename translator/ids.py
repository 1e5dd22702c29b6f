"""Id and clock sources.  Inject them into translators to make output deterministic in tests.

An id source is any callable ``(prefix) -> str``; a clock is any callable ``() -> int`` (Unix seconds).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from itertools import count

__all__ = ["Clock", "IdSource", "SequentialIds", "fixed_clock", "random_id", "system_clock"]

IdSource = Callable[[str], str]
Clock = Callable[[], int]


def random_id(prefix: str) -> str:
    """An id shaped like OpenAI's: ``resp_`` / ``msg_`` / ``fc_`` / ``rs_`` + 48 hex digits."""
    sep = "-" if prefix == "chatcmpl" else "_"
    return f"{prefix}{sep}{secrets.token_hex(24)}"


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
