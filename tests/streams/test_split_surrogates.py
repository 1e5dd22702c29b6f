"""A UTF-16 surrogate pair split over two deltas comes out as one character, both ways (issue 21, item 6).

A proxy that cuts text by UTF-16 units sends ``\\ud83d`` at the end of one frame and ``\\ude00`` at the
start of the next, as JSON escapes.  Whatever text carries them (content, refusal, reasoning, tool-call
arguments, a custom tool's input), the translators hold the high half back and send it joined with the
low half: the client reads one character, never two U+FFFD.  A half that no other half follows still
goes out alone (U+FFFD once written), and nothing is lost or sent twice.
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk
from support.chat_chunks import ChatChunks
from support.responses_events import completed, created, function_call, message, reasoning_summary
from support.sdk import accumulate_with_sdk

from translator.engine.sse import DONE, StreamDecoder
from translator.engine.surrogates import hold_split_pair, join_pairs
from translator.ids import SequentialIds, fixed_clock
from translator.streams.chat_to_responses import ChatToResponses
from translator.streams.responses_to_chat import ResponsesToChat
from translator.testing.validate import validate_chat_stream, validate_responses_stream
from translator.wire.chat_sse import ChatSSEWriter
from translator.wire.responses_sse import ResponsesSSEWriter

HIGH, LOW = "\ud83d", "\ude00"  # U+1F600, as a JavaScript string holds it
EMOJI = "\U0001f600"
chunk = ChatChunks(id="c1", created=7, model="m")


def chat_frames(chunks: list[Any]) -> list[bytes]:
    """One SSE frame per chunk, as the upstream writes them: lone halves as ``\\uXXXX`` escapes."""
    frames = [f"data: {json.dumps(c)}\n\n".encode() for c in chunks]
    assert b"\\ud83d" in b"".join(frames)
    return [*frames, b"data: [DONE]\n\n"]


def responses_frames(events: list[dict[str, Any]]) -> list[bytes]:
    return [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events]


def to_responses(frames: list[bytes], **options: Any) -> list[dict[str, Any]]:
    """Chat SSE frames, one read each, through the Responses SSE writer; the events a client decodes."""
    writer = ResponsesSSEWriter(ChatToResponses(ids=SequentialIds(), clock=fixed_clock(1), **options))
    body = b"".join(writer.feed(frame) for frame in frames) + writer.close()
    body.decode("utf-8")  # strict: valid UTF-8
    decoder = StreamDecoder()
    events = decoder.feed(body) + decoder.close()
    assert validate_responses_stream(events) == []
    assert accumulate_with_sdk(events) is not None
    return events


def to_chat(frames: list[bytes]) -> list[Any]:
    writer = ChatSSEWriter(ResponsesToChat(ids=SequentialIds(), clock=fixed_clock(1)))
    body = b"".join(writer.feed(frame) for frame in frames) + writer.close()
    body.decode("utf-8")
    decoder = StreamDecoder()
    chunks = decoder.feed(body) + decoder.close()
    assert validate_chat_stream(chunks) == []
    return chunks


def deltas(events: list[dict[str, Any]], kind: str) -> list[str]:
    return [e["delta"] for e in events if e["type"] == kind]


# -- Chat -> Responses ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "event"),
    [
        ("content", "response.output_text.delta"),
        ("refusal", "response.refusal.delta"),
        ("reasoning_content", "response.reasoning_summary_text.delta"),
        ("reasoning", "response.reasoning_text.delta"),
    ],
)
def test_chat_text_split_between_two_frames_rejoins(field: str, event: str) -> None:
    stream = [chunk({field: "smile " + HIGH}), chunk({field: LOW + " ok"}), chunk({}, "stop")]
    events = to_responses(chat_frames(stream))
    assert deltas(events, event) == ["smile ", EMOJI + " ok"]
    done = [e for e in events if e["type"] == event.replace(".delta", ".done")]
    assert [e.get("text", e.get("refusal")) for e in done] == ["smile " + EMOJI + " ok"]


def test_chat_arguments_and_custom_input_split_between_two_frames_rejoin() -> None:
    def call(arguments: str, head: bool = False) -> dict[str, Any]:
        entry: dict[str, Any] = {"index": 0, "function": {"arguments": arguments}}
        if head:
            entry.update(id="call_1", type="function")
            entry["function"]["name"] = "f"
        return chunk({"tool_calls": [entry]})

    stream = [call('{"s": "a' + HIGH, head=True), call(LOW + '"}'), chunk({}, "tool_calls")]
    events = to_responses(chat_frames(stream))
    assert deltas(events, "response.function_call_arguments.delta") == ['{"s": "a', EMOJI + '"}']
    assert events[-1]["response"]["output"][0]["arguments"] == '{"s": "a' + EMOJI + '"}'

    custom = [call('{"input": "a' + HIGH, head=True), call(LOW + 'b"}'), chunk({}, "tool_calls")]
    events = to_responses(chat_frames(custom), tool_map={"f": {"type": "custom", "name": "f"}})
    assert deltas(events, "response.custom_tool_call_input.delta") == ["a", EMOJI + "b"]
    assert events[-1]["response"]["output"][0]["input"] == "a" + EMOJI + "b"


def test_sdk_chunk_objects_rejoin_too() -> None:
    # the per-chunk object path (ChatCompletionChunk read by attribute) gives what the dicts give
    stream = [chunk({"content": "a" + HIGH}), chunk({"content": LOW + "b"}), chunk({}, "stop"), DONE]
    objects = [c if c is DONE else ChatCompletionChunk.model_validate(c) for c in stream]
    for items in (stream, objects):
        translator = ChatToResponses(ids=SequentialIds(), clock=fixed_clock(1))
        events = [e for item in items for e in translator.feed(item)] + translator.close()
        assert deltas(events, "response.output_text.delta") == ["a", EMOJI + "b"]


def test_a_half_no_other_half_follows_goes_out_alone() -> None:
    # a high half followed by other text, a low half alone, and a high half that ends the text
    stream = [
        chunk({"content": "a" + HIGH}),
        chunk({"content": "x" + LOW}),
        chunk({"content": HIGH}),
        chunk({}, "stop"),
    ]
    events = to_responses(chat_frames(stream))
    assert deltas(events, "response.output_text.delta") == ["a", "\ufffdx\ufffd", "\ufffd"]
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "a\ufffdx\ufffd\ufffd"


def test_a_cut_stream_keeps_a_held_half_in_the_failed_output_only() -> None:
    stream = [chunk({"content": "a" + HIGH})]
    frames = chat_frames(stream)[:-1]  # no [DONE]: cut
    events = to_responses(frames)
    assert deltas(events, "response.output_text.delta") == ["a"]
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "a\ufffd"


# -- Responses -> Chat ------------------------------------------------------------------------------------


def chat_contents(chunks: list[Any], name: str) -> list[str]:
    return [
        c["choices"][0]["delta"][name]
        for c in chunks
        if isinstance(c, dict) and c.get("choices") and c["choices"][0]["delta"].get(name)
    ]


def test_responses_text_and_reasoning_split_between_two_frames_rejoin() -> None:
    events = [
        *created(),
        *reasoning_summary(0, ["think " + HIGH + LOW]),
        *message(1, "smile " + HIGH + LOW + " ok", deltas=["smile " + HIGH, LOW + " ok"]),
        completed(),
    ]
    # the reasoning's two deltas too: split by hand
    for event in events:
        if event["type"] == "response.reasoning_summary_text.delta":
            event["delta"] = "think " + HIGH
    at = next(n for n, e in enumerate(events) if e["type"] == "response.reasoning_summary_text.delta")
    events.insert(at + 1, {**events[at], "delta": LOW})
    for number, event in enumerate(events):
        event["sequence_number"] = number
    chunks = to_chat(responses_frames(events))
    assert chat_contents(chunks, "reasoning_content") == ["think ", EMOJI]
    assert chat_contents(chunks, "content") == ["smile ", EMOJI + " ok"]
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for c in chunks:
        if c is not DONE:
            state.handle_chunk(ChatCompletionChunk.model_validate(c))
    assert state.get_final_completion().choices[0].message.content == "smile " + EMOJI + " ok"


def test_responses_arguments_split_between_two_frames_rejoin() -> None:
    arguments = '{"s": "' + EMOJI + '"}'
    events = [
        *created(),
        *function_call(0, "call_1", "f", arguments, deltas=['{"s": "' + HIGH, LOW + '"}']),
        completed(),
    ]
    chunks = to_chat(responses_frames(events))
    pieces = [
        tc["function"].get("arguments")
        for c in chunks
        if isinstance(c, dict) and c.get("choices")
        for tc in c["choices"][0]["delta"].get("tool_calls") or []
    ]
    assert [p for p in pieces if p] == ['{"s": "', EMOJI + '"}']


def test_a_responses_half_that_ends_the_text_goes_out_alone_at_the_end() -> None:
    events = [*created(), *message(0, "a" + HIGH, deltas=["a" + HIGH]), completed()]
    for event in events:  # the snapshots hold the lone half too
        if event["type"] == "response.output_item.done":
            event["item"]["content"][0]["text"] = "a" + HIGH
    chunks = to_chat(responses_frames(events))
    assert chat_contents(chunks, "content") == ["a", "\ufffd"]


def test_round_trip_chat_responses_chat_keeps_the_character() -> None:
    stream = [chunk({"content": "a" + HIGH}), chunk({"content": LOW + "b"}), chunk({}, "stop")]
    events = to_responses(chat_frames(stream))
    frames = responses_frames(events)
    chunks = to_chat(frames)
    assert "".join(chat_contents(chunks, "content")) == "a" + EMOJI + "b"


def test_the_openai_client_reads_one_character() -> None:
    import httpx2 as httpx

    stream = [chunk({"content": "a" + HIGH}), chunk({"content": LOW + "b"}), chunk({}, "stop")]
    writer = ResponsesSSEWriter(ChatToResponses(ids=SequentialIds(), clock=fixed_clock(1)))
    body = b"".join(writer.feed(frame) for frame in chat_frames(stream)) + writer.close()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    client = openai.OpenAI(
        api_key="test",
        base_url="http://test/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    texts = [
        e.delta
        for e in client.responses.create(model="m", input="x", stream=True)
        if e.type == "response.output_text.delta"
    ]
    assert texts == ["a", EMOJI + "b"]


def test_hold_split_pair_and_join_pairs() -> None:
    assert hold_split_pair("", "a" + HIGH) == ("a", HIGH)
    assert hold_split_pair(HIGH, LOW + "b") == (EMOJI + "b", "")
    assert hold_split_pair(HIGH, HIGH) == (HIGH, HIGH)  # the first half stays alone, the second waits
    assert hold_split_pair(HIGH, "") == ("", HIGH)
    assert hold_split_pair("", LOW) == (LOW, "")
    assert join_pairs("a" + HIGH + LOW + HIGH) == "a" + EMOJI + HIGH
