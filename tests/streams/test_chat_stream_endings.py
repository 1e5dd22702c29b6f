"""How a Chat stream ends, when it does not end well: cut frames, abnormal finish reasons, bad chunks,
error frames of every shape.  Whatever happens, what ``feed()`` returned plus ``close()`` is one whole
Responses stream: the official SDK's ``ResponseStreamState`` accepts it, our validator finds nothing,
and exactly one terminal event ends it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.chat_chunks import ChatChunks
from support.sdk import accumulate_with_sdk

from translator.cli import main
from translator.engine.sse import DONE, StreamDecoder
from translator.errors import InvalidChunkError, SSEError, TranslatorError
from translator.ids import SequentialIds, fixed_clock
from translator.streams.chat_to_responses import (
    ChatToResponses,
    atranslate_chat_stream,
    translate_chat_stream,
)
from translator.testing.validate import validate_responses_stream
from translator.wire.responses_sse import chat_stream_to_responses_sse

TERMINAL = ("response.completed", "response.incomplete", "response.failed")
OPTIONS: dict[str, Any] = {"clock": fixed_clock(1)}


chunk = ChatChunks(id="c1", created=7, model="m")


def sse(*payloads: Any) -> bytes:
    return b"".join(
        b"data: [DONE]\n\n" if p is DONE else b"data: " + orjson.dumps(p) + b"\n\n" for p in payloads
    )


USAGE = chunk(None, usage={"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7})
TEXT = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "Hello"}),
    chunk({"content": " world"}),
]
CALL = [
    chunk(
        {
            "tool_calls": [
                {"index": 0, "id": "call_a", "type": "function", "function": {"name": "f", "arguments": ""}}
            ]
        }
    ),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"x": '}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}),
]


def whole(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Check ``events`` is one whole stream for the SDK and the validator; its final response."""
    assert sum(e["type"] in TERMINAL for e in events) == 1 and events[-1]["type"] in TERMINAL
    assert events[0]["type"] == "response.created"
    assert validate_responses_stream(events) == []
    response = accumulate_with_sdk(events)
    assert response is not None and response.id == events[-1]["response"]["id"]
    return events[-1]["response"]


def feed_all(items: list[Any], **options: Any) -> tuple[list[dict[str, Any]], list[Exception]]:
    """Feed every item (catching typed errors, as a caller that goes on would), then close()."""
    translator = ChatToResponses(**{**OPTIONS, **options})
    events: list[dict[str, Any]] = []
    errors: list[Exception] = []
    for item in items:
        try:
            events += translator.feed(item)
        except TranslatorError as exc:
            errors.append(exc)
    events += translator.close()
    return events, errors


def stop_at_error(items: list[Any]) -> tuple[list[dict[str, Any]], TranslatorError | None]:
    """Feed until the first typed error, then close(): what a careful caller does."""
    translator = ChatToResponses(**OPTIONS)
    events: list[dict[str, Any]] = []
    error = None
    for item in items:
        try:
            events += translator.feed(item)
        except TranslatorError as exc:
            error = exc
            break
    return events + translator.close(), error


def text_of(response: dict[str, Any]) -> str:
    return "".join(
        part.get("text", "")
        for item in response["output"]
        if item["type"] == "message"
        for part in item["content"]
    )


# -- 1. a frame cut by the end of the input ----------------------------------------------------------------


def test_a_data_frame_cut_inside_its_json_is_discarded_and_the_stream_fails_saying_so() -> None:
    body = sse(*TEXT) + b'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"lo'
    events, errors = feed_all([body])
    assert errors == []
    response = whole(events)
    assert events[-1]["type"] == "response.failed"
    assert "inside a frame" in response["error"]["message"]
    assert text_of(response) == "Hello world"


def test_a_usage_frame_cut_after_finish_reason_keeps_the_finished_answer_without_usage() -> None:
    body = sse(*TEXT, chunk({}, "stop")) + b'data: {"id":"c1","choices":[],"usage":{"prompt_tok'
    events, errors = feed_all([body[:10], body[10:]])
    assert errors == []
    response = whole(events)
    assert events[-1]["type"] == "response.completed"
    assert response["usage"] is None and text_of(response) == "Hello world"


def test_a_whole_last_frame_without_its_blank_line_is_still_used() -> None:
    body = sse(*TEXT, chunk({}, "length")) + b"data: " + orjson.dumps(USAGE)
    events, _ = feed_all([body])
    response = whole(events)
    assert events[-1]["type"] == "response.incomplete" and response["usage"]["total_tokens"] == 7


def test_a_cut_inside_a_multibyte_character_at_the_end_is_discarded() -> None:
    body = sse(*TEXT) + 'data: {"choices":[{"index":0,"delta":{"content":"é'.encode()[:-1]
    decoder = StreamDecoder()
    decoder.feed(body)
    assert decoder.close() == [] and decoder.cut
    events, _ = feed_all([body])
    assert events[-1]["type"] == "response.failed"


STREAM = sse(*TEXT, *CALL, chunk({}, "tool_calls"), USAGE, DONE)


@pytest.mark.parametrize("end", range(0, len(STREAM) + 1, 7))
def test_every_cut_of_the_bytes_gives_exactly_one_terminal_event(end: int) -> None:
    events, errors = feed_all([STREAM[:end]])
    assert errors == []
    response = whole(events)
    finished = orjson.dumps(chunk({}, "tool_calls")) in STREAM[:end]  # its whole JSON arrived
    assert response["status"] == ("completed" if finished else "failed")


def test_wrappers_and_sse_writer_end_a_cut_stream_the_same_way() -> None:
    pieces = [STREAM[:100], STREAM[100:333]]
    sync = list(translate_chat_stream(pieces, ids=SequentialIds(), clock=fixed_clock(1)))

    async def source() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    async def collect() -> list[dict[str, Any]]:
        return [e async for e in atranslate_chat_stream(source(), ids=SequentialIds(), clock=fixed_clock(1))]

    frames = b"".join(chat_stream_to_responses_sse(pieces, ids=SequentialIds(), clock=fixed_clock(1)))
    decoder = StreamDecoder()
    written = decoder.feed(frames) + decoder.close()
    assert asyncio.run(collect()) == sync == written
    assert whole(sync)["status"] == "failed"


def test_cli_writes_the_terminal_event_for_a_cut_stream(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = tmp_path / "cut.sse"
    path.write_bytes(STREAM[:333])
    code = main(["translate", "--from", "chat", "--deterministic", str(path)])
    captured = capsysbinary.readouterr()
    decoder = StreamDecoder()
    events = decoder.feed(captured.out) + decoder.close()
    assert code == 0 and not decoder.cut
    assert whole(events)["status"] == "failed"
    assert b"inside a frame" in captured.err


# -- 4. finish reasons ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "status", "detail"),
    [
        ("stop", "completed", None),
        ("eos", "completed", None),
        ("STOP", "completed", None),
        ("length", "incomplete", "max_output_tokens"),
        ("max_tokens", "incomplete", "max_output_tokens"),
        ("content_filter", "incomplete", "content_filter"),
        ("SAFETY", "incomplete", "content_filter"),
        ("insufficient_system_resource", "failed", "resources"),
        ("abort", "failed", "aborted"),
        ("error", "failed", "error"),
        ("something_new", "failed", "does not know"),
    ],
)
def test_finish_reasons_end_the_response_by_the_table(reason: str, status: str, detail: str | None) -> None:
    events, _ = feed_all([*TEXT, chunk({}, reason), USAGE, DONE])
    response = whole(events)
    assert response["status"] == status and text_of(response) == "Hello world"
    assert response["usage"]["total_tokens"] == 7
    assert response["output"][0]["status"] == ("completed" if status == "completed" else "incomplete")
    if status == "incomplete":
        assert response["incomplete_details"] == {"reason": detail}
    if status == "failed":
        error_events = [e for e in events if e["type"] == "error"]
        assert [e["code"] for e in error_events] == [reason]
        assert reason in response["error"]["message"] and detail in response["error"]["message"]


def test_an_abnormal_finish_without_usage_fails_at_done() -> None:
    events, _ = feed_all([*CALL, chunk({}, "abort"), DONE])
    response = whole(events)
    assert response["status"] == "failed" and response["output"][0]["arguments"] == '{"x": 1}'


# -- 5. a typed error part way: nothing is lost -----------------------------------------------------------


def test_good_content_then_bad_tool_calls_in_one_delta_keeps_the_content() -> None:
    bad = chunk({"content": "kept", "tool_calls": "not a list"})
    events, error = stop_at_error([TEXT[0], bad, chunk({"content": "never"})])
    assert isinstance(error, InvalidChunkError) and error.index == 1 and "tool_calls" in str(error)
    response = whole(events)
    assert text_of(response) == "kept"
    assert "chunk 1" in response["error"]["message"]


def test_a_bad_frame_after_good_ones_in_one_read_loses_none_of_them() -> None:
    data = sse(*TEXT) + b"data: {not json}\n\n" + sse(chunk({"content": "after"}))
    translator = ChatToResponses(**OPTIONS)
    with pytest.raises(SSEError):
        translator.feed(data)
    events = translator.close()
    response = whole(events)
    assert text_of(response) == "Hello world" and response["status"] == "failed"


def test_a_bad_usage_on_the_first_chunk_still_starts_with_created() -> None:
    events, error = stop_at_error([chunk({"content": "x"}, usage="lots")])
    assert isinstance(error, InvalidChunkError)
    assert [e["type"] for e in events][:2] == ["response.created", "response.in_progress"]
    whole(events)


def test_feeding_on_after_an_error_delivers_the_held_events_first() -> None:
    events, errors = feed_all(
        [TEXT[0], chunk({"content": "a", "refusal": 5}), chunk({"content": "b"}), chunk({}, "stop")]
    )
    assert len(errors) == 1
    response = whole(events)
    assert text_of(response) == "ab" and response["status"] == "completed"


def test_bad_logprobs_do_not_open_an_empty_message() -> None:
    bad = chunk({"content": "x"})
    bad["choices"][0]["logprobs"] = {"content": [{"token": 3}]}
    events, error = stop_at_error([TEXT[0], *CALL, bad])
    assert isinstance(error, InvalidChunkError)
    response = whole(events)
    assert [item["type"] for item in response["output"]] == ["function_call"]


good_delta = st.one_of(
    st.builds(lambda t: {"content": t}, st.text(min_size=1, max_size=3)),
    st.builds(lambda t: {"reasoning_content": t}, st.text(min_size=1, max_size=3)),
    st.builds(lambda t: {"refusal": t}, st.text(min_size=1, max_size=3)),
    st.sampled_from(
        [
            {"tool_calls": [{"index": 0, "id": "c0", "function": {"name": "f", "arguments": "{"}}]},
            {"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]},
            {"tool_calls": [{"index": 1, "id": "c1", "function": {"name": "g", "arguments": "[1]"}}]},
            {"reasoning_details": [{"type": "reasoning.encrypted", "data": "xyz"}]},
        ]
    ),
)
bad_field = st.sampled_from(
    [
        {"tool_calls": "x"},
        {"tool_calls": [3]},
        {"refusal": 1},
        {"content": 2},
        {"audio": "pcm"},
        {"annotations": [{"type": "url_citation", "url_citation": 5}]},
        {"content": [{"type": "text", "text": "t"}, "junk"]},
        {"tool_calls": [{"index": "one"}]},
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    before=st.lists(good_delta, max_size=6),
    mixed=good_delta,
    bad=bad_field,
    after=st.lists(good_delta, max_size=3),
    as_bytes=st.booleans(),
    go_on=st.booleans(),
)
def test_after_any_typed_error_the_output_is_a_whole_stream(
    before: list[dict[str, Any]],
    mixed: dict[str, Any],
    bad: dict[str, Any],
    after: list[dict[str, Any]],
    as_bytes: bool,
    go_on: bool,
) -> None:
    chunks = [chunk(d) for d in before] + [chunk({**mixed, **bad})] + [chunk(d) for d in after]
    chunks.append(chunk({}, "stop"))
    items: list[Any] = (
        [sse(*chunks[: len(before) + 1]), sse(*chunks[len(before) + 1 :])] if as_bytes else chunks
    )
    if go_on:
        events, errors = feed_all(items)
    else:
        events, error = stop_at_error(items)
        errors = [error] if error else []
    assert errors and all(isinstance(e, InvalidChunkError) for e in errors)
    whole(events)


# -- 6. error frames of every shape -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        b'event: error\ndata: {"message": "overloaded", "code": 529}\n\n',
        b'data: {"object": "error", "message": "overloaded", "type": "BadRequestError", "code": 529}\n\n',
        b'error: {"code": 529, "message": "overloaded", "type": "server_error"}\n\n',
        b'event: error\ndata: {"error": {"message": "overloaded", "code": 529}}\n\n',
        b'data: {"error": "overloaded"}\n\n',
    ],
    ids=["event-error-flat", "object-error", "llama-cpp-error-line", "event-error-nested", "error-string"],
)
@pytest.mark.parametrize("split", [None, 5])
def test_error_frames_of_every_shape_fail_the_response(frame: bytes, split: int | None) -> None:
    body = sse(*TEXT) + frame + b"data: [DONE]\n\n"
    items = [body] if split is None else [body[i : i + split] for i in range(0, len(body), split)]
    events, errors = feed_all(items)
    assert errors == []
    response = whole(events)
    assert events[-1]["type"] == "response.failed" and "overloaded" in response["error"]["message"]
    assert text_of(response) == "Hello world"


def test_an_object_error_chunk_as_a_dict_fails_the_response() -> None:
    events, _ = feed_all(
        [*TEXT, {"object": "error", "message": "Out of memory", "type": "InternalServerError", "code": 500}]
    )
    response = whole(events)
    assert response["status"] == "failed" and response["error"]["message"] == "Out of memory"
    assert [e["code"] for e in events if e["type"] == "error"] == ["500"]


def test_an_error_as_the_first_frame_still_starts_with_created() -> None:
    events, _ = feed_all([b'error: {"code": 500, "message": "model not loaded"}\n\ndata: [DONE]\n\n'])
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "error",
        "response.failed",
    ]
    whole(events)


# -- 13 (CLI): a bad chunk still ends the output with a terminal event ------------------------------------


@pytest.mark.parametrize("bad", [b'data: {"choices": "nope", "model": "m"}\n\n', b"data: {nope\n\n"])
def test_cli_bad_chunk_writes_the_terminal_event_then_exits_3(
    bad: bytes, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = tmp_path / "bad.sse"
    path.write_bytes(sse(*TEXT) + bad + sse(chunk({"content": "never"}), chunk({}, "stop"), DONE))
    code = main(["translate", "--from", "chat", "--deterministic", str(path)])
    captured = capsysbinary.readouterr()
    decoder = StreamDecoder()
    events = decoder.feed(captured.out) + decoder.close()
    assert code == 3 and b"chunk 3" in captured.err
    response = whole(events)
    assert response["status"] == "failed" and "chunk 3" in response["error"]["message"]
    assert text_of(response) == "Hello world"


def test_wrappers_end_the_stream_before_raising_a_typed_error() -> None:
    items: list[Any] = [*TEXT, chunk({"content": 5}), chunk({"content": "never"})]
    sync: list[dict[str, Any]] = []
    with pytest.raises(InvalidChunkError):
        for event in translate_chat_stream(items, ids=SequentialIds(), clock=fixed_clock(1)):
            sync.append(event)

    async def source() -> AsyncIterator[Any]:
        for item in items:
            yield item

    async def collect() -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        with pytest.raises(InvalidChunkError):
            async for event in atranslate_chat_stream(source(), ids=SequentialIds(), clock=fixed_clock(1)):
                out.append(event)
        return out

    frames: list[bytes] = []
    with pytest.raises(InvalidChunkError):
        for frame in chat_stream_to_responses_sse(items, ids=SequentialIds(), clock=fixed_clock(1)):
            frames.append(frame)
    decoder = StreamDecoder()
    written = decoder.feed(b"".join(frames)) + decoder.close()
    assert asyncio.run(collect()) == sync == written
    response = whole(sync)
    assert "chunk 3" in response["error"]["message"] and text_of(response) == "Hello world"


def test_a_decoding_error_from_the_input_iterator_also_ends_the_stream() -> None:
    from translator.engine.sse import iter_sse

    payloads = iter_sse([sse(*TEXT), b"data: {bad json}\n\n"])
    events: list[dict[str, Any]] = []
    with pytest.raises(SSEError):
        for event in translate_chat_stream(payloads, **OPTIONS):
            events.append(event)
    assert whole(events)["status"] == "failed"
