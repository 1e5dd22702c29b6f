"""Tests for engine.sse: the incremental SSE/JSONL decoders, decode_payload, encode_sse, iter/aiter.

Cases follow httpx-sse ``tests/test_decoders.py`` (line endings, CR at a chunk boundary, U+2028/U+0085
not split), openai-python ``tests/test_streaming.py`` ('известни' split anywhere, sync/async twins)
and sse-starlette ``tests/test_event.py`` (writer as a table of exact bytes).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.corpus import corpus_params

from translator.engine.jsonio import dump_json
from translator.engine.sse import (
    DONE,
    DONE_FRAME,
    Done,
    JSONLDecoder,
    SSEDecoder,
    SSEEvent,
    StreamDecoder,
    aiter_sse,
    decode_payload,
    encode_sse,
    iter_sse,
)
from translator.errors import EncodeError, SSEError, TranslatorError

# --------------------------------------------------------------------------------------------------
# helpers


def split_at(data: bytes, points: Iterable[int]) -> list[bytes]:
    """``data`` cut at the (sorted, possibly repeated) byte offsets ``points``; empty pieces kept."""
    pieces = []
    last = 0
    for point in sorted(points):
        pieces.append(data[last:point])
        last = point
    pieces.append(data[last:])
    return pieces


def sse_events(chunks: Iterable[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.close()


def payloads(chunks: Iterable[bytes]) -> list[Any]:
    decoder = StreamDecoder()
    out: list[Any] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.close()


def jsonl_values(chunks: Iterable[bytes]) -> list[Any]:
    decoder = JSONLDecoder()
    out: list[Any] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.close()


def pieces_of(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def E(data: str, event: str | None = None, id: str | None = None, retry: int | None = None) -> SSEEvent:
    return SSEEvent(data=data, event=event, id=id, retry=retry)


# A small stream that exercises every line ending, a comment, event-before and event-after data, a
# multi-line data field, id/retry, multi-byte UTF-8 and a final event without its blank line.
MIXED_STREAM = (
    ": keep-alive\r\n"
    "\r\n"
    'event: response.created\r\ndata: {"n":1}\r\n\r\n'
    'data: {"t":"известни"}\revent: x\r\r'
    'id: 7\nretry: 250\ndata: {\ndata: "e": "🎉"}\n\n'
    ": OPENROUTER PROCESSING\n\n"
    'data: {"n":2}\r\n\n'
    "data: [DONE]\n"
).encode()

MIXED_EVENTS = [
    E('{"n":1}', event="response.created"),
    E('{"t":"известни"}', event="x"),
    E('{\n"e": "🎉"}', id="7", retry=250),
    E('{"n":2}', id="7"),
    E("[DONE]", id="7"),
]

MIXED_PAYLOADS = [
    {"n": 1, "type": "response.created"},
    {"t": "известни", "type": "x"},
    {"e": "🎉"},
    {"n": 2},
    DONE,
]


def test_mixed_stream_in_one_feed() -> None:
    assert sse_events([MIXED_STREAM]) == MIXED_EVENTS
    assert payloads([MIXED_STREAM]) == MIXED_PAYLOADS


# --------------------------------------------------------------------------------------------------
# line endings


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        pytest.param(b"data: a\n\ndata: b\n\n", [E("a"), E("b")], id="lf"),
        pytest.param(b"data: a\r\rdata: b\r\r", [E("a"), E("b")], id="cr"),
        pytest.param(b"data: a\r\n\r\ndata: b\r\n\r\n", [E("a"), E("b")], id="crlf"),
        pytest.param(b"data: a\r\ndata: b\rdata: c\n\r\n", [E("a\nb\nc")], id="mixed-one-event"),
        pytest.param(b"data: a\n\rdata: b\r\n\n", [E("a"), E("b")], id="lf-then-cr-is-two-line-ends"),
        pytest.param(b"data: a\r\n\ndata: b\n\r", [E("a"), E("b")], id="crlf-lf-and-lf-cr"),
        pytest.param(b"data: a\n\n\n\n\ndata: b\n\n", [E("a"), E("b")], id="extra-blank-lines"),
        pytest.param(b"\r\n\r\ndata: a\r\n\r\n", [E("a")], id="leading-blank-lines"),
    ],
)
def test_line_endings(stream: bytes, expected: list[SSEEvent]) -> None:
    assert sse_events([stream]) == expected
    assert sse_events(pieces_of(stream, 1)) == expected


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        # a CR ending one feed and the LF starting the next are one line end, not CR + blank line
        pytest.param([b"data: a\r", b"\ndata: b\r\n\r\n"], [E("a\nb")], id="cr|lf-inside-event"),
        pytest.param([b"data: a\r", b"", b"\ndata: b\r\n\r\n"], [E("a\nb")], id="cr|empty|lf"),
        pytest.param([b"data: a\r\n\r", b"\ndata: b\r\n\r\n"], [E("a"), E("b")], id="blank-crlf-split"),
        pytest.param([b"data: a\r", b"data: b\r\r"], [E("a\nb")], id="lone-cr-still-ends-line"),
        pytest.param([b"data: a\r", b"\r", b"\n", b"data: b\n\n"], [E("a"), E("b")], id="cr|cr|lf"),
        pytest.param([b"data: a\r", b"\n", b"\n"], [E("a")], id="only-one-lf-skipped"),
    ],
)
def test_cr_lf_across_feeds(chunks: list[bytes], expected: list[SSEEvent]) -> None:
    assert sse_events(chunks) == expected


def test_crlf_split_dispatches_on_the_lf_feed_not_later() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r\n\r") == [E("a")]  # the CR already ends the blank line
    assert decoder.feed(b"\n") == []  # its LF is swallowed, no second dispatch
    assert decoder.feed(b"data: b\n\n") == [E("b")]
    assert decoder.close() == []


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        pytest.param("data: a\u2028b\n\n".encode(), "a\u2028b", id="u2028"),
        pytest.param(
            "data: a\u2029b\u0085c\x0bd\x0ce\n\n".encode(), "a\u2029b\u0085c\x0bd\x0ce", id="u2029-nel-vt-ff"
        ),
    ],
)
def test_only_cr_and_lf_end_lines(stream: bytes, expected: str) -> None:
    assert sse_events([stream]) == [E(expected)]


# --------------------------------------------------------------------------------------------------
# splitting anywhere


@pytest.mark.parametrize("text", ["известни", "🎉 ok 🚀", "日本語"])
def test_multibyte_utf8_split_at_every_byte(text: str) -> None:
    stream = f'data: {{"t":"{text}"}}\n\n'.encode()
    expected = [E(f'{{"t":"{text}"}}')]
    for i in range(len(stream) + 1):
        assert sse_events(split_at(stream, [i])) == expected, i
        assert payloads(split_at(stream, [i])) == [{"t": text}], i
    assert sse_events(pieces_of(stream, 1)) == expected


def test_every_single_split_point_of_mixed_stream() -> None:
    for i in range(len(MIXED_STREAM) + 1):
        assert sse_events(split_at(MIXED_STREAM, [i])) == MIXED_EVENTS, i


def test_every_pair_of_split_points_of_small_stream() -> None:
    stream = b'event: e\r\ndata: {"t":"\xd0\xb8\xf0\x9f\x8e\x89"}\r\n\r\n: c\rdata: [DONE]\r'
    expected = [E('{"t":"и🎉"}', event="e"), E("[DONE]")]
    for i, j in itertools.combinations_with_replacement(range(len(stream) + 1), 2):
        assert sse_events(split_at(stream, [i, j])) == expected, (i, j)


def test_one_byte_at_a_time() -> None:
    assert sse_events(pieces_of(MIXED_STREAM, 1)) == MIXED_EVENTS
    assert payloads(pieces_of(MIXED_STREAM, 1)) == MIXED_PAYLOADS


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(MIXED_STREAM)), max_size=30))
def test_random_split_lists(points: list[int]) -> None:
    chunks = split_at(MIXED_STREAM, points)
    assert sse_events(chunks) == MIXED_EVENTS
    assert payloads(chunks) == MIXED_PAYLOADS


# --------------------------------------------------------------------------------------------------
# field parsing (WHATWG "interpret an event stream")


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        # comments
        pytest.param(b": keep-alive\n\ndata: a\n\n", [E("a")], id="comment-keep-alive"),
        pytest.param(
            b": OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\ndata: a\n\n",
            [E("a")],
            id="comment-openrouter",
        ),
        pytest.param(b"data: a\n:x\ndata: b\n\n", [E("a\nb")], id="comment-inside-event"),
        pytest.param(b":\n\n", [], id="bare-colon-comment"),
        # event before/after data
        pytest.param(b"event: e\ndata: a\n\n", [E("a", event="e")], id="event-before-data"),
        pytest.param(b"data: a\nevent: e\n\n", [E("a", event="e")], id="event-after-data"),
        pytest.param(b"event: a\nevent: b\ndata: x\n\n", [E("x", event="b")], id="last-event-wins"),
        pytest.param(b"event: e\ndata: a\n\ndata: b\n\n", [E("a", event="e"), E("b")], id="event-name-reset"),
        pytest.param(b"event:\ndata: a\n\n", [E("a")], id="empty-event-is-none"),
        pytest.param(b"event\ndata: a\n\n", [E("a")], id="event-without-colon"),
        # data
        pytest.param(b"data: a\ndata: b\ndata: c\n\n", [E("a\nb\nc")], id="multi-data-joined"),
        pytest.param(b"data:a\n\n", [E("a")], id="data-no-space"),
        pytest.param(b"data:  a\n\n", [E(" a")], id="only-one-space-stripped"),
        pytest.param(b"data: a \n\n", [E("a ")], id="trailing-space-kept"),
        pytest.param(b"data: a:b: c\n\n", [E("a:b: c")], id="colons-in-value"),
        pytest.param(b"data:\n\n", [E("")], id="empty-data"),
        pytest.param(b"data\n\n", [E("")], id="data-without-colon"),
        pytest.param(b"data\ndata\n\n", [E("\n")], id="two-data-without-colon"),
        pytest.param(b"data: a\ndata:\n\n", [E("a\n")], id="trailing-empty-data-line"),
        # id and retry
        pytest.param(b"id: 7\ndata: a\n\n", [E("a", id="7")], id="id"),
        pytest.param(b"id: 7\ndata: a\n\ndata: b\n\n", [E("a", id="7"), E("b", id="7")], id="id-persists"),
        pytest.param(b"id: 7\n\ndata: a\n\n", [E("a", id="7")], id="id-only-block-sets-id"),
        pytest.param(b"id: 7\ndata: a\n\nid\ndata: b\n\n", [E("a", id="7"), E("b", id="")], id="id-cleared"),
        pytest.param(
            b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n", [E("a", id="1"), E("b", id="1")], id="id-nul"
        ),
        pytest.param(b"retry: 3000\ndata: a\n\n", [E("a", retry=3000)], id="retry"),
        pytest.param(b"retry: 5\ndata: a\n\ndata: b\n\n", [E("a", retry=5), E("b")], id="retry-per-event"),
        pytest.param(b"retry: 3s\ndata: a\n\n", [E("a")], id="retry-not-digits"),
        pytest.param(b"retry: -1\ndata: a\n\n", [E("a")], id="retry-negative"),
        pytest.param(b"retry:\ndata: a\n\n", [E("a")], id="retry-empty"),
        pytest.param("retry: ²\ndata: a\n\n".encode(), [E("a")], id="retry-superscript-digit"),
        pytest.param("retry: ١٢\ndata: a\n\n".encode(), [E("a")], id="retry-arabic-digits"),
        # unknown and malformed field names are ignored
        pytest.param(b"foo: bar\ndata: a\nfoo\n\n", [E("a")], id="unknown-field"),
        pytest.param(b"DATA: a\nData: b\n\n", [], id="field-names-case-sensitive"),
        pytest.param(b" data: a\n\n", [], id="leading-space-in-name"),
        pytest.param(b"data : a\n\n", [], id="space-before-colon"),
        # empty blocks are not dispatched
        pytest.param(b"\n\n\n", [], id="blank-lines-only"),
        pytest.param(b": c\n\n: d\n\n", [], id="comments-only"),
        pytest.param(b"foo: x\n\n", [], id="unknown-field-only"),
        pytest.param(b"id: 1\n\nretry: 5\n\n", [], id="id-and-retry-only"),
        # byte order mark: one, at the very start only
        pytest.param(b"\xef\xbb\xbfdata: a\n\n", [E("a")], id="bom-stripped"),
        pytest.param(b"\xef\xbb\xbf\ndata: a\n\n", [E("a")], id="bom-then-blank-line"),
        pytest.param(b"data: a\n\n\xef\xbb\xbfdata: b\n\n", [E("a")], id="bom-later-is-not-stripped"),
    ],
)
def test_fields(stream: bytes, expected: list[SSEEvent]) -> None:
    assert sse_events([stream]) == expected
    assert sse_events(pieces_of(stream, 1)) == expected


def test_event_without_data_gives_no_payload() -> None:
    assert payloads([b"event: ping\n\ndata: {}\n\n"]) == [{}]
    assert payloads([b"data:\n\nevent: ping\ndata:\n\n"]) == []


# --------------------------------------------------------------------------------------------------
# close()


@pytest.mark.parametrize(
    ("chunks", "from_feed", "from_close"),
    [
        pytest.param([b"data: a\n"], [], [E("a")], id="no-blank-line"),
        pytest.param([b"data: a"], [], [E("a")], id="no-line-end"),
        pytest.param([b"data: a\r"], [], [E("a")], id="trailing-cr"),
        pytest.param([b"data: a\nevent: e"], [], [E("a", event="e")], id="unterminated-event-field"),
        pytest.param([b"data: a\n\n: keep-alive"], [E("a")], [], id="trailing-comment"),
        pytest.param([b"data: a\n\n"], [E("a")], [], id="complete-stream"),
        pytest.param([], [], [], id="nothing-fed"),
        pytest.param(
            # corpus chat/anthropic_compat__text_then_tool_call_index_1.sse ends like this
            [b'data: {"a":1}\n\ndata: [DONE]\n'],
            [E('{"a":1}')],
            [E("[DONE]")],
            id="done-without-blank-line",
        ),
    ],
)
def test_close_flushes(chunks: list[bytes], from_feed: list[SSEEvent], from_close: list[SSEEvent]) -> None:
    decoder = SSEDecoder()
    fed = [event for chunk in chunks for event in decoder.feed(chunk)]
    assert fed == from_feed
    assert decoder.close() == from_close


def test_done_without_blank_line_through_stream_decoder() -> None:
    stream = b'data: {"a":1}\n\ndata: [DONE]\n'
    assert payloads([stream]) == [{"a": 1}, DONE]
    assert list(iter_sse([stream])) == [{"a": 1}, DONE]


# --------------------------------------------------------------------------------------------------
# invalid UTF-8


@pytest.mark.parametrize(
    ("chunks", "line"),
    [
        pytest.param([b"data: \xff\n\n"], 1, id="first-line"),
        pytest.param([b"data: {}\n\ndata: \xc3(\n\n"], 3, id="third-line"),
        pytest.param([b": ok\r\n: \xff\r\n"], 2, id="in-comment-crlf"),
        pytest.param([b"data: a\r", b"\ndata: \xe2\x82\n\n"], 2, id="crlf-split-counts-once"),
        pytest.param([b"data: a\n\n", b"data: \xf0\x9f\x8e"], 3, id="truncated-at-close"),
    ],
)
def test_invalid_utf8_names_line(chunks: list[bytes], line: int) -> None:
    with pytest.raises(SSEError) as info:
        sse_events(chunks)
    assert info.value.line == line
    assert f"line {line}: " in str(info.value)
    assert "invalid UTF-8" in str(info.value)
    assert isinstance(info.value, TranslatorError)


def test_invalid_utf8_through_stream_decoder() -> None:
    with pytest.raises(SSEError, match=r"line 2: invalid UTF-8"):
        payloads([b'data: {"a":1}\ndata: \xff\n\n'])


# --------------------------------------------------------------------------------------------------
# decode_payload


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param(E('{"a":1}'), {"a": 1}, id="object"),
        pytest.param(E('{"a":{"b":[1,null,true]}}'), {"a": {"b": [1, None, True]}}, id="nested"),
        pytest.param(E('{\n"a": 1\n}'), {"a": 1}, id="multi-line-json"),
        pytest.param(E("[DONE]"), DONE, id="done"),
        pytest.param(E("[DONE]", event="done"), DONE, id="done-with-event"),
        pytest.param(E(""), None, id="empty"),
        pytest.param(E("", event="ping"), None, id="empty-with-event"),
        pytest.param(E("{}", event="response.created"), {"type": "response.created"}, id="event-into-type"),
        pytest.param(E('{"type":"a","x":1}', event="b"), {"type": "a", "x": 1}, id="type-kept"),
        pytest.param(
            E('{"error":{"message":"m"}}', event="error"), {"error": {"message": "m"}}, id="error-no-type"
        ),
        pytest.param(
            E('{"type":"error","code":"x"}', event="error"), {"type": "error", "code": "x"}, id="error-typed"
        ),
        pytest.param(E('{"t":"известни 🎉"}'), {"t": "известни 🎉"}, id="unicode"),
    ],
)
def test_decode_payload(event: SSEEvent, expected: object) -> None:
    result = decode_payload(event)
    assert result == expected
    if expected is DONE:
        assert result is DONE


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param("{bad", r"invalid JSON in data field: .*'\{bad'", id="broken-object"),
        pytest.param('{"a":1', r"invalid JSON in data field", id="truncated"),
        pytest.param("hello", r"invalid JSON in data field: .*'hello'", id="plain-text"),
        pytest.param("[DONE] ", r"invalid JSON", id="done-with-space"),
        pytest.param("[1,2]", r"not an object: '\[1,2\]'", id="array"),
        pytest.param("42", r"not an object: '42'", id="number"),
        pytest.param('"s"', r"not an object", id="string"),
        pytest.param("null", r"not an object: 'null'", id="null"),
        pytest.param("true", r"not an object", id="bool"),
    ],
)
def test_decode_payload_errors(data: str, message: str) -> None:
    with pytest.raises(SSEError, match=message) as info:
        decode_payload(E(data))
    assert info.value.line is None


def test_decode_payload_error_message_is_truncated() -> None:
    with pytest.raises(SSEError) as info:
        decode_payload(E("x" * 1000))
    assert "x" * 80 in str(info.value)
    assert "x" * 81 not in str(info.value)


def test_done_is_a_singleton() -> None:
    assert Done() is DONE
    assert repr(DONE) == "DONE"
    assert DONE_FRAME == b"data: [DONE]\n\n"


# --------------------------------------------------------------------------------------------------
# JSONLDecoder


JSONL = b'{"a":1}\n\n  \n{"b":"\xd0\xb8"}\r\n[DONE]\n'


def test_jsonl_values() -> None:
    assert jsonl_values([JSONL]) == [{"a": 1}, {"b": "и"}, DONE]
    assert jsonl_values([JSONL])[-1] is DONE


def test_jsonl_every_split_point() -> None:
    expected = [{"a": 1}, {"b": "и"}, DONE]
    for i, j in itertools.combinations_with_replacement(range(len(JSONL) + 1), 2):
        assert jsonl_values(split_at(JSONL, [i, j])) == expected, (i, j)


def test_jsonl_feed_returns_completed_lines_only() -> None:
    decoder = JSONLDecoder()
    assert decoder.feed(b'{"a"') == []
    assert decoder.feed(b":1}") == []
    assert decoder.feed(b'\n{"b":2}') == [{"a": 1}]
    assert decoder.close() == [{"b": 2}]  # last line without its LF
    assert decoder.close() == []


def test_jsonl_non_object_values_pass_through() -> None:
    assert jsonl_values([b"[1,2]\n3\n"]) == [[1, 2], 3]


@pytest.mark.parametrize(
    ("chunks", "line"),
    [
        pytest.param([b"{bad\n"], 1, id="first"),
        pytest.param([b'{"a":1}\n\n{"b":\n'], 3, id="after-blank-line"),
        pytest.param([b'{"a":1}\n', b"\n", b"nope"], 3, id="at-close"),
        pytest.param([b'{"a":1}\n{"b":"\xff"}\n'], 2, id="invalid-utf8"),
        pytest.param([b"data: {}\n"], 1, id="sse-line"),
    ],
)
def test_jsonl_bad_json_names_line(chunks: list[bytes], line: int) -> None:
    with pytest.raises(SSEError, match=rf"^line {line}: invalid JSON") as info:
        jsonl_values(chunks)
    assert info.value.line == line


# --------------------------------------------------------------------------------------------------
# StreamDecoder: SSE or JSONL, sniffed on the first non-blank byte


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        pytest.param(b'data: {"a":1}\n\n', [{"a": 1}], id="sse"),
        pytest.param(b'\n\r\n  \ndata: {"a":1}\n\n', [{"a": 1}], id="sse-leading-whitespace"),
        pytest.param(b': ping\n\ndata: {"a":1}\n\n', [{"a": 1}], id="sse-comment-first"),
        pytest.param(b'event: e\ndata: {"a":1}\n\n', [{"a": 1, "type": "e"}], id="sse-event-first"),
        pytest.param(b"\xef\xbb\xbfdata: {}\n\n", [{}], id="sse-bom"),
        pytest.param(b'{"a":1}\n{"b":2}\n', [{"a": 1}, {"b": 2}], id="jsonl"),
        pytest.param(b' \t\r\n\n{"a":1}\n', [{"a": 1}], id="jsonl-leading-whitespace"),
        pytest.param(b'{"a":1}\n[DONE]\n', [{"a": 1}, DONE], id="jsonl-done"),
        pytest.param(b"[DONE]\n", [DONE], id="jsonl-starting-with-bracket"),
        pytest.param(b"", [], id="empty"),
        pytest.param(b" \n\r\n\t", [], id="whitespace-only"),
    ],
)
def test_stream_decoder_sniffs(stream: bytes, expected: list[Any]) -> None:
    assert payloads([stream]) == expected
    assert payloads(pieces_of(stream, 1)) == expected


def test_stream_decoder_holds_whitespace_until_it_can_sniff() -> None:
    decoder = StreamDecoder()
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\n ") == []
    assert decoder.feed(b'{"a"') == []
    assert decoder.feed(b":1}\n") == [{"a": 1}]
    assert decoder.close() == []


def test_stream_decoder_sniffs_once() -> None:
    # once JSONL was chosen, an SSE line is bad JSON; once SSE was chosen, a JSON line is an unknown field
    jsonl = StreamDecoder()
    assert jsonl.feed(b'{"a":1}\n') == [{"a": 1}]
    with pytest.raises(SSEError, match=r"line 2: invalid JSON"):
        jsonl.feed(b"data: {}\n")
    sse = StreamDecoder()
    assert sse.feed(b"data: {}\n\n") == [{}]
    assert sse.feed(b'{"a":1}\n\n') == []


def test_stream_decoder_rejects_non_object_jsonl() -> None:
    with pytest.raises(SSEError, match=r"JSON line is not an object: \[1, 2\]"):
        payloads([b"[1,2]\n"])


def test_stream_decoder_close_without_input() -> None:
    assert StreamDecoder().close() == []


# --------------------------------------------------------------------------------------------------
# encode_sse


@pytest.mark.parametrize(
    ("payload", "event", "expected"),
    [
        pytest.param({"a": 1}, None, b'data: {"a":1}\n\n', id="data-only"),
        pytest.param({}, None, b"data: {}\n\n", id="empty-object"),
        pytest.param(
            {"a": [1, 2], "b": {"c": None, "d": True}},
            None,
            b'data: {"a":[1,2],"b":{"c":null,"d":true}}\n\n',
            id="compact-nested",
        ),
        pytest.param(
            {"type": "response.created"},
            "response.created",
            b'event: response.created\ndata: {"type":"response.created"}\n\n',
            id="with-event",
        ),
        pytest.param(DONE, None, b"data: [DONE]\n\n", id="done"),
        pytest.param(DONE, "ignored", b"data: [DONE]\n\n", id="done-ignores-event"),
        pytest.param({"s": "a\nb\r\nc"}, None, b'data: {"s":"a\\nb\\r\\nc"}\n\n', id="newlines-escaped"),
        pytest.param(
            {"t": "известни 🎉"}, None, 'data: {"t":"известни 🎉"}\n\n'.encode(), id="unicode-not-escaped"
        ),
        pytest.param(
            {"t": "\u2028\u0085"}, None, 'data: {"t":"\u2028\u0085"}\n\n'.encode(), id="u2028-nel-raw"
        ),
        pytest.param(
            {"a": 1}, "x\ndata: {}\r", b'event: xdata: {}\ndata: {"a":1}\n\n', id="event-newlines-removed"
        ),
    ],
)
def test_encode_sse(payload: dict[str, Any] | Done, event: str | None, expected: bytes) -> None:
    assert encode_sse(payload, event=event) == expected


ROUND_TRIP = [
    {"type": "response.created", "response": {"id": "r1", "output": []}},
    {"choices": [{"delta": {"content": "известни 🎉\n\u2028 \r\n"}, "index": 0}]},
    {"nested": {"list": [1, 2.5, None, False, "x"]}, "empty": {}},
    DONE,
]


@pytest.mark.parametrize("with_event", [False, True], ids=["data-only", "with-event"])
def test_encode_decode_round_trip(with_event: bool) -> None:
    frames = []
    for payload in ROUND_TRIP:
        event = payload.get("type") if with_event and isinstance(payload, dict) else None
        frames.append(encode_sse(payload, event=event))
    stream = b"".join(frames)
    assert payloads([stream]) == ROUND_TRIP
    assert payloads(pieces_of(stream, 3)) == ROUND_TRIP
    assert list(iter_sse([stream])) == ROUND_TRIP


# Lone UTF-16 surrogates: what json.loads gives for "\\ud83d" when an upstream (a JavaScript server
# slicing by UTF-16 units) splits an emoji between two deltas.  orjson cannot write them.
HIGH, LOW = "\ud83d", "\ude00"  # the two halves of U+1F600


@pytest.mark.parametrize(
    ("text", "written"),
    [
        pytest.param("a" + HIGH, "a\ufffd", id="lone-high-at-end"),
        pytest.param(LOW + "b", "\ufffdb", id="lone-low-at-start"),
        pytest.param(HIGH + LOW, "\U0001f600", id="pair-rejoined"),
        pytest.param(LOW + HIGH, "\ufffd\ufffd", id="pair-in-wrong-order"),
        pytest.param("ok " + HIGH + "🎉", "ok \ufffd🎉", id="lone-next-to-a-real-emoji"),
    ],
)
def test_lone_surrogates_are_written_as_valid_utf8(text: str, written: str) -> None:
    payload = {"choices": [{"delta": {"content": text}}], "n": [text, {"k": text}]}
    for frame in (encode_sse(payload), encode_sse(payload, event="e"), b"data: " + dump_json(payload)):
        body = frame.split(b"data: ", 1)[1]
        decoded = orjson.loads(body)  # orjson accepts only valid UTF-8 without lone surrogates
        assert decoded == {"choices": [{"delta": {"content": written}}], "n": [written, {"k": written}]}
    assert payload["n"] == [text, {"k": text}]  # the caller's object is not changed


def test_dump_json_writes_what_orjson_cannot_or_names_the_culprit() -> None:
    assert dump_json({"big": 2**70, "t": HIGH}) == b'{"big":1180591620717411303424,"t":"\xef\xbf\xbd"}'
    assert dump_json({"x": [float("inf"), HIGH]}) == b'{"x":[null,"\xef\xbf\xbd"]}'
    assert dump_json({"a": [HIGH]}, indent=True) == '{\n  "a": [\n    "\ufffd"\n  ]\n}'.encode()
    with pytest.raises(EncodeError) as info:
        encode_sse({"choices": [{"delta": {1: HIGH}}]})
    assert info.value.path == "$.choices[0].delta" and "not a string" in str(info.value)
    with pytest.raises(EncodeError, match="set"):
        encode_sse({"t": HIGH, "s": {1, 2}})
    assert issubclass(EncodeError, TranslatorError)


def test_lone_surrogate_escapes_are_decoded_not_rejected() -> None:
    frames = b'data: {"delta":"a\\ud83d"}\n\ndata: {"delta":"\\ude00b"}\n\n'
    assert payloads([frames]) == [{"delta": "a" + HIGH}, {"delta": LOW + "b"}]
    assert payloads(pieces_of(frames, 5)) == [{"delta": "a" + HIGH}, {"delta": LOW + "b"}]
    events = b'event: x\ndata: {"type":"x","delta":"\\ud83d"}\n\n'
    assert payloads([events]) == [{"type": "x", "delta": HIGH}]
    assert payloads([b'{"delta":"\\ud83d"}\n']) == [{"delta": HIGH}]  # JSON lines
    with pytest.raises(SSEError, match="NaN"):
        payloads([b'data: {"x":NaN,"d":"\\ud83d"}\n\n'])  # the fallback parser stays strict


def test_encoded_event_name_is_decoded_as_event() -> None:
    frame = encode_sse({"x": 1}, event="response.output_text.delta")
    assert sse_events([frame]) == [E('{"x":1}', event="response.output_text.delta")]
    assert payloads([frame]) == [{"x": 1, "type": "response.output_text.delta"}]


# --------------------------------------------------------------------------------------------------
# iter_sse / aiter_sse


async def _agen(chunks: Sequence[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        await asyncio.sleep(0)
        yield chunk


def run_stream(chunks: Sequence[bytes], sync: bool) -> list[Any]:
    if sync:
        return list(iter_sse(chunks))

    async def collect() -> list[Any]:
        return [payload async for payload in aiter_sse(_agen(chunks))]

    return asyncio.run(collect())


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        pytest.param([MIXED_STREAM], MIXED_PAYLOADS, id="mixed-one-chunk"),
        pytest.param(pieces_of(MIXED_STREAM, 5), MIXED_PAYLOADS, id="mixed-5-byte-chunks"),
        pytest.param([JSONL], [{"a": 1}, {"b": "и"}, DONE], id="jsonl"),
        pytest.param(pieces_of(JSONL, 2), [{"a": 1}, {"b": "и"}, DONE], id="jsonl-2-byte-chunks"),
        pytest.param([b'data: {"a":1}\n\ndata: [DONE]\n'], [{"a": 1}, DONE], id="flushed-at-end"),
        pytest.param([], [], id="empty"),
    ],
)
def test_iter_and_aiter(chunks: list[bytes], expected: list[Any], sync: bool) -> None:
    assert run_stream(chunks, sync) == expected


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_iter_and_aiter_raise_sse_error(sync: bool) -> None:
    with pytest.raises(SSEError, match="invalid JSON in data field"):
        run_stream([b"data: {nope}\n\n"], sync)


def test_iter_sse_is_lazy() -> None:
    seen: list[bytes] = []

    def chunks() -> Iterable[bytes]:
        for chunk in (b"data: {}\n\n", b'data: {"b":1}\n\n'):
            seen.append(chunk)
            yield chunk

    it = iter_sse(chunks())
    assert next(it) == {}
    assert len(seen) == 1


# --------------------------------------------------------------------------------------------------
# every real corpus stream


def nonempty_data_lines(raw: bytes) -> int:
    count = 0
    for line in raw.splitlines():
        if line.startswith(b"data:"):
            value = line[5:]
            if value.startswith(b" "):
                value = value[1:]
            count += bool(value)
    return count


@pytest.mark.parametrize("path", corpus_params("chat", "*.sse") + corpus_params("responses", "*.sse"))
def test_corpus_stream_decodes(path: Path) -> None:
    raw = path.read_bytes()
    whole = payloads([raw])
    assert len(whole) == nonempty_data_lines(raw)
    assert all(isinstance(p, dict) or p is DONE for p in whole)
    assert payloads(pieces_of(raw, 7)) == whole


# --------------------------------------------------------------------------------------------------
# a long line fed in small pieces decodes to the one event it holds (speed is measured in `make bench`)


@pytest.mark.parametrize("kind", ["sse", "jsonl"])
def test_long_line_in_small_pieces(kind: str) -> None:
    body = orjson.dumps({"t": "x" * 400_000})
    stream = b"data: " + body + b"\n\n" if kind == "sse" else body + b"\n"
    decoder: SSEDecoder | JSONLDecoder = SSEDecoder() if kind == "sse" else JSONLDecoder()
    out: list[Any] = []
    for piece in pieces_of(stream, 16):
        out += decoder.feed(piece)
    out += decoder.close()
    assert len(out) == 1
    payload = out[0].data if kind == "sse" else orjson.dumps(out[0]).decode()
    assert payload == body.decode()


# --------------------------------------------------------------------------------------------------
# StreamDecoder's fast paths agree with the reference decoder (SSEDecoder + decode_payload)

MIXED_DATA_STREAMS = [
    b'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n',
    b'data: {"a":1}\n\n: keep-alive\n\ndata: {"b":2}\n\n',
    b'data: {"a":1}\n\n\n\ndata: {"b":2}\n\n',
    b'data: {"a":1}\n\nevent: error\ndata: {"error":{"message":"x"}}\n\ndata: {"c":3}\n\n',
    b'data: {"a":1}\n\ndata: {"b":\ndata: 2}\n\n',
    b'data: {"a":1}\n\ndata: {"b":2}\nid: 7\n\ndata: {"c":3}',
    b'data: {"a":1}\n\nevent: response.x\ndata: {"b":2}\n\nevent: y\nid: 1\ndata: {"c":3}\n\n',
    b'event: a\ndata: {"x":1}\n\nevent: b\ndata: {"type":"t"}\n\nevent: error\ndata: {"error":{}}\n\n',
    b'event: a\ndata: {"x":1}\n\n: comment\n\nevent: b\ndata: {"y":2}\n\ndata: [DONE]\n\n',
    b'event: a\ndata: {"x":1}\n\nevent: \ndata: {"y":2}\n\nevent: c\ndata: {"z":\ndata: 3}\n\n',
    b'event: a\nid: 9\ndata: {"x":1}\n\nevent: b\ndata: [1]\n\n',
    b'event: a\ndata: {"x":1}\n\n\n\nevent: b\ndata: {"y":2}',
]


def reference_payloads(raw: bytes) -> list[Any]:
    decoder = SSEDecoder()
    events = decoder.feed(raw) + decoder.close()
    return [p for p in (decode_payload(e) for e in events) if p is not None]


@pytest.mark.parametrize("raw", MIXED_DATA_STREAMS)
@pytest.mark.parametrize("size", [1, 3, 16, 1 << 20])
def test_fast_paths_agree_with_the_reference_decoder(raw: bytes, size: int) -> None:
    try:
        expected: Any = reference_payloads(raw)
    except SSEError as exc:
        expected = type(exc)
    decoder = StreamDecoder()
    try:
        got: Any = []
        for start in range(0, len(raw), size):
            got += decoder.feed(raw[start : start + size])
        got += decoder.close()
    except SSEError as exc:
        got = type(exc)
    assert got == expected
