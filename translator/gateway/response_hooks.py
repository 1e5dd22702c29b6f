"""What the Responses state asks of a translated exchange: the fields to echo, the id to use, storing the
final response before its terminal event leaves, and cancellation.

The state (:mod:`translator.gateway.responses_state`) builds these; the bridge
(:mod:`translator.gateway.bridge`) honours them.  Neither imports the other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CANCEL_POLL", "NO_HOOKS", "Cancelled", "ResponseHooks"]

#: Seconds between two checks of :attr:`ResponseHooks.cancelled`.
CANCEL_POLL = 0.25


@dataclass(slots=True)
class ResponseHooks:
    """What the response state adds to a Responses exchange over a chat upstream.

    ``fields``: Response fields to echo besides the request's (``previous_response_id``,
    ``background``); ``response_id``: the id the response must have (a background response was
    announced before it ran); ``on_final``: awaited with the final response *before* its terminal
    event leaves, so a client that continues from it at once finds it stored; ``cancelled``: polled
    between upstream reads (at most every :data:`CANCEL_POLL` seconds), ends the exchange when true.
    """

    fields: dict[str, Any] = field(default_factory=dict)
    response_id: str | None = None
    on_final: Callable[[dict[str, Any]], Awaitable[None]] | None = None
    cancelled: Callable[[], Awaitable[bool]] | None = None


#: The hooks of an exchange the state has no part in (a Chat client over a responses upstream).
NO_HOOKS = ResponseHooks()


class Cancelled(Exception):
    """The exchange was cancelled (:attr:`ResponseHooks.cancelled`) while the upstream was being read."""
