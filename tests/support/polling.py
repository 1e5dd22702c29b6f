"""Waiting for a condition that another process or thread makes true."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

__all__ = ["wait"]


def wait(condition: Callable[[], Any], seconds: float, what: str, *, every: float = 0.02) -> Any:
    """``condition()``'s first truthy value, asked every ``every`` seconds; fails the test naming
    ``what`` when none came within ``seconds``."""
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(every)
    return found
