"""Responses events as SSE frames: ``event: <type>``, ``data: <compact JSON>``, blank line.

The one place a Responses stream is framed: the library wrapper, the CLI and the gateway's bridge and
relay write through it.  A Responses stream has no ``[DONE]``: its terminal event ends it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from ..engine.feed import drive
from ..engine.jsonio import dump_json
from ..engine.sse import EVENT_HEADS, encode_sse
from ..streams.chat_to_responses import ChatToResponses

__all__ = [
    "TERMINAL_EVENTS",
    "ResponsesSSEWriter",
    "chat_stream_to_responses_sse",
    "event_frame",
    "event_frames",
]

#: The event types that end a Responses stream.
TERMINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


def event_frame(event: dict[str, Any]) -> bytes:
    """One event as its frame (the ``event:`` line names its ``type``)."""
    return encode_sse(event, event=event["type"])


def event_frames(events: Iterable[dict[str, Any]]) -> bytes:
    """Several events as their frames, in order, in one ``bytes``.

    Byte for byte ``encode_sse(event, event=event["type"])`` of each, written in one loop (the
    frame heads come from ``encode_sse``'s own table): the per-event path of the Responses writers.
    """
    heads, dumps = EVENT_HEADS, orjson.dumps
    frames: list[bytes] = []
    for event in events:
        try:
            body = dumps(event)
        except TypeError:  # lone surrogates, big integers...: repaired as encode_sse repairs them
            body = dump_json(event)
        frames += (heads[event["type"]], body, b"\n\n")
    return b"".join(frames)


class ResponsesSSEWriter:
    """A :class:`ChatToResponses` whose output is SSE bytes: ``feed(item) -> bytes``, ``close() -> bytes``.

    ``final`` is the response of the terminal event once it was written (the gateway stores it before
    the bytes that end the stream leave).
    """

    __slots__ = ("final", "translator")

    def __init__(self, translator: ChatToResponses) -> None:
        self.translator = translator
        self.final: dict[str, Any] | None = None

    def feed(self, item: Any) -> bytes:
        events = self.translator.feed(item)
        return self._frames(events) if events else b""

    def close(self) -> bytes:
        return self._frames(self.translator.close())

    def _frames(self, events: list[dict[str, Any]]) -> bytes:
        last = events[-1] if events else None
        if last is not None and last["type"] in TERMINAL_EVENTS:
            self.final = last["response"]
        return event_frames(events)


def chat_stream_to_responses_sse(chunks: Iterable[Any], **options: Any) -> Iterator[bytes]:
    """Responses SSE frames, one per event, for a Chat chunk stream (see ``translate_chat_stream``)."""
    for event in drive(ChatToResponses(**options), chunks):
        yield event_frame(event)
