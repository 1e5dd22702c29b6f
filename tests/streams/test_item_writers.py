"""The item writers (translator.streams.item_writers): each builds its kind's events, numbered in order,
and the events validate as the SDK's Responses events."""

from __future__ import annotations

from typing import Any

import pytest
from support.sdk import validate_responses_events

from translator.ids import SequentialIds
from translator.streams.chat_tool_calls import ChatCall
from translator.streams.item_writers import (
    AudioWriter,
    CustomToolCallWriter,
    FunctionCallWriter,
    MessageWriter,
    ReasoningWriter,
    ResponseStream,
    ToolSearchCallWriter,
    call_writer,
)
from translator.streams.provider_quirks import CONTENT, SUMMARY


def stream() -> ResponseStream:
    return ResponseStream(SequentialIds())


def numbered(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    validate_responses_events(events)
    return events


def types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"].removeprefix("response.") for event in events]


def test_a_message_with_text_a_refusal_and_more_text_has_three_parts() -> None:
    out = stream()
    message = MessageWriter(out)
    events = [message.added()]
    events += message.text("Hel")
    events += message.text("lo", [{"token": "lo", "logprob": -0.1, "bytes": [], "top_logprobs": []}])
    events += message.refusal("no")
    events += message.text("!")
    events += message.close("completed")
    assert types(numbered(events)) == [
        "output_item.added",
        "content_part.added",
        "output_text.delta",
        "output_text.delta",
        "output_text.done",
        "content_part.done",
        "content_part.added",
        "refusal.delta",
        "refusal.done",
        "content_part.done",
        "content_part.added",
        "output_text.delta",
        "output_text.done",
        "content_part.done",
        "output_item.done",
    ]
    assert [event["content_index"] for event in events if event["type"].endswith(".delta")] == [0, 0, 1, 2]
    final = events[-1]["item"]
    assert final == out.items[0]
    assert [part.get("text", part.get("refusal")) for part in final["content"]] == ["Hello", "no", "!"]
    assert final["content"][0]["logprobs"] == [
        {"token": "lo", "logprob": -0.1, "bytes": [], "top_logprobs": []}
    ]
    plain = [event["logprobs"] for event in events if event["type"] == "response.output_text.delta"][::2]
    assert plain == [[], []] and plain[0] is not plain[1]  # each event its own list


def test_annotations_go_on_the_text_part_with_running_indexes() -> None:
    out = stream()
    message = MessageWriter(out)
    citation = {"type": "url_citation", "start_index": 0, "end_index": 4, "title": "t", "url": "https://x"}
    events = [message.added(), *message.annotations([citation, dict(citation, url="https://y")])]
    events += message.close("completed")
    numbered(events)
    added = [event for event in events if event["type"] == "response.output_text.annotation.added"]
    assert [event["annotation_index"] for event in added] == [0, 1]
    assert out.items[0]["content"][0]["annotations"] == [added[0]["annotation"], added[1]["annotation"]]


@pytest.mark.parametrize(
    ("mode", "part", "delta"),
    [
        (SUMMARY, "reasoning_summary_part", "reasoning_summary_text"),
        (CONTENT, "content_part", "reasoning_text"),
    ],
)
def test_reasoning_takes_text_of_its_mode_only(mode: str, part: str, delta: str) -> None:
    out = stream()
    reasoning = ReasoningWriter(out)
    events = [reasoning.added(mode), *(reasoning.delta("a", mode) or []), *(reasoning.delta("b", mode) or [])]
    other = CONTENT if mode == SUMMARY else SUMMARY
    assert reasoning.delta("c", other) is None  # another item must take it
    reasoning.keep_secret("enc1")
    reasoning.keep_secret("enc2")
    events += reasoning.close("completed")
    assert types(numbered(events)) == [
        "output_item.added",
        f"{part}.added",
        f"{delta}.delta",
        f"{delta}.delta",
        f"{delta}.done",
        f"{part}.done",
        "output_item.done",
    ]
    final = out.items[0]
    assert final["encrypted_content"] == "enc1enc2"
    if mode == SUMMARY:
        assert final["summary"] == [{"type": "summary_text", "text": "ab"}] and "content" not in final
    else:
        assert final["content"] == [{"type": "reasoning_text", "text": "ab"}] and final["summary"] == []


def test_a_reasoning_item_opened_by_a_secret_alone_has_no_part() -> None:
    out = stream()
    holder = ReasoningWriter(out)
    holder.keep_secret("x")
    events = numbered([holder.added(""), *holder.close("completed")])
    assert types(events) == ["output_item.added", "output_item.done"]
    assert out.items == [{"id": holder.id, "type": "reasoning", "summary": [], "encrypted_content": "x"}]


def call(name: str = "f", call_id: str = "call_1") -> ChatCall:
    chat_call = ChatCall(0, call_id)
    chat_call.name, chat_call.call_id = name, call_id
    return chat_call


def test_function_call_arguments_stream_as_they_are_and_close_once() -> None:
    out = stream()
    writer = FunctionCallWriter(out, call(), "lookup", "crm")
    events = [writer.added(), *writer.fragment('{"a"'), *writer.fragment(""), *writer.fragment(": 1}")]
    events += writer.close("completed")
    assert types(numbered(events)) == [
        "output_item.added",
        "function_call_arguments.delta",
        "function_call_arguments.delta",
        "function_call_arguments.done",
        "output_item.done",
    ]
    assert events[0]["item"]["namespace"] == "crm" and events[0]["item"]["name"] == "lookup"
    assert out.items[0] == {
        "id": writer.id,
        "type": "function_call",
        "status": "completed",
        "arguments": '{"a": 1}',
        "call_id": "call_1",
        "name": "lookup",
        "namespace": "crm",
    }
    assert writer.call.closed


def test_custom_tool_input_is_unwrapped_as_it_arrives() -> None:
    out = stream()
    writer = CustomToolCallWriter(out, call(), "apply_patch", None)
    events = [writer.added()]
    for fragment in ['{"inp', 'ut": "*** Be', "gin\\n", '"}']:
        events += writer.fragment(fragment)
    events += writer.close("completed")
    numbered(events)
    assert [event["delta"] for event in events if event["type"].endswith("input.delta")] == [
        "*** Be",
        "gin\n",
    ]
    assert out.items[0]["input"] == "*** Begin\n" and "status" not in out.items[0]


def test_custom_tool_arguments_of_another_shape_say_what_they_mean_at_the_end() -> None:
    out = stream()
    writer = CustomToolCallWriter(out, call(), "run", None)
    events = [writer.added(), *writer.fragment('{"cmd": "ls"}'), *writer.close("completed")]
    numbered(events)
    assert types(events) == [
        "output_item.added",
        "custom_tool_call_input.delta",
        "custom_tool_call_input.done",
        "output_item.done",
    ]
    assert events[1]["delta"] == "ls" == out.items[0]["input"]


@pytest.mark.parametrize(
    ("fragments", "arguments"),
    [(['{"query": ', '"cal"}'], {"query": "cal"}), (["not json"], "not json"), ([], {})],
)
def test_tool_search_arguments_go_out_parsed_on_done(fragments: list[str], arguments: Any) -> None:
    out = stream()
    writer = ToolSearchCallWriter(out, call(), "tool_search", None)
    events = [writer.added()]
    for fragment in fragments:
        assert writer.fragment(fragment) == []
    events += writer.close("completed")
    assert types(numbered(events)) == ["output_item.added", "output_item.done"]
    assert out.items[0]["arguments"] == arguments and out.items[0]["execution"] == "client"


@pytest.mark.parametrize(
    ("tool", "writer", "name", "namespace"),
    [
        (None, FunctionCallWriter, "f", None),
        ({"type": "function", "name": "g", "namespace": "ns"}, FunctionCallWriter, "g", "ns"),
        ({"type": "custom", "name": "apply_patch"}, CustomToolCallWriter, "apply_patch", None),
        ({"type": "tool_search"}, ToolSearchCallWriter, "f", None),
    ],
)
def test_the_tool_map_entry_picks_the_writer(
    tool: Any, writer: type, name: str, namespace: str | None
) -> None:
    made = call_writer(stream(), call("f"), tool)
    assert type(made) is writer
    assert (made.name, made.namespace) == (name, namespace)


def test_message_and_reasoning_items_take_no_arguments() -> None:
    with pytest.raises(TypeError, match="MessageWriter takes no tool-call arguments"):
        MessageWriter(stream()).fragment("{}")


def test_audio_done_events_only_for_what_arrived() -> None:
    out = stream()
    audio = AudioWriter(out)
    events = [*audio.delta({"transcript": "hi"}), *audio.delta({"data": "", "transcript": " there"})]
    events += audio.done()
    assert types(events) == ["audio.transcript.delta", "audio.transcript.delta", "audio.transcript.done"]
    assert [event["sequence_number"] for event in events] == [0, 1, 2]


def test_items_take_their_place_in_the_output_in_order() -> None:
    out = stream()
    first = MessageWriter(out)
    first.text("a")
    first.close("completed")
    second = FunctionCallWriter(out, call(), "f", None)
    assert (first.output_index, second.output_index) == (0, 1)
    assert second.id != first.id and second.id.startswith("fc")
