"""Reading a Responses WebSocket in tests: every message validated against the SDK's server event types.

``read_response`` reads one response's events from an SDK connection (``client.responses.connect()``,
sync or async) until its terminal event, checking each message with ``ResponsesServerEvent`` (strictly:
a pydantic validation, not the SDK's unchecked ``parse_event``) and the response's sequence numbers
(from 0, one apart); the events that are not the response's own (steering events, ``error``) are kept
apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from openai.types.responses.responses_server_event import ResponsesServerEvent
from pydantic import TypeAdapter

from .sdk import accumulate_with_sdk, validate_responses_events

__all__ = ["TERMINAL", "Read", "read_response", "validate_server_event"]

TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
_SERVER_EVENT: TypeAdapter[Any] = TypeAdapter(ResponsesServerEvent)


def validate_server_event(raw: bytes | str) -> dict[str, Any]:
    """One WebSocket message: JSON, and a valid ``ResponsesServerEvent``; returns it as a dict."""
    event = orjson.loads(raw)
    assert isinstance(event, dict), event
    try:
        _SERVER_EVENT.validate_python(event)
    except Exception as exc:  # pragma: no cover - the message is the point
        raise AssertionError(
            f"{event.get('type')} does not validate as a ResponsesServerEvent: {exc}"
        ) from exc
    return event


@dataclass
class Read:
    """One response read from a socket: its events, the other events seen meanwhile, its final response."""

    events: list[dict[str, Any]] = field(default_factory=list)
    others: list[dict[str, Any]] = field(default_factory=list)

    @property
    def final(self) -> dict[str, Any]:
        return dict(self.events[-1]["response"])

    @property
    def types(self) -> list[str]:
        return [event["type"] for event in self.events]

    def check(self) -> Read:
        """Sequence numbers from 0 over everything numbered in this response, the response's own events
        valid as a stream (and accumulated by the SDK to the same final response)."""
        own = [  # (a stream's error event comes in the WebSocket's shape, validated as such when read)
            {k: v for k, v in event.items() if k != "stream_id"}
            for event in self.events
            if event["type"] != "error"
        ]
        validate_responses_events(own)
        numbers = sorted(
            e["sequence_number"] for e in [*self.events, *self.others] if e.get("sequence_number") is not None
        )
        assert numbers == list(range(len(numbers))), numbers
        final = accumulate_with_sdk(own)
        assert final is not None and final.id == self.final["id"]
        return self


def read_response(connection: Any, *, stop_at_error: bool = True) -> Read:
    """Events of one response from a sync SDK connection, until its terminal event (or an ``error``
    event that ends it before it started, with ``stop_at_error``)."""
    read = Read()
    while True:
        event = validate_server_event(connection.recv_bytes())
        kind = event["type"]
        if kind.startswith("response.steer") or (kind == "error" and "status" in event):
            read.others.append(event)
            if kind == "error" and stop_at_error and not read.events:
                return read
            continue
        read.events.append(event)
        if kind in TERMINAL:
            return read
