"""Every Responses stream in the corpus and the seed becomes a Chat chunk stream the official SDK accepts.

For each recording: every chunk validates as ``ChatCompletionChunk``, the SDK's
``ChatCompletionStreamState`` accumulates the stream, and the final message equals what the source
response says (text, refusal, reasoning, tool calls, finish_reason, usage, url citations, logprobs).
The expectation is computed from the source's *terminal* ``response.output`` (or its
``output_item.done`` items when the terminal response carries no output), not from the deltas the
translator reads, so the two paths check each other.  Golden ``.sse`` files keep the exact output
under ``golden/responses_to_chat/`` (``test_corpus_golden``).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk
from openai.types.chat.chat_completion import ChatCompletion
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter, ValidationError
from support.corpus import SEED, SKIP_REASON, corpus_params

from translator.engine.sse import DONE, DONE_FRAME, StreamDecoder, encode_sse
from translator.ids import SequentialIds, fixed_clock
from translator.protocol.mapping import FINISH_REASON_BY_INCOMPLETE_REASON, responses_usage_to_chat
from translator.streams.responses_to_chat import ResponsesToChat
from translator.testing.snapshot import SSESnapshotExtension
from translator.testing.validate import validate_chat_stream
from translator.wire.chat_sse import ChatSSEWriter, chunk_frames, responses_stream_to_chat_sse

TERMINAL = ("response.completed", "response.incomplete", "response.failed")
SEPARATOR = "\n"


def seed_params() -> list[Any]:
    files = sorted(SEED.glob("*.sse")) if SEED.is_dir() else []
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=SKIP_REASON), id="no-seed")]
    return [pytest.param(path, id=f"seed-{path.stem}") for path in files]


STREAMS = [*corpus_params("responses", "*.sse"), *seed_params()]


def events_of(path: Path) -> list[Any]:
    decoder = StreamDecoder()
    return decoder.feed(path.read_bytes()) + decoder.close()


def translate(items: list[Any], **options: Any) -> list[dict[str, Any]]:
    translator = ResponsesToChat(ids=SequentialIds(), clock=fixed_clock(0), **options)
    chunks = [chunk for item in items for chunk in translator.feed(item)]
    return chunks + translator.close()


def sdk_final(chunks: list[dict[str, Any]]) -> ChatCompletion:
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    return state.get_final_completion()


# -- what the source says ---------------------------------------------------------------------------


def source_output(events: list[Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The terminal response and its output items (from ``output_item.done`` when it lists none)."""
    terminal = next(e for e in events if e is not DONE and e.get("type") in TERMINAL)
    response: dict[str, Any] = terminal["response"]
    output = response.get("output") or []
    if not output:
        done = {
            e["output_index"]: e["item"]
            for e in events
            if e is not DONE and e.get("type") == "response.output_item.done"
        }
        output = [done[k] for k in sorted(done)]
    return response, output


def joined(texts: list[Any]) -> str:
    return SEPARATOR.join(t for t in texts if isinstance(t, str) and t)


def expected_message(output: list[dict[str, Any]]) -> dict[str, Any]:
    parts = [p for item in output if item["type"] == "message" for p in item.get("content") or []]
    reasoning = [
        part.get("text")
        for item in output
        if item["type"] == "reasoning"
        for part in [*(item.get("summary") or []), *(item.get("content") or [])]
    ]
    return {
        "content": joined([p.get("text") for p in parts if p.get("type") == "output_text"]),
        "refusal": joined([p.get("refusal") for p in parts if p.get("type") == "refusal"]),
        "reasoning": joined(reasoning),
        "tool_calls": [
            (i["call_id"], i["name"], i["arguments"]) for i in output if i["type"] == "function_call"
        ],
        "url_citations": [
            (
                a.get("url"),
                p.get("text", "")[a["start_index"] : a["end_index"]] if a.get("end_index") else None,
            )
            for p in parts
            for a in p.get("annotations") or []
            if a.get("type") == "url_citation"
        ],
        "logprobs": sum(len(p.get("logprobs") or []) for p in parts),
    }


def expected_finish(response: dict[str, Any], output: list[dict[str, Any]]) -> str:
    if response.get("status") == "incomplete":
        return FINISH_REASON_BY_INCOMPLETE_REASON[(response.get("incomplete_details") or {})["reason"]]
    return "tool_calls" if any(i["type"] == "function_call" for i in output) else "stop"


# -- the corpus cases -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", STREAMS)
def test_corpus_stream_translates_and_matches_the_source_response(path: Path) -> None:
    events = events_of(path)
    chunks = translate(events)
    response, output = source_output(events)

    if response["status"] == "failed":
        # C:openai__error_event_then_failed.sse: one error chunk ends the stream, nothing finishes
        assert "error" in chunks[-1] and sum("error" in c for c in chunks) == 1
        assert chunks[-1]["error"]["message"] == response["error"]["message"]
        assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
        assert validate_chat_stream(chunks) == []
        return

    assert validate_chat_stream([*chunks, DONE]) == []  # the project's own Chat invariants checker
    assert len({c["id"] for c in chunks}) == 1
    assert {c["created"] for c in chunks} == {int(response["created_at"])}
    finishing = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert len(finishing) == 1
    roles = [c for c in chunks if c["choices"] and "role" in c["choices"][0]["delta"]]
    assert roles == [chunks[0]]

    final = sdk_final(chunks)
    choice = final.choices[0]
    message = choice.message
    extra = message.model_extra or {}
    want = expected_message(output)
    assert (message.content or "") == want["content"]
    assert (message.refusal or "") == want["refusal"]
    assert extra.get("reasoning_content", "") == want["reasoning"]
    assert [(t.id, t.function.name, t.function.arguments) for t in message.tool_calls or []] == want[
        "tool_calls"
    ]
    assert choice.finish_reason == expected_finish(response, output)
    got_citations = [
        (
            a.url_citation.url,
            (message.content or "")[a.url_citation.start_index : a.url_citation.end_index]
            if a.url_citation.end_index
            else None,
        )
        for a in message.annotations or []
    ]
    assert got_citations == want["url_citations"]  # cited spans survive the message join
    assert len((choice.logprobs.content or []) if choice.logprobs else []) == want["logprobs"]
    assert "hosted_tool_calls" not in extra

    assert chunks[-1]["choices"] == []
    assert final.usage is not None
    assert final.usage.model_dump(exclude_none=True) == responses_usage_to_chat(response["usage"])


@pytest.mark.parametrize("path", STREAMS)
def test_corpus_bytes_split_anywhere_give_the_same_chunks(path: Path) -> None:
    raw = path.read_bytes()
    rng = random.Random(path.name)
    cuts = sorted(rng.sample(range(1, len(raw)), min(40, len(raw) - 1)))
    pieces = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    assert translate(pieces) == translate([raw]) == translate(events_of(path))


def expected_sse(chunks: list[dict[str, Any]]) -> bytes:
    """The frames of ``chunks`` written one by one with ``encode_sse`` (the reference writer)."""
    frames = []
    for chunk in chunks:
        if "error" in chunk:
            return b"".join(frames) + encode_sse(chunk, event="error")
        frames.append(encode_sse(chunk))
    return b"".join(frames) + DONE_FRAME


@pytest.mark.parametrize("path", STREAMS)
@pytest.mark.parametrize("options", [{}, {"include_usage": False, "reasoning_field": "reasoning"}])
def test_corpus_sse_writer_gives_the_bytes_of_encode_sse(path: Path, options: dict[str, Any]) -> None:
    # the SSE wrapper writes streaming deltas from frame templates, without building chunks: it must
    # give byte for byte what encode_sse gives for the chunks feed() returns, whatever the reads
    raw = path.read_bytes()
    rng = random.Random(path.name)
    cuts = sorted(rng.sample(range(1, len(raw)), min(25, len(raw) - 1)))
    pieces = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    expected = expected_sse(translate([raw], **options))
    frames, failed = chunk_frames(translate([raw], **options))  # the wire's own slow way agrees
    assert frames + (b"" if failed else DONE_FRAME) == expected
    for items in (pieces, [raw], events_of(path)):
        written = responses_stream_to_chat_sse(items, ids=SequentialIds(), clock=fixed_clock(0), **options)
        assert b"".join(written) == expected
        writer = ChatSSEWriter(ResponsesToChat(ids=SequentialIds(), clock=fixed_clock(0), **options))
        assert b"".join([*map(writer.feed, items), writer.close()]) == expected
        assert writer.failed == failed


@pytest.mark.parametrize("path", STREAMS)
def test_corpus_feed_runs_is_feed_with_each_run_in_one_piece(path: Path) -> None:
    raw = path.read_bytes()
    fast = ResponsesToChat(ids=SequentialIds(), clock=fixed_clock(0))
    runs = [*fast.feed_runs(raw), *fast.close()]
    chunks: list[dict[str, Any]] = []
    for item in runs:
        if isinstance(item, tuple):
            shape, texts = item
            assert texts
            chunks += [fast.delta_chunk(shape, text) for text in texts]
        else:
            chunks.append(item)
    assert chunks == translate([raw])


_EVENT: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


def as_sdk_object(event: Any, n: int) -> Any:
    """The SDK's event object when the event validates (most do), else the dict itself.

    Recordings older than ``sequence_number`` (the seed, 2025 pydantic-ai cassettes) get one, since the
    current SDK requires it; the translator does not read it.
    """
    if event is DONE:
        return event
    try:
        return _EVENT.validate_python({"sequence_number": n, **event})
    except ValidationError:
        return event


@pytest.mark.parametrize("path", STREAMS)
def test_corpus_sdk_event_objects_give_the_same_chunks(path: Path) -> None:
    events = events_of(path)
    objects = [as_sdk_object(e, n) for n, e in enumerate(events)]
    assert any(o is not e for o, e in zip(objects, events, strict=True))
    assert translate(objects) == translate(events)


@pytest.mark.parametrize("path", STREAMS)
def test_corpus_hosted_items_surface_once_each_when_asked(path: Path) -> None:
    events = events_of(path)
    response, output = source_output(events)
    chunks = translate(events, surface_hosted_tools=True)
    if response["status"] == "failed":
        assert list(chunks[-1]) == ["error"]
        return
    surfaced = [
        h for c in chunks if c["choices"] for h in c["choices"][0]["delta"].get("hosted_tool_calls", [])
    ]
    hosted_types = [i["type"] for i in output if i["type"] not in ("message", "function_call", "reasoning")]
    assert [h["type"] for h in surfaced] == hosted_types
    assert [h["index"] for h in surfaced] == list(range(len(surfaced)))
    final = sdk_final(chunks)
    assert len((final.choices[0].message.model_extra or {}).get("hosted_tool_calls", [])) == len(hosted_types)


# -- goldens ------------------------------------------------------------------------------------------


class ResponsesToChatGolden(SSESnapshotExtension):
    """``golden/responses_to_chat/<recording>.sse``: our SSE output byte for byte.

    Ids and clock are already deterministic, so nothing is normalized, and the bytes are stored as
    written (an error chunk keeps its ``event: error`` line).
    """

    def serialize(self, data: Any, **_: Any) -> Any:
        assert isinstance(data, bytes)
        return data.decode()


@pytest.mark.golden("responses_to_chat")
@pytest.mark.parametrize("path", STREAMS)
def test_corpus_golden(path: Path, snapshot: Any) -> None:
    body = b"".join(responses_stream_to_chat_sse(events_of(path), ids=SequentialIds(), clock=fixed_clock(0)))
    assert body == snapshot.use_extension(ResponsesToChatGolden)
