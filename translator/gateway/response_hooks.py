"""What the Responses state asks of a translated exchange: the fields to echo, the id to use, and storing the
final response before its terminal event leaves.

The state (:mod:`translator.gateway.responses_state`) builds these; the bridge
(:mod:`translator.gateway.bridge`) honours them.  Neither imports the other.  (A background run is
cancelled by cancelling its task: :mod:`translator.gateway.background_runs`.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["NO_HOOKS", "ResponseHooks"]


@dataclass(slots=True)
class ResponseHooks:
    """What the response state adds to a Responses exchange over a chat upstream.

    ``fields``: Response fields to echo besides the request's (``previous_response_id``,
    ``background``); ``response_id``: the id the response must have (a background response was
    announced before it ran); ``on_final``: awaited with the final response *before* its terminal
    event leaves, so a client that continues from it at once finds it stored; ``interrupt``: asked after
    every upstream read (so it must be cheap), true stops reading there: the response ends ``incomplete``
    with ``incomplete_details.reason = "steered"`` (a WebSocket client steered it,
    :mod:`translator.gateway.steering`) and the upstream request is closed.
    """

    fields: dict[str, Any] = field(default_factory=dict)
    response_id: str | None = None
    on_final: Callable[[dict[str, Any]], Awaitable[None]] | None = None
    interrupt: Callable[[], bool] | None = None


#: The hooks of an exchange the state has no part in (a Chat client over a responses upstream).
NO_HOOKS = ResponseHooks()
