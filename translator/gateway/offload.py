"""Heavy work off the event loop: what one request's size makes slow runs in a worker thread.

Converting a request of tens of thousands of items, parsing a body of many megabytes, or walking a long
stored conversation takes hundreds of milliseconds of CPU; on the event loop, every other request (and
``/health``) would wait that long.  :func:`off_loop` runs such a call in a thread when its *weight* (the
items or kilobytes it handles) is at least :data:`OFF_LOOP_WEIGHT`, and inline otherwise (a thread hop
costs more than a small call).  The thread holds the GIL while it computes, but Python switches threads
every few milliseconds, so the loop keeps answering meanwhile.

The size caps (``max_body_bytes``, ``max_input_items``, ``max_conversation_items``...) bound how long the
call runs at all; this module only keeps it from freezing the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["OFF_LOOP_WEIGHT", "off_loop"]

T = TypeVar("T")

#: The weight (items, or kilobytes of a body) from which a call runs in a worker thread.
OFF_LOOP_WEIGHT = 1000


async def off_loop(weight: int, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``, in a worker thread when ``weight`` is at least :data:`OFF_LOOP_WEIGHT`."""
    if weight < OFF_LOOP_WEIGHT:
        return fn(*args, **kwargs)
    return await asyncio.to_thread(fn, *args, **kwargs)
