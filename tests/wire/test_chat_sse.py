"""ChatSSEWriter: a ResponsesToChat's output as Chat SSE bytes, byte for byte the frames of ``feed()``.

The writer puts the texts of the translator's runs of plain deltas (``ResponsesToChat.feed_runs``)
straight into frame templates, without building their chunks.  The reference everywhere is the slow
way: ``chunk_frames`` of the chunks a second translator's ``feed()``/``close()`` return, then
``data: [DONE]`` unless an error chunk ended the stream.  The corpus streams are compared the same
way in ``tests/streams/test_responses_to_chat_corpus.py``.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.responses_events import (
    PATCH,
    USAGE,
    WIRE_ERROR,
    completed,
    created,
    custom_call,
    function_call,
    message,
    reasoning_summary,
)

from translator.engine.sse import DONE_FRAME, encode_sse
from translator.errors import InvalidChunkError, SSEError, TranslatorError
from translator.ids import SequentialIds, fixed_clock
from translator.protocol.mapping import responses_usage_to_chat
from translator.streams.responses_to_chat import ResponsesToChat
from translator.wire.chat_sse import ChatSSEWriter, chunk_frames, responses_stream_to_chat_sse


def translator(**options: Any) -> ResponsesToChat:
    return ResponsesToChat(ids=SequentialIds(), clock=fixed_clock(1), **options)


def reference(items: list[Any], **options: Any) -> bytes:
    """The slow way: every chunk of ``feed()``/``close()`` through ``chunk_frames``, then the [DONE] rule.

    An item that raises (a bad event) is recorded and the stream goes on, as with the writer.
    """
    slow = translator(**options)
    chunks: list[dict[str, Any]] = []
    for item in items:
        with contextlib.suppress(TranslatorError):
            chunks += slow.feed(item)
    chunks += slow.close()
    frames, failed = chunk_frames(chunks)
    return frames if failed else frames + DONE_FRAME


def written(items: list[Any], **options: Any) -> bytes:
    writer = ChatSSEWriter(translator(**options))
    out = []
    for item in items:
        with contextlib.suppress(TranslatorError):
            out.append(writer.feed(item))
    return b"".join([*out, writer.close()])


def body(events: list[dict[str, Any]]) -> bytes:
    return b"".join(encode_sse(event, event=event["type"]) for event in events)


def stream() -> list[dict[str, Any]]:
    """Reasoning, text, a function call and a custom call: runs of every shape."""
    return [
        *created(),
        *reasoning_summary(0, ["think"]),
        *message(1, "one two three"),
        *function_call(2, "call_1", "f", '{"a":1}', deltas=['{"a"', ":1", "}"]),
        *custom_call(3, "call_2", "apply_patch", PATCH),
        completed(),
    ]


def test_the_writer_writes_the_frames_of_feed_and_ends_once() -> None:
    events = stream()
    events[12] = {**events[12], "delta": "two \ud83d"}  # a lone surrogate in a streaming delta
    writer = ChatSSEWriter(translator())
    out = b"".join(writer.feed(event) for event in events) + writer.close()
    assert out == reference(events)
    assert out.endswith(b"\n\n" + DONE_FRAME)
    # the half no other half followed goes out with the next text, repaired as encode_sse repairs it
    assert "two " in out.decode() and "\ufffd" in out.decode()
    assert writer.close() == b"" and writer.feed(completed()) == b""  # [DONE] is written once
    assert not writer.failed and writer.error is None
    assert writer.usage == responses_usage_to_chat(USAGE)
    assert writer.usage["total_tokens"] == 130


@pytest.mark.parametrize("read_size", [1, 5, 64, 1 << 20])
def test_sse_bytes_in_any_reads_give_the_frames_of_feed(read_size: int) -> None:
    data = body(stream())
    reads = [data[i : i + read_size] for i in range(0, len(data), read_size)]
    assert written(reads) == reference(reads) == reference(stream())


def test_the_writer_ends_with_the_error_frame_and_no_done() -> None:
    writer = ChatSSEWriter(translator())
    out = b"".join(writer.feed(e) for e in [*created(), *message(0, "partial"), WIRE_ERROR])
    assert out.endswith(b"\n\n") and out.split(b"\n\n")[-2].startswith(b"event: error\ndata: ")
    assert out == reference([*created(), *message(0, "partial"), WIRE_ERROR])
    assert writer.failed and writer.error == WIRE_ERROR["error"]
    assert writer.feed(completed()) == b"" and writer.close() == b""


def test_a_stream_cut_before_its_end_closes_with_the_error_frame() -> None:
    events = [*created(), *message(0, "partial")[:4]]
    writer = ChatSSEWriter(translator())
    out = writer.feed(body(events))
    end = writer.close()
    assert end.startswith(b"event: error\ndata: ") and DONE_FRAME not in end
    assert writer.error is not None and writer.error["code"] == "stream_incomplete"
    assert out + end == reference(events)


def test_a_bad_event_inside_a_run_keeps_what_came_before_it() -> None:
    """The run before the bad event is held back (as chunks) and written by the next call."""
    events = [*created(), *message(0, "a b c d e f"), completed()]
    events[6] = {**events[6], "delta": 5}  # the third delta of the run is not a string
    writer = ChatSSEWriter(translator())
    with pytest.raises(InvalidChunkError, match="delta must be a string"):
        writer.feed(body(events))
    end = writer.close()
    assert b'"content":"b "' in end  # the two deltas before the bad one, held back
    assert end.split(b"\n\n")[-2].startswith(b"event: error\ndata: ")
    assert end == reference([body(events)])


def test_a_bad_frame_in_a_read_keeps_the_runs_decoded_before_it() -> None:
    events = [*created(), *message(0, "a b c d"), completed()]
    data = body(events[:6]) + b"data: {not json\n\n" + body(events[6:])
    writer = ChatSSEWriter(translator())
    with pytest.raises(SSEError):
        writer.feed(data)
    end = writer.close()
    assert b'"content":"a "' in end and b'"content":"b "' in end
    assert end == reference([data])


def test_feed_runs_is_feed_with_each_run_in_one_piece() -> None:
    data = body(stream())
    fast, slow = translator(), translator()
    runs = fast.feed_runs(data) + fast.close()
    assert [item for item in runs if isinstance(item, tuple)]  # the deltas did come as runs
    chunks = []
    for item in runs:
        if isinstance(item, tuple):
            shape, texts = item
            chunks += [fast.delta_chunk(shape, text) for text in texts]
        else:
            chunks.append(item)
    assert chunks == slow.feed(data) + slow.close()


def test_the_usage_written_is_the_last_one() -> None:
    writer = ChatSSEWriter(translator(include_usage=False))
    writer.feed(body([*created(), *message(0, "hi"), completed()]))
    writer.close()
    assert writer.usage is None  # no usage chunk was written
    writer = ChatSSEWriter(translator())
    writer.feed(body([*created(), *message(0, "hi"), completed(usage={**USAGE, "output_tokens": 7})]))
    writer.close()
    assert writer.usage is not None and writer.usage["completion_tokens"] == 7


def test_the_deprecated_translator_methods_write_through_the_writer() -> None:
    events = stream()
    legacy = translator()
    with pytest.warns(DeprecationWarning, match=r"feed_sse\(\) is deprecated.*ChatSSEWriter"):
        out = b"".join(legacy.feed_sse(event) for event in events)
    with pytest.warns(DeprecationWarning, match=r"close_sse\(\) is deprecated"):
        out += legacy.close_sse()
    assert out == reference(events)
    with pytest.warns(DeprecationWarning):
        assert legacy.close_sse() == b""  # [DONE] is written once


# -- generated streams, cut anywhere ------------------------------------------------------------------

#: Texts with lone surrogates now and then (st.text leaves them out): an upstream that cut an emoji.
texts = st.lists(
    st.characters(codec="utf-8") | st.sampled_from(["\n", '"', "\\", "a", "b", "c", "\ud83d", "\ude00"]),
    min_size=1,
    max_size=6,
).map("".join)
LOGPROB = [{"token": "t", "logprob": -0.5, "bytes": [116], "top_logprobs": []}]


@st.composite
def items(draw: st.DrawFn, oi: int) -> list[dict[str, Any]]:
    """One output item: a message (some deltas with logprobs), a call, a custom call or reasoning."""
    kind = draw(st.sampled_from(["message", "function_call", "custom_call", "reasoning"]))
    pieces = draw(st.lists(texts, min_size=1, max_size=6))
    text = "".join(pieces)
    if kind == "message":
        events = message(oi, text, deltas=pieces)
        for n in draw(st.lists(st.integers(0, len(pieces) - 1), max_size=2)):
            events[2 + n] = {**events[2 + n], "logprobs": LOGPROB}  # takes that delta out of its run
        return events
    if kind == "function_call":
        return function_call(oi, f"call_{oi}", "f", text, deltas=pieces)
    if kind == "custom_call":
        return custom_call(oi, f"call_{oi}", "apply_patch", text, pieces=pieces)
    return reasoning_summary(oi, pieces)


def escaped_body(events: list[dict[str, Any]]) -> bytes:
    """Events as frames whose JSON escapes non-ASCII (``\\ud83d``: lone surrogates reach the decoder)."""
    frames = (f"event: {e['type']}\ndata: {json.dumps(e, separators=(',', ':'))}\n\n" for e in events)
    return "".join(frames).encode()


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    events = created()
    for oi in range(draw(st.integers(1, 4))):
        events += draw(items(oi))
    events += draw(st.sampled_from([[completed()], [WIRE_ERROR], []]))  # completed, failed, cut
    data = escaped_body(events)
    cuts = draw(st.lists(st.integers(0, len(data)), max_size=12))
    return data, sorted(set(cuts))


@settings(max_examples=150, deadline=None)
@given(streams())
def test_generated_streams_cut_anywhere_give_the_frames_of_feed(case: tuple[bytes, list[int]]) -> None:
    data, cuts = case
    reads = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    expected = reference([data])
    assert written(reads) == expected
    assert reference(reads) == expected  # (the slow way does not depend on the reads either)
    wrapped = responses_stream_to_chat_sse(reads, ids=SequentialIds(), clock=fixed_clock(1))
    assert b"".join(wrapped) == expected
