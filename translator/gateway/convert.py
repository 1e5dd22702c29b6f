"""Client requests converted for the upstream's protocol, with every dropped parameter collected.

The gateway is lenient: a parameter with no equivalent upstream is dropped, never silently: each one
is reported to the client (``x-translator-dropped``) and in the log line.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..requests import DroppedParameterWarning, chat_request_to_responses, responses_request_to_chat

__all__ = ["Converted", "chat_to_responses_request", "responses_to_chat_request"]


@dataclass(slots=True)
class Converted:
    params: dict[str, Any]
    dropped: list[str] = field(default_factory=list)
    tool_map: dict[str, dict[str, str]] = field(default_factory=dict)


def _collecting(convert: Callable[[], dict[str, Any]]) -> Converted:
    # The conversion is synchronous (no await inside), so on the event loop's one thread the caught
    # warnings are this request's only.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DroppedParameterWarning)
        params = convert()
    dropped = [
        str(w.message).removesuffix(" (dropped)")
        for w in caught
        if issubclass(w.category, DroppedParameterWarning)
    ]
    return Converted(params, dropped)


def responses_to_chat_request(body: dict[str, Any]) -> Converted:
    """A Responses create request as Chat params for a chat upstream."""
    return _collecting(lambda: responses_request_to_chat(body, lenient=True))


def chat_to_responses_request(body: dict[str, Any]) -> Converted:
    """A Chat create request as Responses params for a responses upstream."""
    return _collecting(lambda: chat_request_to_responses(body, lenient=True))
