"""Every writer path turns text holding lone UTF-16 surrogates into valid UTF-8 (issue 12, item 14),
and a pair split between two deltas comes out as one character (issue 21, item 6).

An upstream that cuts text by UTF-16 units (a JavaScript server, a proxy) splits an emoji between two
deltas and writes each half as a ``\\ud83d``-style escape; ``json.loads`` (and our decoder) then hold
lone surrogates, which orjson cannot write.  Both translators hold a high half that ends a delta back
and send it joined with the low half that starts the next delta of the same text; each writer produces
valid UTF-8 (a half that stays alone becomes U+FFFD) and never raises ``TypeError``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
import orjson
import pytest
from support.sdk import accumulate_with_sdk

from translator.cli import main
from translator.engine.sse import StreamDecoder
from translator.ids import SequentialIds, fixed_clock
from translator.wire.chat_sse import aresponses_stream_to_chat_sse, responses_stream_to_chat_sse
from translator.wire.responses_sse import chat_stream_to_responses_sse

HIGH, LOW = "\ud83d", "\ude00"  # the halves of U+1F600
WHERE = {"item_id": "msg_0", "output_index": 0, "content_index": 0}


def responses_events() -> list[dict[str, Any]]:
    response = {"id": "resp_1", "object": "response", "created_at": 1, "model": "m", "output": []}
    message = {"id": "msg_0", "type": "message", "role": "assistant", "content": []}
    return [
        {"type": "response.created", "response": {**response, "status": "in_progress"}},
        {"type": "response.output_item.added", "output_index": 0, "item": message},
        {"type": "response.output_text.delta", **WHERE, "delta": "a" + HIGH},
        {"type": "response.output_text.delta", **WHERE, "delta": LOW + "b"},
        {"type": "response.completed", "response": {**response, "status": "completed"}},
    ]


def chat_chunks() -> list[dict[str, Any]]:
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    deltas = [{"role": "assistant", "content": "a" + HIGH}, {"content": LOW + "b"}]
    chunks = [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return chunks


def as_wire(payloads: list[dict[str, Any]], *, events: bool) -> bytes:
    """What the upstream sends: the standard library writes lone surrogates as escapes."""
    frames = []
    for payload in payloads:
        head = f"event: {payload['type']}\n" if events else ""
        frames.append(f"{head}data: {json.dumps(payload)}\n\n".encode())
    return b"".join(frames) + (b"" if events else b"data: [DONE]\n\n")


def decoded(body: bytes) -> list[Any]:
    body.decode("utf-8")  # strict: raises on anything but valid UTF-8
    decoder = StreamDecoder()
    return decoder.feed(body) + decoder.close()


def chat_client(body: bytes) -> openai.OpenAI:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    transport = httpx.Client(transport=httpx.MockTransport(handler))
    return openai.OpenAI(api_key="test", base_url="http://test/v1", http_client=transport)


def chat_text_read_by_the_sdk(body: bytes) -> str:
    with chat_client(body).chat.completions.stream(model="m", messages=[]) as stream:
        return stream.get_final_completion().choices[0].message.content or ""


@pytest.mark.parametrize("source", ["dicts", "sse-bytes"])
def test_responses_to_chat_sse_writers(source: str) -> None:
    events: list[Any] = responses_events()
    if source == "sse-bytes":
        events = [as_wire(events, events=True)]
    options: dict[str, Any] = {"ids": SequentialIds(), "clock": fixed_clock(1)}
    body = b"".join(responses_stream_to_chat_sse(events, **options))

    async def source_items() -> AsyncIterator[Any]:
        for event in events:
            yield event

    async def collect() -> bytes:
        frames = aresponses_stream_to_chat_sse(source_items(), ids=SequentialIds(), clock=fixed_clock(1))
        return b"".join([frame async for frame in frames])

    assert asyncio.run(collect()) == body
    contents = [c["choices"][0]["delta"].get("content") for c in decoded(body)[:-1] if c["choices"]]
    assert contents == ["", "a", "\U0001f600b", None]  # the high half waited for the low one
    assert chat_text_read_by_the_sdk(body) == "a\U0001f600b"


@pytest.mark.parametrize("source", ["dicts", "sse-bytes"])
def test_chat_to_responses_sse_writer(source: str) -> None:
    chunks: list[Any] = chat_chunks()
    if source == "sse-bytes":
        chunks = [as_wire(chunks, events=False)]
    body = b"".join(chat_stream_to_responses_sse(chunks, ids=SequentialIds(), clock=fixed_clock(1)))
    events = decoded(body)
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert deltas == ["a", "\U0001f600b"]  # the high half waited for the low one
    final = accumulate_with_sdk(events)
    assert final is not None and final.status == "completed"
    assert final.output_text == "a\U0001f600b"


@pytest.mark.parametrize(
    ("source", "argv", "expected"),
    [
        ("responses", ["translate", "--from", "responses"], "a\U0001f600b"),
        ("responses", ["translate", "--from", "responses", "--format", "jsonl"], "a\U0001f600b"),
        ("chat", ["translate", "--from", "chat"], "a\U0001f600b"),
        ("chat", ["translate", "--from", "chat", "--format", "jsonl"], "a\U0001f600b"),
        ("chat", ["accumulate"], "a\U0001f600b"),
    ],
)
def test_cli_writers(
    source: str, argv: list[str], expected: str, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = tmp_path / "in.sse"
    path.write_bytes(
        as_wire(responses_events(), events=True)
        if source == "responses"
        else as_wire(chat_chunks(), events=False)
    )
    assert main([*argv, str(path)]) == 0
    out = capsysbinary.readouterr().out
    if argv[0] == "accumulate":
        assert orjson.loads(out)["choices"][0]["message"]["content"] == expected
        return
    items = decoded(out)
    if source == "responses":
        text = "".join(
            c["choices"][0]["delta"].get("content") or ""
            for c in items
            if isinstance(c, dict) and c["choices"]
        )
    else:
        text = next(
            e["response"]["output"][0]["content"][0]["text"]
            for e in items
            if e["type"] == "response.completed"
        )
    assert text == expected
