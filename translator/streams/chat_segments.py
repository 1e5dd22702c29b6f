"""What a :class:`~translator.streams.responses_to_chat.ResponsesToChat` has sent, in segments.

Every text-like thing the Chat client is sent is a *segment* keyed ``(output_index, kind, sub_index)``:
one text part, refusal, reasoning summary part or reasoning text part, or one call's argument string.
A segment remembers what was sent (so a snapshot sends only what is missing); a :class:`Call` is what
a function or custom tool call item became in ``tool_calls``; the :class:`HotSegment` is the segment
that sent text last, whose plain deltas the translator's per-event path sends without the handlers.

The shapes of a delta (:data:`DeltaShape`) are what a writer keys its frame templates on: the chunk a
delta becomes is ``ResponsesToChat.delta_chunk(shape, text)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

__all__ = [
    "ARGS",
    "CALL_TYPES",
    "CUSTOM_FORMS",
    "RAW",
    "REASONING",
    "REFUSAL",
    "TEXT",
    "Call",
    "DeltaShape",
    "HotRun",
    "HotSegment",
    "Segment",
    "call_text",
    "delta_event",
    "part_text",
]

# Segment kinds: which delta field a segment feeds.
TEXT, REFUSAL, REASONING, ARGS = "content", "refusal", "reasoning", "arguments"

#: Sub-index offset of raw ``reasoning_text`` parts, so they never share a key with the summary
#: parts (``summary_index``) of the same reasoning item: both feed the reasoning field.
RAW = 1 << 20

#: Output item types that become ``tool_calls`` entries.
CALL_TYPES = frozenset({"function_call", "custom_tool_call"})

#: ``custom_tool_calls`` option -> (delta ``type`` and key of the inner object, its text field).
CUSTOM_FORMS = {"function": ("function", "arguments"), "custom": ("custom", "input")}

#: Where a delta's text goes in its chunk: a ``delta`` field (``"content"``, ``"refusal"``, the
#: reasoning field), or ``(index, kind, text key)`` of a ``tool_calls`` entry.  Equal shapes give
#: chunks that differ only in the text.
DeltaShape: TypeAlias = str | tuple[int, str, str]

#: A run of plain deltas of the hot segment: their shape and their texts, in order (see
#: ``ResponsesToChat.feed_runs``).
HotRun: TypeAlias = tuple[DeltaShape, list[str]]


@dataclass(slots=True)
class Segment:
    """What was sent for one text part, summary part, refusal or argument string."""

    pieces: list[str] = field(default_factory=list)  #: invariant: "".join(pieces) == text sent
    logprobs: int = 0  #: logprob entries sent
    annotations: int = 0  #: annotations seen (sent or dropped), by ``annotation_index``
    offset: int = 0  #: where this segment starts in the joined ``content`` (annotation offsets)
    #: a high surrogate that ended the last delta, held for the low half (:mod:`translator.engine.surrogates`)
    held: str = ""

    def sent(self) -> str:
        if len(self.pieces) > 1:
            self.pieces[:] = ["".join(self.pieces)]
        return self.pieces[0] if self.pieces else ""


@dataclass(slots=True)
class Call:
    """A function_call or custom_tool_call item turned into ``tool_calls[index]``."""

    index: int = -1  #: position in ``message.tool_calls``, given when the call opens
    call_id: str | None = None
    name: str | None = None
    kind: str = "function"  #: delta ``type`` and key of the inner object (``function``/``custom``)
    text_key: str = "arguments"  #: the inner object's text field (``arguments``/``input``)
    delta_type: str = "response.function_call_arguments.delta"  #: the event type of its deltas
    opened: bool = False  #: the first delta (id, type, name) was sent
    pending: list[str] = field(default_factory=list)  #: argument deltas seen before the call was opened
    finished: bool = False  #: its ``output_item.done`` arrived (the upstream finished the call)


@dataclass(slots=True)
class HotSegment:
    """The segment that sent text last, and what its next *plain* delta event looks like.

    A plain delta has this ``type``, this ``output_index``, this sub-index (when there is one) and no
    logprobs: it only appends its text to the segment, so the translator sends it without the handlers
    (``ResponsesToChat._take_run``).  Made again whenever another segment sends text.
    """

    event_type: str  #: the ``type`` of its delta events
    output_index: int
    sub_field: str | None  #: the event field of its sub-index (``content_index``...); None for arguments
    sub_index: int
    pieces: list[str]  #: the segment's ``pieces``: a plain delta appends its text there
    content: bool  #: its text counts towards the length of ``content`` (annotation offsets)
    shape: DeltaShape  #: where its text goes in a chunk


#: Segment kind -> the event type of its deltas and the field of its sub-index.
_DELTA_EVENTS = {
    TEXT: ("response.output_text.delta", "content_index"),
    REFUSAL: ("response.refusal.delta", "content_index"),
    REASONING: ("response.reasoning_summary_text.delta", "summary_index"),
}
_RAW_REASONING = ("response.reasoning_text.delta", "content_index")


def delta_event(kind: str, sub: int) -> tuple[str, str, int]:
    """The delta event type, sub-index field and sub-index of segment ``(_, kind, sub)``."""
    if kind == REASONING and sub >= RAW:
        return (*_RAW_REASONING, sub - RAW)
    return (*_DELTA_EVENTS[kind], sub)


def call_text(item: dict[str, Any]) -> Any:
    """A call item's text: ``input`` of a custom_tool_call, ``arguments`` of a function_call."""
    return item.get("input" if item.get("type") == "custom_tool_call" else "arguments")


def part_text(parts: Any, n: int, key: str) -> Any:
    """``parts[n][key]`` when ``parts`` is a list holding an object there, else ``None``."""
    if isinstance(parts, list) and 0 <= n < len(parts) and isinstance(parts[n], dict):
        return parts[n].get(key)
    return None
