"""ResponsesToChat: Responses event streams -> Chat Completions chunks (issue 3).

Unit cases use small hand-written event lists (builders in ``support.responses_events`` and below);
the corpus cases live in ``test_responses_to_chat_corpus.py`` and the round trip in
``test_responses_to_chat_roundtrip.py``; the SSE writer's own cases in ``tests/wire/test_chat_sse.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx2 as httpx
import openai
import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk
from openai.types.chat.chat_completion import ChatCompletion
from support.responses_events import (
    CREATED,
    PATCH,
    USAGE,
    WIRE_ERROR,
    completed,
    created,
    custom_call,
    function_call,
    message,
    reasoning_summary,
    response,
)

from translator.convert.objects import response_to_chat_completion
from translator.engine.sse import DONE, DONE_FRAME, encode_sse, iter_sse
from translator.errors import InvalidChunkError, StreamStateError
from translator.ids import SequentialIds, fixed_clock
from translator.streams.accumulate import accumulate_chat, accumulate_responses
from translator.streams.responses_to_chat import (
    ResponsesToChat,
    atranslate_responses_stream,
    translate_responses_stream,
)
from translator.wire.chat_sse import aresponses_stream_to_chat_sse, responses_stream_to_chat_sse

# -- builders -------------------------------------------------------------------------------------


def hosted(oi: int, kind: str = "web_search_call") -> list[dict[str, Any]]:
    item = {"id": f"ws_{oi}", "type": kind, "status": "completed", "action": {"type": "search", "query": "q"}}
    return [
        {"type": "response.output_item.added", "output_index": oi, "item": {**item, "status": "in_progress"}},
        {"type": f"response.{kind}.in_progress", "item_id": item["id"], "output_index": oi},
        {"type": f"response.{kind}.completed", "item_id": item["id"], "output_index": oi},
        {"type": "response.output_item.done", "output_index": oi, "item": item},
    ]


def incomplete(reason: str) -> dict[str, Any]:
    return {
        "type": "response.incomplete",
        "response": response("incomplete", incomplete_details={"reason": reason}, usage=USAGE),
    }


def run(events: list[Any], **options: Any) -> list[dict[str, Any]]:
    options.setdefault("ids", SequentialIds())
    options.setdefault("clock", fixed_clock(1))
    return list(translate_responses_stream(events, **options))


def sdk_final(chunks: list[dict[str, Any]]) -> ChatCompletion:
    """Validate every chunk as the SDK's ChatCompletionChunk and accumulate them with the SDK."""
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    return state.get_final_completion()


def deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c["choices"][0]["delta"] for c in chunks if c.get("choices")]


# -- chunk envelope and first chunk ----------------------------------------------------------------


def test_every_chunk_carries_the_response_id_created_and_model() -> None:
    chunks = run([*created(), *message(0, "Hello there"), completed()])
    assert {c["id"] for c in chunks} == {"chatcmpl-0001"}
    assert {c["created"] for c in chunks} == {CREATED}
    assert {c["model"] for c in chunks} == {"gpt-test"}
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert "system_fingerprint" not in chunks[0]


def test_first_chunk_is_the_role_chunk_openai_shape_for_text() -> None:
    chunks = run([*created(), *message(0, "Hello there"), completed()])
    assert deltas(chunks)[0] == {"role": "assistant", "content": "", "refusal": None}
    assert [d.get("content") for d in deltas(chunks)[1:3]] == ["Hello ", "there"]
    assert all("role" not in d for d in deltas(chunks)[1:])


def test_first_chunk_merges_the_first_tool_call_with_null_content() -> None:
    chunks = run([*created(), *function_call(0, "call_a", "f", '{"x":1}'), completed()])
    first = deltas(chunks)[0]
    assert first == {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "tool_calls": [
            {"index": 0, "id": "call_a", "type": "function", "function": {"name": "f", "arguments": ""}}
        ],
    }


def test_service_tier_is_copied_only_when_chat_knows_it() -> None:
    events = [{"type": "response.created", "response": response(service_tier="default")}, completed()]
    assert {c["service_tier"] for c in run(events)} == {"default"}
    events = [{"type": "response.created", "response": response(service_tier="ultrafast")}, completed()]
    assert all("service_tier" not in c for c in run(events))


def test_a_stream_without_response_object_uses_the_clock() -> None:
    chunks = run([*message(0, "hi"), completed()], clock=fixed_clock(42))
    assert chunks[0]["created"] == 42 and chunks[0]["model"] == ""


# -- text, refusal, reasoning ----------------------------------------------------------------------


def test_text_deltas_become_content() -> None:
    final = sdk_final(run([*created(), *message(0, "one two three"), completed()]))
    assert final.choices[0].message.content == "one two three"
    assert final.choices[0].finish_reason == "stop"


def test_text_only_in_the_done_event_is_delivered_once() -> None:
    final = sdk_final(run([*created(), *message(0, "all at once", deltas=[]), completed()]))
    assert final.choices[0].message.content == "all at once"


def test_partial_deltas_are_completed_from_the_done_snapshot_never_duplicated() -> None:
    # C:openai__phase_two_messages.sse: the fixture keeps two deltas, the done text is longer
    chunks = run([*created(), *message(0, "Got it, checking", deltas=["Got", " it"]), completed()])
    contents = [d["content"] for d in deltas(chunks) if d.get("content")]
    assert contents == ["Got", " it", ", checking"]


def test_a_done_snapshot_that_contradicts_the_deltas_is_ignored() -> None:
    chunks = run([*created(), *message(0, "different", deltas=["abc"]), completed()])
    assert sdk_final(chunks).choices[0].message.content == "abc"


def test_two_message_items_join_with_the_separator() -> None:
    events = [*created(), *message(0, "commentary"), *message(1, "final answer"), completed()]
    assert sdk_final(run(events)).choices[0].message.content == "commentary\nfinal answer"
    assert sdk_final(run(events, separator="\n\n")).choices[0].message.content == "commentary\n\nfinal answer"


def refusal_events(text: str) -> list[dict[str, Any]]:
    where = {"item_id": "msg_0", "output_index": 0, "content_index": 0}
    part = {"type": "refusal", "refusal": text}
    return [
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {
                "id": "msg_0",
                "type": "message",
                "role": "assistant",
                "status": "in_progress",
                "content": [],
            },
        },
        {"type": "response.content_part.added", **where, "part": {"type": "refusal", "refusal": ""}},
        {"type": "response.refusal.delta", **where, "delta": text[:5]},
        {"type": "response.refusal.delta", **where, "delta": text[5:]},
        {"type": "response.refusal.done", **where, "refusal": text},
        {"type": "response.content_part.done", **where, "part": part},
        {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": {
                "id": "msg_0",
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [part],
            },
        },
    ]


def test_refusal_deltas_become_delta_refusal() -> None:
    chunks = run([*created(), *refusal_events("I can't help with that."), completed()])
    assert deltas(chunks)[0] == {"role": "assistant", "content": None, "refusal": ""}
    message_ = sdk_final(chunks).choices[0].message
    assert message_.refusal == "I can't help with that."
    assert message_.content is None


def test_reasoning_summaries_go_to_reasoning_content_never_content() -> None:
    events = [
        *created(),
        *reasoning_summary(0, ["**Plan**", "**Check**"]),
        *message(1, "answer"),
        completed(),
    ]
    chunks = run(events)
    message_ = sdk_final(chunks).choices[0].message
    assert message_.content == "answer"
    assert message_.model_extra is not None
    assert message_.model_extra["reasoning_content"] == "**Plan**\n**Check**"
    assert all("reasoning" not in (d.get("content") or "") for d in deltas(chunks))


def test_reasoning_field_is_configurable_and_none_drops_it() -> None:
    events = [*created(), *reasoning_summary(0, ["thinking"]), *message(1, "answer"), completed()]
    renamed = sdk_final(run(events, reasoning_field="reasoning")).choices[0].message
    assert renamed.model_extra == {"reasoning": "thinking"}
    dropped = run(events, reasoning_field=None)
    assert all(set(d) <= {"role", "content", "refusal"} for d in deltas(dropped))
    assert sdk_final(dropped).choices[0].message.content == "answer"


def test_raw_reasoning_text_goes_to_the_reasoning_field() -> None:
    where = {"item_id": "rs_0", "output_index": 0, "content_index": 0}
    events = [
        *created(),
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {"id": "rs_0", "type": "reasoning", "summary": [], "content": []},
        },
        {"type": "response.content_part.added", **where, "part": {"type": "reasoning_text", "text": ""}},
        {"type": "response.reasoning_text.delta", **where, "delta": "let me "},
        {"type": "response.reasoning_text.delta", **where, "delta": "think"},
        {"type": "response.reasoning_text.done", **where, "text": "let me think"},
        completed(),
    ]
    message_ = sdk_final(run(events)).choices[0].message
    assert message_.model_extra == {"reasoning_content": "let me think"}


def test_reasoning_only_in_the_item_done_is_delivered() -> None:
    events = [
        *created(),
        {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": {
                "id": "rs_0",
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": "late"}],
            },
        },
        completed(),
    ]
    assert sdk_final(run(events)).choices[0].message.model_extra == {"reasoning_content": "late"}


# -- tool calls -----------------------------------------------------------------------------------


def test_tool_call_index_counts_function_calls_only() -> None:
    events = [
        *created(),
        *reasoning_summary(0, ["r"]),
        *message(1, "Let me look."),
        *hosted(2),
        *function_call(3, "call_a", "get_weather", '{"city":"Paris"}'),
        *function_call(4, "call_b", "get_time", '{"tz":"CET"}'),
        completed(),
    ]
    chunks = run(events)
    calls = [tc for d in deltas(chunks) for tc in d.get("tool_calls", [])]
    assert [c["index"] for c in calls] == [0, 0, 0, 1, 1, 1]
    firsts = [c for c in calls if "id" in c]
    assert [(c["id"], c["function"]["name"]) for c in firsts] == [
        ("call_a", "get_weather"),
        ("call_b", "get_time"),
    ]
    assert all("name" not in c["function"] for c in calls if "id" not in c)
    final = sdk_final(chunks).choices[0]
    assert [(t.id, t.function.name, t.function.arguments) for t in final.message.tool_calls or []] == [
        ("call_a", "get_weather", '{"city":"Paris"}'),
        ("call_b", "get_time", '{"tz":"CET"}'),
    ]
    assert final.finish_reason == "tool_calls"


def test_arguments_streamed_and_done_are_sent_exactly_once() -> None:
    chunks = run([*created(), *function_call(0, "c", "f", '{"a":1}', deltas=['{"a"', ":1}"]), completed()])
    args = [tc["function"]["arguments"] for d in deltas(chunks) for tc in d.get("tool_calls", [])]
    assert args == ["", '{"a"', ":1}"]


def test_arguments_only_in_the_done_event_are_delivered() -> None:
    # C:lmstudio__reasoning_text_function_call.sse has no argument deltas at all
    chunks = run([*created(), *function_call(0, "c", "f", '{"a":1}', deltas=[]), completed()])
    tool = (sdk_final(chunks).choices[0].message.tool_calls or [])[0]
    assert tool.function.arguments == '{"a":1}'


def test_arguments_only_in_the_item_done_are_delivered() -> None:
    chunks = run(
        [*created(), *function_call(0, "c", "f", '{"a":1}', deltas=[], with_done=False), completed()]
    )
    assert (sdk_final(chunks).choices[0].message.tool_calls or [])[0].function.arguments == '{"a":1}'


def test_a_whole_call_in_the_added_item_is_sent_in_its_first_delta() -> None:
    item = {"id": "fc_0", "type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}
    events = [
        *created(),
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        completed(),
    ]
    calls = [tc for d in deltas(run(events)) for tc in d.get("tool_calls", [])]
    assert calls == [
        {"index": 0, "id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    ]


def test_argument_deltas_before_the_item_is_known_wait_for_it() -> None:
    item = {"id": "fc_0", "type": "function_call", "call_id": "c", "name": "f", "arguments": '{"a":1}'}
    events = [
        *created(),
        {
            "type": "response.function_call_arguments.delta",
            "item_id": "fc_0",
            "output_index": 0,
            "delta": '{"a"',
        },
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        completed(),
    ]
    calls = [tc for d in deltas(run(events)) for tc in d.get("tool_calls", [])]
    assert calls == [
        {"index": 0, "id": "c", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
    ]


def test_rotating_item_ids_are_keyed_on_output_index() -> None:
    # C:github_copilot__item_id_rotation.sse: every event of one item has a different item_id
    events = [*created(), *message(0, "a b c"), completed()]
    for n, event in enumerate(events):
        if "item_id" in event:
            event["item_id"] = f"capture-{n}"
    assert sdk_final(run(events)).choices[0].message.content == "a b c"


def test_items_missing_from_the_stream_are_taken_from_the_terminal_response() -> None:
    item = {"id": "fc_0", "type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}
    text = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": "done", "annotations": []}],
    }
    final = sdk_final(run([*created(), completed(output=[item, text])])).choices[0]
    assert final.message.content == "done"
    assert [(t.id, t.function.arguments) for t in final.message.tool_calls or []] == [("c", "{}")]
    assert final.finish_reason == "tool_calls"


# -- a name known only when the item is done (issue 12, item 11) -----------------------------------


def tool_deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [tc for d in deltas(chunks) for tc in d.get("tool_calls", [])]


def test_a_name_given_only_in_item_done_reaches_the_first_fragment() -> None:
    # the added item has an empty name (some proxies fill it in only when the call is finished)
    events = function_call(0, "call_a", "get_weather", '{"city":"Paris"}', deltas=['{"city"', ':"Paris"}'])
    events[0] = {**events[0], "item": {**events[0]["item"], "name": ""}}
    chunks = run([*created(), *events, completed()])
    calls = tool_deltas(chunks)
    assert calls[0] == {
        "index": 0,
        "id": "call_a",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
    }
    assert all("id" not in c and "name" not in c.get("function", {}) for c in calls[1:])
    final = sdk_final(chunks).choices[0]
    assert [(t.id, t.function.name, t.function.arguments) for t in final.message.tool_calls or []] == [
        ("call_a", "get_weather", '{"city":"Paris"}')
    ]
    assert final.finish_reason == "tool_calls"


def test_a_named_call_is_not_held_back() -> None:
    translator = ResponsesToChat()
    for event in created():
        translator.feed(event)
    events = function_call(0, "call_a", "f", '{"a":1}', deltas=['{"a"', ":1}"])
    sent = [translator.feed(event) for event in events[:3]]  # added, then each delta: out at once
    assert [
        [tc["function"] for c in out for tc in c["choices"][0]["delta"]["tool_calls"]] for out in sent
    ] == [
        [{"name": "f", "arguments": ""}],
        [{"arguments": '{"a"'}],
        [{"arguments": ":1}"}],
    ]


def test_a_later_call_is_not_held_behind_one_waiting_for_its_name() -> None:
    first = function_call(0, "call_a", "f", '{"a":1}')
    first[0] = {**first[0], "item": {**first[0]["item"], "name": ""}}
    second = function_call(1, "call_b", "g", '{"b":2}')
    events = [*created(), *first[:3], *second, *first[3:], completed()]  # a waits while b streams
    chunks = run(events)
    opened = [(tc["index"], tc["id"], tc["function"]["name"]) for tc in tool_deltas(chunks) if "id" in tc]
    assert opened == [(0, "call_b", "g"), (1, "call_a", "f")]
    final = sdk_final(chunks).choices[0]
    assert [(t.id, t.function.name, t.function.arguments) for t in final.message.tool_calls or []] == [
        ("call_b", "g", '{"b":2}'),
        ("call_a", "f", '{"a":1}'),
    ]


def test_a_name_in_the_arguments_done_event_opens_the_call_there() -> None:
    events = function_call(0, "call_a", "", '{"a":1}')
    events[3] = {**events[3], "name": "f"}  # function_call_arguments.done (a field the SDK lacks)
    events[4] = {**events[4], "item": {**events[4]["item"], "name": "f"}}
    translator = ResponsesToChat()
    outs = [translator.feed(event) for event in [*created(), *events]]
    assert outs[3] == outs[4] == []  # the deltas wait for the name
    opening = outs[5][0]["choices"][0]["delta"]["tool_calls"][0]
    assert opening["function"] == {"name": "f", "arguments": '{"a":1}'}


def test_a_call_never_named_opens_when_its_item_is_done() -> None:
    events = function_call(0, "call_a", "", '{"a":1}')
    chunks = run([*created(), *events, completed()])
    assert tool_deltas(chunks) == [
        {"index": 0, "id": "call_a", "type": "function", "function": {"name": "", "arguments": '{"a":1}'}}
    ]


def test_a_call_without_any_id_gets_a_synthesized_one_when_done() -> None:
    item = {"type": "function_call", "name": "f", "arguments": ""}
    events = [
        *created(),
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.function_call_arguments.delta", "output_index": 0, "delta": "{}"},
        completed(output=[{**item, "arguments": "{}"}]),
    ]
    final = sdk_final(run(events)).choices[0]
    assert [(t.id, t.function.arguments) for t in final.message.tool_calls or []] == [("call_0002", "{}")]


# -- custom tool calls (issue 12, item 9) -------------------------------------------------------------


def final_response(output: list[dict[str, Any]]) -> dict[str, Any]:
    return completed(output=output)


def test_a_custom_tool_call_reaches_the_client_as_a_tool_call_it_can_dispatch() -> None:
    events = [
        *created(),
        *reasoning_summary(0, ["need a file"]),
        *custom_call(1, "call_p", "apply_patch", PATCH),
        completed(),
    ]
    chunks = run(events)
    calls = tool_deltas(chunks)
    assert calls[0] == {
        "index": 0,
        "id": "call_p",
        "type": "function",
        "function": {"name": "apply_patch", "arguments": ""},
    }
    assert "".join(c["function"]["arguments"] for c in calls) == PATCH
    final = sdk_final(chunks).choices[0]
    assert final.finish_reason == "tool_calls"
    assert [
        (t.id, t.type, t.function.name, t.function.arguments) for t in final.message.tool_calls or []
    ] == [("call_p", "function", "apply_patch", PATCH)]


def test_custom_and_function_calls_share_the_tool_call_indexes() -> None:
    events = [
        *created(),
        *function_call(0, "call_f", "f", "{}"),
        *custom_call(1, "call_p", "apply_patch", PATCH),
        *function_call(2, "call_g", "g", "{}"),
        completed(),
    ]
    final = sdk_final(run(events)).choices[0]
    assert [(t.id, t.function.name) for t in final.message.tool_calls or []] == [
        ("call_f", "f"),
        ("call_p", "apply_patch"),
        ("call_g", "g"),
    ]


def test_custom_input_only_in_a_snapshot_is_delivered_once() -> None:
    only_done = custom_call(0, "call_p", "apply_patch", PATCH, pieces=[])
    only_item = [e for e in only_done if e["type"] != "response.custom_tool_call_input.done"]
    item = only_done[-1]["item"]
    for events in (
        [*created(), *only_done, completed()],
        [*created(), *only_item, completed()],
        [*created(), completed(output=[item])],
    ):
        final = sdk_final(run(events)).choices[0]
        assert [(t.id, t.function.arguments) for t in final.message.tool_calls or []] == [("call_p", PATCH)]
        assert final.finish_reason == "tool_calls"


def test_custom_form_is_the_shape_the_chat_api_streams() -> None:
    events = [*created(), *custom_call(0, "call_p", "apply_patch", PATCH), completed()]
    chunks = run(events, custom_tool_calls="custom")
    calls = tool_deltas(chunks)
    assert calls[0] == {
        "index": 0,
        "id": "call_p",
        "type": "custom",
        "custom": {"name": "apply_patch", "input": ""},
    }
    assert calls[1:] == [
        {"index": 0, "custom": {"input": PATCH[:10]}},
        {"index": 0, "custom": {"input": PATCH[10:]}},
    ]
    message = accumulate_chat(chunks)["choices"][0]["message"]
    assert message["tool_calls"] == [
        {"id": "call_p", "type": "custom", "custom": {"name": "apply_patch", "input": PATCH}}
    ]
    with pytest.raises(ValueError, match="custom_tool_calls"):
        ResponsesToChat(custom_tool_calls="native")


@pytest.mark.parametrize("form", ["function", "custom"])
def test_streamed_and_converted_custom_calls_agree(form: str) -> None:
    events = [
        *created(),
        *message(0, "Patching."),
        *custom_call(1, "call_p", "apply_patch", PATCH),
        *function_call(2, "call_f", "f", '{"a":1}'),
    ]
    events.append(completed(output=[e["item"] for e in events if e["type"] == "response.output_item.done"]))
    streamed = accumulate_chat(run(events, custom_tool_calls=form))["choices"][0]
    converted = response_to_chat_completion(accumulate_responses(events), custom_tool_calls=form)["choices"][
        0
    ]
    ChatCompletion.model_validate(
        {"id": "x", "object": "chat.completion", "created": 1, "model": "m", "choices": [converted]}
    )
    assert streamed["message"]["tool_calls"] == converted["message"]["tool_calls"]
    assert streamed["message"]["content"] == converted["message"]["content"] == "Patching."
    assert streamed["finish_reason"] == converted["finish_reason"] == "tool_calls"


def test_the_sdk_client_gets_the_custom_call_over_http() -> None:
    body = sse([*created(), *custom_call(0, "call_p", "apply_patch", PATCH), completed()])
    with client_for(body).chat.completions.stream(model="m", messages=[]) as stream:
        final = stream.get_final_completion()
    call = (final.choices[0].message.tool_calls or [])[0]
    assert (call.id, call.function.name, call.function.arguments) == ("call_p", "apply_patch", PATCH)
    assert final.choices[0].finish_reason == "tool_calls"


# -- reconciling the terminal response with the stream (issue 12, item 10) ---------------------------


def rotated(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events with every item id replaced by a new one per event, as GitHub Copilot sends them."""
    out = []
    for n, event in enumerate(events):
        event = dict(event)
        if "item_id" in event:
            event["item_id"] = f"cap_{n}"
        if isinstance(event.get("item"), dict):
            event["item"] = {**event["item"], "id": f"cap_{n}"}
        out.append(event)
    return out


def at(oi: int, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``events`` moved to output_index ``oi``."""
    return [{**e, "output_index": oi} if "output_index" in e else e for e in events]


def items_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["item"] for e in events if e["type"] == "response.output_item.done"]


def final_message(events: list[dict[str, Any]], **options: Any) -> Any:
    return sdk_final(run(events, **options)).choices[0].message


def test_gaps_in_output_index_with_rotated_ids_neither_lose_nor_repeat_text() -> None:
    # reasoning at 0, the answer at 2 (1 was skipped); the answer's tail arrives only in the terminal
    thinking = reasoning_summary(0, ["plan"])
    answer = at(2, message(0, "Hello world", deltas=["Hello"]))[:3]  # added, part added, one delta
    full = items_of(reasoning_summary(0, ["plan"]) + message(0, "Hello world"))
    events = rotated([*created(), *thinking, *answer, completed(output=[{**i, "id": "new"} for i in full])])
    got = final_message(events)
    assert got.content == "Hello world"
    assert (got.model_extra or {})["reasoning_content"] == "plan"


def test_a_streamed_reasoning_item_left_out_of_the_terminal_response_is_not_repeated() -> None:
    events = [*created(), *reasoning_summary(0, ["think"]), *message(1, "Hi there", deltas=["Hi"])[:3]]
    terminal = completed(output=[{**items_of(message(0, "Hi there"))[0], "id": "other"}])
    got = final_message(rotated([*events, terminal]))
    assert got.content == "Hi there"
    assert (got.model_extra or {})["reasoning_content"] == "think"


def test_an_earlier_message_left_out_of_the_terminal_response_does_not_swallow_the_next() -> None:
    # the first message is complete; the second is cut short in the stream and whole in the terminal
    first = message(0, "A")
    second = at(1, message(0, "B1B2", deltas=["B1"]))[:3]
    terminal = completed(output=[{**items_of(message(0, "B1B2"))[0], "id": "x"}])
    assert final_message(rotated([*created(), *first, *second, terminal])).content == "A\nB1B2"


def test_an_item_only_in_the_terminal_response_is_delivered_once_and_streamed_ones_are_not_repeated() -> None:
    streamed = [*reasoning_summary(0, ["r"]), *message(1, "Let me check.")]
    call = {"id": "fc_9", "type": "function_call", "call_id": "call_9", "name": "f", "arguments": "{}"}
    output = [items_of(streamed)[0], call, items_of(streamed)[1]]  # the call sits between them
    events = rotated([*created(), *streamed, completed(output=output)])
    got = final_message(events)
    assert got.content == "Let me check."
    assert (got.model_extra or {})["reasoning_content"] == "r"
    assert [(t.id, t.function.arguments) for t in got.tool_calls or []] == [("call_9", "{}")]


def test_output_index_starting_above_zero() -> None:
    events = at(1, message(0, "xy", deltas=["x"]))[:3]
    terminal = completed(output=[{**items_of(message(0, "xy"))[0], "id": "z"}])
    assert final_message(rotated([*created(), *events, terminal])).content == "xy"


def test_an_item_with_no_streamed_text_takes_the_text_that_matches_no_other() -> None:
    # two messages were announced; only the second streamed text. The terminal has both, rotated.
    empty = at(0, message(0, "one", deltas=[]))[:2]
    second = at(1, message(0, "two", deltas=["tw"]))[:3]
    output = [{**items_of(message(0, "one"))[0], "id": "a"}, {**items_of(message(0, "two"))[0], "id": "b"}]
    # "tw" went out before "one" was known, so the rest of "two" comes first, then "one": each item's
    # text whole (appending "one" first would have split "two" around it)
    got = final_message(rotated([*created(), *empty, *second, completed(output=output)]))
    assert got.content == "two\none"
    # and when the terminal keeps only the second, it goes to the item whose text it continues
    only = completed(output=[output[1]])
    assert final_message(rotated([*created(), *empty, *second, only])).content == "two"


def test_calls_reconciled_by_call_id_and_arguments() -> None:
    a = function_call(0, "call_a", "f", '{"a":1}', deltas=['{"a"'], with_done=False)[:2]
    b = function_call(1, "call_b", "g", '{"b":2}', deltas=['{"b"'], with_done=False)[:2]
    final_items = items_of(
        function_call(0, "call_a", "f", '{"a":1}') + function_call(1, "call_b", "g", '{"b":2}')
    )
    output = [{**final_items[1], "id": "x"}, {**final_items[0], "id": "y"}]  # the terminal lists b first
    got = final_message(rotated([*created(), *a, *b, completed(output=output)]))
    assert [(t.id, t.function.arguments) for t in got.tool_calls or []] == [
        ("call_a", '{"a":1}'),
        ("call_b", '{"b":2}'),
    ]


def test_a_terminal_item_that_contradicts_what_was_streamed_is_a_new_item() -> None:
    events = [*created(), *message(0, "Hello")]
    other = {**items_of(message(0, "Goodbye"))[0], "id": "q"}
    assert final_message(rotated([*events, completed(output=[other])])).content == "Hello\nGoodbye"


def test_an_item_renamed_in_the_terminal_response_is_the_streamed_one() -> None:
    # OpenRouter keeps the message id but gives the reasoning item a new id in response.completed
    streamed = [*reasoning_summary(0, ["The user asks."]), *message(1, "4")]
    renamed = [{**items_of(streamed)[0], "id": "rs_renamed"}, items_of(streamed)[1]]
    got = final_message([*created(), *streamed, completed(output=renamed)])
    assert (got.content, (got.model_extra or {})["reasoning_content"]) == ("4", "The user asks.")


def test_stable_ids_still_match_across_gaps() -> None:
    events = [*created(), *at(3, message(0, "abc", deltas=["a"]))[:3]]
    item = items_of(message(0, "abc"))[0]  # same id msg_0 as the stream
    assert final_message([*events, completed(output=[item])]).content == "abc"


# -- terminal events, usage ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("terminal", "finish"),
    [
        (incomplete("max_output_tokens"), "length"),
        (incomplete("content_filter"), "content_filter"),
        (incomplete("max_messages"), "length"),
        (completed(), "stop"),
    ],
)
def test_finish_reason(terminal: dict[str, Any], finish: str) -> None:
    chunks = run([*created(), *message(0, "partial"), terminal])
    finishing = [c for c in chunks if c.get("choices") and c["choices"][0]["finish_reason"]]
    assert len(finishing) == 1 and finishing[0]["choices"][0]["delta"] == {}
    assert finishing[0]["choices"][0]["finish_reason"] == finish


def test_incomplete_wins_over_tool_calls() -> None:
    chunks = run([*created(), *function_call(0, "c", "f", "{"), incomplete("max_output_tokens")])
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "length"


def test_usage_chunk_comes_last_with_empty_choices() -> None:
    chunks = run([*created(), *message(0, "hi"), completed()])
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 100,
        "completion_tokens": 30,
        "total_tokens": 130,
        "prompt_tokens_details": {"cached_tokens": 40, "cache_write_tokens": 8},
        "completion_tokens_details": {"reasoning_tokens": 12},
    }
    assert all(c["usage"] is None for c in chunks[:-1])
    usage = sdk_final(chunks).usage
    assert usage is not None and usage.prompt_tokens_details is not None
    assert usage.completion_tokens_details is not None
    assert (usage.prompt_tokens_details.cached_tokens, usage.completion_tokens_details.reasoning_tokens) == (
        40,
        12,
    )


def test_include_usage_false_sends_no_usage_at_all() -> None:
    chunks = run([*created(), *message(0, "hi"), completed()], include_usage=False)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all("usage" not in c for c in chunks)


def test_an_empty_response_still_has_a_role_chunk_and_a_finish() -> None:
    chunks = run([*created(), completed(usage=None)])
    assert deltas(chunks) == [{"role": "assistant", "content": "", "refusal": None}, {}]
    assert sdk_final(chunks).choices[0].message.content == ""


# -- failures --------------------------------------------------------------------------------------


def test_error_event_becomes_an_error_chunk_and_the_rest_is_ignored() -> None:
    failed = {"type": "response.failed", "response": response("failed", error={"code": "x", "message": "y"})}
    translator = ResponsesToChat(ids=SequentialIds())
    out = [c for e in [*created(), *message(0, "partial"), WIRE_ERROR, failed] for c in translator.feed(e)]
    assert out[-1] == {
        "error": {
            "message": "quota",
            "type": "insufficient_quota",
            "code": "insufficient_quota",
            "param": None,
        }
    }
    assert sum("error" in c for c in out) == 1
    assert all(c["choices"][0]["finish_reason"] is None for c in out[:-1])
    assert translator.feed(DONE) == [] and translator.close() == []


def test_sdk_shaped_error_event_and_failed_without_error_event() -> None:
    sdk_error = {
        "type": "error",
        "message": "boom",
        "code": "server_error",
        "param": None,
        "sequence_number": 3,
    }
    assert run([*created(), sdk_error])[-1]["error"]["message"] == "boom"
    failed = {
        "type": "response.failed",
        "response": response("failed", error={"code": "rate_limit_exceeded", "message": "slow down"}),
    }
    assert run([*created(), failed]) == [
        {
            "error": {
                "message": "slow down",
                "type": "rate_limit_exceeded",
                "code": "rate_limit_exceeded",
                "param": None,
            }
        }
    ]


def test_a_cut_stream_ends_with_an_error_chunk_on_close() -> None:
    translator = ResponsesToChat()
    out = [c for e in [*created(), *message(0, "partial")[:3]] for c in translator.feed(e)]
    assert all("error" not in c for c in out)
    tail = translator.close()
    assert len(tail) == 1 and tail[0]["error"]["code"] == "stream_incomplete"
    assert "response.output_text.delta" in tail[0]["error"]["message"]
    assert translator.close() == []
    with pytest.raises(StreamStateError):
        translator.feed(completed())


def test_done_sentinel_before_the_terminal_event_is_a_cut() -> None:
    chunks = run([*created(), *message(0, "x"), DONE])
    assert chunks[-1]["error"]["code"] == "stream_incomplete"


def test_done_sentinel_after_the_terminal_event_is_ignored() -> None:
    # C:openrouter__gpt_oss_reasoning_text_data_only_done.sse ends with data: [DONE]
    assert run([*created(), completed(), DONE]) == run([*created(), completed()])


def test_empty_input_is_a_cut() -> None:
    assert run([])[0]["error"]["code"] == "stream_incomplete"


# -- hosted tools, annotations, logprobs -----------------------------------------------------------


def test_hosted_tools_are_skipped_by_default() -> None:
    chunks = run([*created(), *hosted(0), *message(1, "found it"), completed()])
    assert all(set(d) <= {"role", "content", "refusal"} for d in deltas(chunks))
    assert sdk_final(chunks).choices[0].finish_reason == "stop"


def test_hosted_tools_can_be_surfaced_once_each() -> None:
    events = [
        *created(),
        *hosted(0),
        *hosted(1, "code_interpreter_call"),
        *message(2, "found it"),
        completed(),
    ]
    chunks = run(events, surface_hosted_tools=True)
    surfaced = [h for d in deltas(chunks) for h in d.get("hosted_tool_calls", [])]
    assert [(h["index"], h["type"], h["id"]) for h in surfaced] == [
        (0, "web_search_call", "ws_0"),
        (1, "code_interpreter_call", "ws_1"),
    ]
    extra = sdk_final(chunks).choices[0].message.model_extra or {}
    assert [h["type"] for h in extra["hosted_tool_calls"]] == ["web_search_call", "code_interpreter_call"]


def test_hosted_item_without_done_event_is_surfaced_from_the_terminal_response() -> None:
    # C:openai__mcp_list_tools_three_servers_missing_item_done.sse
    item = {"id": "mcpl_0", "type": "mcp_list_tools", "server_label": "s", "tools": []}
    events = [
        *created(),
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        completed(output=[item]),
    ]
    surfaced = [
        h for d in deltas(run(events, surface_hosted_tools=True)) for h in d.get("hosted_tool_calls", [])
    ]
    assert surfaced == [{"index": 0, **item}]


def annotation_event(oi: int, ai: int, annotation: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "response.output_text.annotation.added",
        "item_id": f"msg_{oi}",
        "output_index": oi,
        "content_index": 0,
        "annotation_index": ai,
        "annotation": annotation,
    }


def test_url_citations_accumulate_into_message_annotations_with_joined_offsets() -> None:
    cite = {
        "type": "url_citation",
        "url": "https://a.example",
        "title": "A",
        "start_index": 0,
        "end_index": 5,
    }
    file_cite = {"type": "file_citation", "file_id": "file_1", "filename": "f.txt", "index": 3}
    second = message(1, "world cited", annotations=[cite])
    events = [
        *created(),
        *message(0, "hello"),
        *second[:-3],
        annotation_event(1, 0, cite),
        annotation_event(1, 1, file_cite),
        *second[-3:],
        completed(),
    ]
    chunks = run(events)
    sent = [a for d in deltas(chunks) for a in d.get("annotations", [])]
    assert sent == [
        {
            "index": 0,
            "type": "url_citation",
            "url_citation": {"url": "https://a.example", "title": "A", "start_index": 6, "end_index": 11},
        }
    ]
    message_ = sdk_final(chunks).choices[0].message
    assert message_.content == "hello\nworld cited"
    assert [(a.url_citation.url, a.url_citation.start_index) for a in message_.annotations or []] == [
        ("https://a.example", 6)
    ]
    assert (message_.content or "")[6:11] == "world"


def test_annotations_only_in_the_part_snapshot_are_delivered() -> None:
    cite = {"type": "url_citation", "url": "https://x.ai/"}  # xAI sends no title or offsets
    chunks = run([*created(), *message(0, "text", annotations=[cite]), completed()])
    message_ = sdk_final(chunks).choices[0].message
    assert [(a.url_citation.url, a.url_citation.title) for a in message_.annotations or []] == [
        ("https://x.ai/", "")
    ]


def test_logprobs_go_to_choice_logprobs_content() -> None:
    logprob = {
        "token": "Hi",
        "logprob": -0.1,
        "bytes": [72, 105],
        "top_logprobs": [{"token": "Hi", "logprob": -0.1, "bytes": [72, 105]}],
    }
    events = [*created(), *message(0, "Hi", deltas=[])]
    events[4] = {**events[4], "logprobs": [logprob]}  # output_text.done
    chunks = run([*events, completed()])
    content_chunk = next(c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content"))
    assert content_chunk["choices"][0]["logprobs"] == {"content": [logprob], "refusal": None}
    final = sdk_final(chunks).choices[0]
    assert final.logprobs is not None and final.logprobs.content is not None
    assert [(t.token, t.logprob, t.bytes) for t in final.logprobs.content] == [("Hi", -0.1, [72, 105])]


# -- input forms, bad input ------------------------------------------------------------------------


def test_unknown_event_types_are_ignored() -> None:
    events = [*created(), {"type": "response.future_thing.delta", "x": 1}, *message(0, "ok"), completed()]
    assert run(events) == run([*created(), *message(0, "ok"), completed()])


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"no_type": True}, "type"),
        ({"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": 5}, "delta"),
        ({"type": "response.output_text.delta", "delta": "x"}, "output_index"),
        (
            {"type": "response.output_text.delta", "output_index": 0, "content_index": "0", "delta": "x"},
            "content_index",
        ),
        ({"type": "response.output_item.added", "output_index": 0, "item": None}, "item"),
        ({"type": "response.completed"}, "response"),
    ],
)
def test_bad_events_raise_a_typed_error_naming_the_event_and_field(event: dict[str, Any], field: str) -> None:
    translator = ResponsesToChat()
    translator.feed(created()[0])
    with pytest.raises(InvalidChunkError) as info:
        translator.feed(event)
    assert info.value.index == 1 and info.value.field == field


def test_sdk_event_objects_and_bytes_give_the_same_chunks_as_dicts() -> None:
    from openai.types.responses import ResponseStreamEvent
    from pydantic import TypeAdapter

    adapter: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
    events = [*created(), *message(0, "one two"), *function_call(1, "c", "f", "{}"), completed()]
    for n, event in enumerate(events):
        event["sequence_number"] = n
    sdk_events = [adapter.validate_python(e) for e in events]
    raw = b"".join(encode_sse(e, event=e["type"]) for e in events)
    expected = run(events)
    assert run(sdk_events) == expected
    assert run([raw[i : i + 7] for i in range(0, len(raw), 7)]) == expected


def test_async_wrapper_matches_the_sync_one() -> None:
    events = [*created(), *message(0, "one two"), completed()]

    async def source() -> AsyncIterator[dict[str, Any]]:
        for event in events:
            yield event

    async def collect() -> list[dict[str, Any]]:
        return [
            c async for c in atranslate_responses_stream(source(), ids=SequentialIds(), clock=fixed_clock(1))
        ]

    assert asyncio.run(collect()) == run(events)


# -- wrong-typed fields: a typed error naming event and field, or a valid chunk (issue 12, item 13) ---


def feed_all(translator: ResponsesToChat, events: list[Any]) -> tuple[list[dict[str, Any]], Exception | None]:
    """Chunks emitted up to the first error, then the error (or None); close() is left to the caller."""
    out: list[dict[str, Any]] = []
    for event in events:
        try:
            out += translator.feed(event)
        except Exception as exc:  # the test asserts the exact type
            return out, exc
    return out, None


def test_usage_details_of_the_wrong_type_count_as_absent() -> None:
    # a proxy that flattens usage writes the details as text; the counts around them are still good
    usage = {
        "input_tokens": 9,
        "input_tokens_details": "cached: 4",
        "output_tokens": 3,
        "output_tokens_details": 2,
        "total_tokens": 12,
    }
    chunks = run([*created(), *message(0, "hi"), completed(usage=usage)])
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 9,
        "completion_tokens": 3,
        "total_tokens": 12,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }
    usage_ = sdk_final(chunks).usage
    assert usage_ is not None and usage_.total_tokens == 12


def test_annotation_offsets_given_as_strings_are_a_typed_error_naming_the_field() -> None:
    cite = {
        "type": "url_citation",
        "url": "https://a.example",
        "title": "A",
        "start_index": "0",
        "end_index": 4,
    }
    events = [*created(), *message(0, "text")[:-3], annotation_event(0, 0, cite)]
    translator = ResponsesToChat()
    sent, error = feed_all(translator, events)
    assert isinstance(error, InvalidChunkError)
    assert (error.index, error.field) == (len(events) - 1, "annotation.start_index")
    assert "must be an integer, got str" in str(error)
    assert "".join(d.get("content") or "" for d in deltas(sent)) == "text"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [("url", 7, "must be a string, got int"), ("end_index", 2.5, "must be an integer, got float")],
)
def test_wrong_typed_citation_in_the_terminal_snapshot_names_its_path(
    name: str, value: Any, expected: str
) -> None:
    # the text and its citation arrive only in the terminal response (no item events at all)
    cite = {
        "type": "url_citation",
        "url": "https://a.example",
        "title": "A",
        "start_index": 0,
        "end_index": 4,
    }
    part = {"type": "output_text", "text": "late text", "annotations": [{**cite, name: value}]}
    item = {"id": "msg_0", "type": "message", "role": "assistant", "content": [part]}
    translator = ResponsesToChat()
    sent, error = feed_all(translator, [*created(), completed(output=[item])])
    assert isinstance(error, InvalidChunkError) and expected in str(error)
    assert (error.index, error.field) == (2, f"response.output[0].content[0].annotations[0].{name}")
    # nothing is lost: what the terminal event had already caught up comes out, then the stream ends
    tail = translator.close()
    assert sent == [] and tail[-1]["error"]["code"] == "stream_incomplete"
    assert f"annotations[0].{name}" in tail[-1]["error"]["message"]  # the end names the bad field
    assert "".join(d.get("content") or "" for d in deltas(tail)) == "late text"
    for chunk in tail[:-1]:
        ChatCompletionChunk.model_validate(chunk)


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (
            {"id": "fc_0", "type": "function_call", "call_id": 1234, "name": "f", "arguments": "{}"},
            "item.call_id",
        ),
        ({"id": "fc_0", "type": "function_call", "call_id": "c", "name": 5, "arguments": "{}"}, "item.name"),
        ({"id": "msg_0", "type": "message", "role": "assistant", "content": 3}, "item.content"),
        ({"id": "rs_0", "type": "reasoning", "summary": "thinking"}, "item.summary"),
    ],
)
def test_wrong_typed_item_fields_are_typed_errors(item: dict[str, Any], field: str) -> None:
    event = {"type": "response.output_item.done", "output_index": 0, "item": item}
    translator = ResponsesToChat()
    _, error = feed_all(translator, [*created(), event])
    assert isinstance(error, InvalidChunkError) and (error.index, error.field) == (2, field)


def test_a_numeric_item_id_is_never_copied_into_a_chunk() -> None:
    # vLLM-style numeric ids: the call keeps its string call_id; a message id is not needed at all
    call = {"id": 17, "type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"}
    text = {"id": 18, "type": "message", "role": "assistant", "content": []}
    events = [
        *created(),
        {"type": "response.output_item.added", "output_index": 0, "item": call},
        {"type": "response.output_item.done", "output_index": 0, "item": call},
        {"type": "response.output_item.added", "output_index": 1, "item": text},
        {
            "type": "response.output_text.delta",
            "output_index": 1,
            "content_index": 0,
            "item_id": 18,
            "delta": "ok",
        },
        completed(),
    ]
    final = sdk_final(run(events)).choices[0]
    assert [(t.id, t.function.name) for t in final.message.tool_calls or []] == [("call_1", "f")]
    assert final.message.content == "ok"
    # a call with neither a string call_id nor a string id waits for one; it never sends a number
    no_ids = {**call, "call_id": None}
    chunks = run([*created(), {"type": "response.output_item.added", "output_index": 0, "item": no_ids}])
    assert all(tc.get("id") is None for d in deltas(chunks) for tc in d.get("tool_calls", []))


@pytest.mark.parametrize(
    "logprob",
    [
        {"token": "Hi", "logprob": -0.1, "bytes": "Hi", "top_logprobs": []},
        {"token": "Hi", "logprob": -0.1, "bytes": [72, "i"], "top_logprobs": []},
        {"token": "Hi", "logprob": -0.1, "bytes": None, "top_logprobs": [{"token": 5, "logprob": -1.0}]},
        {"token": "Hi", "logprob": -0.1, "top_logprobs": [{"token": "x", "logprob": -1.0, "bytes": {}}]},
        {"token": "Hi", "logprob": -0.1, "top_logprobs": "none"},
    ],
)
def test_wrong_typed_logprob_bytes_or_top_tokens_are_typed_errors(logprob: dict[str, Any]) -> None:
    where = {"item_id": "msg_0", "output_index": 0, "content_index": 0}
    event = {"type": "response.output_text.delta", **where, "delta": "Hi", "logprobs": [logprob]}
    translator = ResponsesToChat()
    _, error = feed_all(translator, [*created(), *message(0, "x")[:2], event])
    assert isinstance(error, InvalidChunkError) and (error.index, error.field) == (4, "logprobs")


def test_a_created_at_that_is_not_a_finite_number_falls_back_to_the_clock() -> None:
    for value in (float("inf"), float("nan"), True, "1750000000"):
        events = [{"type": "response.created", "response": response(created_at=value)}, completed()]
        assert {c["created"] for c in run(events, clock=fixed_clock(7))} == {7}


# -- SSE output through the official client --------------------------------------------------------


def client_for(body: bytes) -> openai.OpenAI:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    return openai.OpenAI(
        api_key="test",
        base_url="http://test/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )


def sse(events: list[Any], **options: Any) -> bytes:
    return b"".join(
        responses_stream_to_chat_sse(events, ids=SequentialIds(), clock=fixed_clock(1), **options)
    )


def asse(events: list[Any]) -> bytes:
    async def source() -> AsyncIterator[Any]:
        for event in events:
            yield event

    async def collect() -> bytes:
        frames = aresponses_stream_to_chat_sse(source(), ids=SequentialIds(), clock=fixed_clock(1))
        return b"".join([frame async for frame in frames])

    return asyncio.run(collect())


@pytest.mark.parametrize("writer", [sse, asse], ids=["sync", "async"])
@pytest.mark.parametrize("ok", [True, False], ids=["completed", "error"])
def test_sse_writers_frame_every_chunk_and_end_right(writer: Any, ok: bool) -> None:
    events = [*created(), *message(0, "hi"), completed() if ok else WIRE_ERROR]
    chunks = run(events)
    expected = b"".join(encode_sse(c) for c in chunks[:-1])
    expected += encode_sse(chunks[-1]) + DONE_FRAME if ok else encode_sse(chunks[-1], event="error")
    assert writer(events) == expected


def test_sse_output_ends_with_done_and_the_sdk_client_reads_it() -> None:
    body = sse(
        [*created(), *message(0, "hello you"), *function_call(1, "call_1", "f", '{"a":1}'), completed()]
    )
    assert body.endswith(DONE_FRAME) and body.count(b"[DONE]") == 1
    client = client_for(body)
    with client.chat.completions.stream(model="m", messages=[{"role": "user", "content": "x"}]) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == "hello you"
    assert [(t.id, t.function.arguments) for t in final.choices[0].message.tool_calls or []] == [
        ("call_1", '{"a":1}')
    ]
    assert final.usage is not None and final.usage.total_tokens == 130


def test_error_stream_makes_the_sdk_raise_and_has_no_done() -> None:
    body = sse([*created(), *message(0, "partial"), WIRE_ERROR])
    assert b"[DONE]" not in body and body.endswith(b"\n\n")
    assert body.split(b"\n\n")[-2].startswith(b'event: error\ndata: {"error"')
    client = client_for(body)
    received: list[str] = []
    with pytest.raises(openai.APIError, match="quota"):
        for chunk in client.chat.completions.create(model="m", messages=[], stream=True):
            received += [c.delta.content or "" for c in chunk.choices]
    assert "".join(received) == "partial"


def test_a_cut_stream_makes_the_sdk_raise() -> None:
    client = client_for(sse([*created(), *message(0, "partial")[:3]]))
    with pytest.raises(openai.APIError, match=r"stream ended before response\.completed"):
        list(client.chat.completions.create(model="m", messages=[], stream=True))


@pytest.mark.parametrize("read_size", [1, 7, 64, 1 << 20])
def test_sse_bytes_in_any_reads_give_the_frames_of_feed_whatever_breaks_a_run(read_size: int) -> None:
    """Runs of plain deltas are taken in one loop per read (``_take_run``) and written straight into
    frames (``ChatSSEWriter``); every event that must leave the run goes the general way: another
    sub-index, logprobs, a missing content_index, a lone surrogate, another item, a reasoning part,
    then the terminal event."""
    text = message(1, "a b c d e f g h")
    deltas = [i for i, event in enumerate(text) if event["type"] == "response.output_text.delta"]
    text[deltas[2]] = {**text[deltas[2]], "delta": "c \ud83d"}  # lone surrogate inside the run
    text[deltas[3]] = {**text[deltas[3]], "logprobs": [{"token": "d", "logprob": -0.5, "bytes": [100]}]}
    del text[deltas[5]]["content_index"]  # taken as 0 by the general path
    events = [
        *created(),
        *reasoning_summary(0, ["think", " more", " still"]),
        *text,
        *function_call(2, "call_1", "f", '{"a":[1,2,3]}', deltas=['{"a"', ":[1", ",2", ",3]", "}"]),
        completed(),
    ]
    body = b"".join(encode_sse(event, event=event["type"]) for event in events)
    # (encode_sse wrote the lone surrogate as U+FFFD: the translation of the bytes is that of their events)
    expected = b"".join(encode_sse(c) for c in run(list(iter_sse([body])))) + DONE_FRAME
    reads = [body[i : i + read_size] for i in range(0, len(body), read_size)]
    assert sse(reads) == expected
    assert '"content":"c \ufffd"' in expected.decode()  # the writer repaired the lone surrogate
    final = sdk_final(run(events))
    assert final.choices[0].message.content == "a b c \ud83dd e f g h"
    logprobs = final.choices[0].logprobs
    assert logprobs is not None and [(t.token, t.logprob) for t in logprobs.content or []] == [("d", -0.5)]
    calls = final.choices[0].message.tool_calls or []
    assert [call.function.arguments for call in calls] == ['{"a":[1,2,3]}']
