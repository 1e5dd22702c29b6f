"""What waits for the open tool call's arguments to be complete JSON, as typed queue entries.

Output items are sequential, so while the open call's arguments have started but are not yet
complete JSON, whatever else arrives cannot open an item of its own: it waits, in arrival order, and
goes out as soon as they are complete (or the choice finishes).  An entry is one of these, or a
:class:`~translator.streams.chat_tool_calls.ChatCall` whose item could not open yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

from .chat_tool_calls import ChatCall

__all__ = ["Waiting", "WaitingAnnotations", "WaitingReasoning", "WaitingText"]


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
