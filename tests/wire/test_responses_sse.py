"""ResponsesSSEWriter and event_frames: Responses events as frames, byte for byte ``encode_sse`` of each.

``event_frames`` writes a whole list in one loop (the per-event path of the gateway's bridge and of
the writer); the reference is ``encode_sse(event, event=event["type"])`` one event at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.corpus import corpus_params

from translator.engine.sse import EVENT_HEADS, StreamDecoder, encode_sse
from translator.ids import SequentialIds, fixed_clock
from translator.streams.chat_to_responses import ChatToResponses
from translator.wire.responses_sse import ResponsesSSEWriter, event_frame, event_frames


def one_by_one(events: list[dict[str, Any]]) -> bytes:
    return b"".join(encode_sse(event, event=event["type"]) for event in events)


def chat_payloads(path: Path) -> list[Any]:
    decoder = StreamDecoder()
    return decoder.feed(path.read_bytes()) + decoder.close()


@pytest.mark.parametrize("path", corpus_params("chat", "openai__*.sse"))
def test_the_writer_gives_the_frames_of_each_event(path: Path) -> None:
    translator = ChatToResponses(ids=SequentialIds(), clock=fixed_clock(0), choice=0)
    writer = ResponsesSSEWriter(ChatToResponses(ids=SequentialIds(), clock=fixed_clock(0), choice=0))
    events: list[dict[str, Any]] = []
    written = []
    for payload in chat_payloads(path):
        events += translator.feed(payload)
        written.append(writer.feed(payload))
    events += translator.close()
    written.append(writer.close())
    assert b"".join(written) == one_by_one(events) == event_frames(events)
    assert writer.final == events[-1]["response"]


def test_event_frames_repairs_what_orjson_refuses_as_encode_sse_does() -> None:
    events = [
        {"type": "response.output_text.delta", "delta": "half \ud83d"},  # a lone surrogate
        {"type": "response.custom", "n": 2**70},  # beyond 64 bits
        {"type": "response.output_text.delta", "delta": "plain"},
    ]
    assert event_frames(events) == one_by_one(events)
    assert b'"delta":"half \xef\xbf\xbd"' in event_frames(events)
    assert event_frames([]) == b""


def test_an_event_name_cannot_inject_lines() -> None:
    event = {"type": "response.x\r\nid: 7\ndata: injected"}
    frame = event_frames([event])
    assert frame == event_frame(event) == encode_sse(event, event=event["type"])
    assert frame.split(b"\n")[0] == b"event: response.xid: 7data: injected"
    assert frame.count(b"\n") == 3  # event line, data line, blank line


def test_the_frame_heads_are_kept_for_a_bounded_number_of_names() -> None:
    names = [f"response.generated_{n}" for n in range(300)]
    for name in names:
        assert event_frames([{"type": name}]) == b"event: " + name.encode() + b'\ndata: {"type":"' + (
            name.encode() + b'"}\n\n'
        )
    assert len(EVENT_HEADS) <= 256
