"""What waits for the open tool call's arguments to be complete JSON, as typed queue entries.

Output items are sequential, so while the open call's arguments have started but are not yet
complete JSON, whatever else arrives cannot open an item of its own: it waits, in arrival order, and
goes out as soon as they are complete (or the choice finishes).  An entry is one of these, or a
:class:`~translator.streams.chat_tool_calls.ChatCall` whose item could not open yet: because a call is
open, or because a call that started before it has not opened (the items keep the calls' order);
:func:`next_out` says which entry goes out next.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, TypeAlias

from .chat_tool_calls import CallTable, ChatCall

__all__ = ["Waiting", "WaitingAnnotations", "WaitingReasoning", "WaitingText", "next_out"]


@dataclass(frozen=True, slots=True)
class WaitingText:
    """Message text (``kind`` output_text) or refusal text (``kind`` refusal)."""

    kind: str
    text: str
    #: the text's logprobs, already in Responses form (converted when it arrived, so a bad entry
    #: raised then)
    logprobs: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class WaitingReasoning:
    """Reasoning text for the summary (``mode`` summary) or the reasoning text (``mode`` content)."""

    text: str
    mode: str


@dataclass(frozen=True, slots=True)
class WaitingAnnotations:
    """url_citation annotations (already Responses-shaped) for the message's text part."""

    annotations: list[dict[str, Any]]


#: One entry of the queue.
Waiting: TypeAlias = "WaitingText | WaitingReasoning | WaitingAnnotations | ChatCall"


def next_out(waiting: deque[Waiting], calls: CallTable) -> Waiting | None:
    """The entry of ``waiting`` (not empty) that goes out next, taken from the queue: the first, in
    arrival order; but a call that started after another whose item has not opened lets that one out
    first when it waits too, and else keeps waiting for its first fragment (``None``)."""
    entry = waiting[0]
    if entry.__class__ is ChatCall:
        earlier = calls.first_unopened(entry)
        if earlier is not entry:
            if earlier not in waiting:
                return None
            waiting.remove(earlier)
            return earlier
    return waiting.popleft()
