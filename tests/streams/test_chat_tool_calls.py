"""Tool calls the way providers really stream them: repeated ids, reused indexes, no index at all,
reasoning and text between argument fragments, interleaved parallel calls, and arguments that come
after a later message (what our own ResponsesToChat sends).  Judged by the official SDK's
``ResponseStreamState`` and our validator.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.chat_chunks import ChatChunks
from support.sdk import accumulate_with_sdk

from translator.engine import json_stream
from translator.engine.sse import DONE
from translator.errors import TranslatorError
from translator.ids import SequentialIds, fixed_clock
from translator.streams.chat_to_responses import ChatToResponses
from translator.streams.responses_to_chat import ResponsesToChat
from translator.testing.validate import validate_chat_stream, validate_responses_stream

TERMINAL = ("response.completed", "response.incomplete", "response.failed")


chunk = ChatChunks(id="c1", created=7, model="m")


def calls(*entries: dict[str, Any]) -> dict[str, Any]:
    return chunk({"tool_calls": list(entries)})


def head(index: int | None, call_id: str | None, name: str, arguments: str = "") -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": arguments}}
    if index is not None:
        entry["index"] = index
    if call_id is not None:
        entry["id"] = call_id
    return entry


def frag(index: int | None, arguments: str, call_id: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"function": {"arguments": arguments}}
    if index is not None:
        entry["index"] = index
    if call_id is not None:
        entry["id"] = call_id
    return entry


def run(chunks: list[Any]) -> list[dict[str, Any]]:
    translator = ChatToResponses(ids=SequentialIds(), clock=fixed_clock(1))
    events: list[dict[str, Any]] = []
    for c in chunks:
        events += translator.feed(c)
    return events + translator.close()


def final(events: list[dict[str, Any]]) -> dict[str, Any]:
    assert sum(e["type"] in TERMINAL for e in events) == 1 and events[-1]["type"] in TERMINAL
    assert validate_responses_stream(events) == []
    sdk = accumulate_with_sdk(events)
    assert sdk is not None
    response: dict[str, Any] = events[-1]["response"]
    assert [item.type for item in sdk.output] == [item["type"] for item in response["output"]]
    return response


def fcalls(response: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (item["call_id"], item["name"], item["arguments"])
        for item in response["output"]
        if item["type"] == "function_call"
    ]


def sequential(events: list[dict[str, Any]]) -> bool:
    """Each item is done before the next one is added (OpenAI's order)."""
    open_items = 0
    for event in events:
        if event["type"] == "response.output_item.added":
            if open_items:
                return False
            open_items += 1
        elif event["type"] == "response.output_item.done":
            open_items -= 1
    return True


# -- ids and indexes ----------------------------------------------------------------------------------


def test_the_same_id_at_two_indexes_gives_two_unique_call_ids() -> None:
    events = run(
        [
            calls(head(0, "call_0", "f", '{"a": 1}')),
            calls(head(1, "call_0", "g", '{"b"')),
            calls(frag(1, ": 2}", "call_0")),  # continuation repeating the id (some providers do)
            chunk({}, "tool_calls"),
        ]
    )
    response = final(events)
    assert fcalls(response) == [("call_0", "f", '{"a": 1}'), ("call_0_2", "g", '{"b": 2}')]


def test_three_calls_sharing_an_id_and_one_already_named_like_the_suffix() -> None:
    events = run(
        [
            calls(head(0, "x_2", "a", "{}")),
            calls(head(1, "x", "b", "{}")),
            calls(head(2, "x", "c", "{}")),
            calls(head(3, "x", "d", "{}")),
            chunk({}, "tool_calls"),
        ]
    )
    ids = [call_id for call_id, _, _ in fcalls(final(events))]
    assert ids == ["x_2", "x", "x_3", "x_4"]


def test_google_sends_every_parallel_call_at_index_0_with_its_own_id() -> None:
    events = run(
        [
            calls(head(0, "g1", "weather", '{"city": "Paris"}')),
            calls(head(0, "g2", "weather", '{"city": "Rome"}')),
            calls(head(0, "g3", "time", "")),
            calls(frag(0, "{}")),  # no id: continues the latest call at index 0
            chunk({}, "tool_calls"),
        ]
    )
    assert fcalls(final(events)) == [
        ("g1", "weather", '{"city": "Paris"}'),
        ("g2", "weather", '{"city": "Rome"}'),
        ("g3", "time", "{}"),
    ]


def test_entries_with_neither_index_nor_id_in_one_list_are_separate_calls() -> None:
    events = run(
        [
            calls(
                {"function": {"name": "f", "arguments": '{"a": 1}'}},
                {"function": {"name": "g", "arguments": '{"b": 2}'}},
            ),
            chunk({}, "tool_calls"),
        ]
    )
    found = fcalls(final(events))
    assert [(name, args) for _, name, args in found] == [("f", '{"a": 1}'), ("g", '{"b": 2}')]
    assert len({call_id for call_id, _, _ in found}) == 2


def test_index_less_fragments_continue_the_last_call_and_a_new_name_starts_one() -> None:
    events = run(
        [
            calls({"function": {"name": "f", "arguments": '{"a":'}}),
            calls({"function": {"arguments": " 1}"}}),
            calls({"function": {"name": "f", "arguments": '{"a": 2}'}}),  # same name, earlier one complete
            calls({"id": "k", "function": {"name": "h", "arguments": "{"}}),
            calls({"id": "k", "function": {"arguments": "}"}}),
            chunk({}, "tool_calls"),
        ]
    )
    assert [(n, a) for _, n, a in fcalls(final(events))] == [
        ("f", '{"a": 1}'),
        ("f", '{"a": 2}'),
        ("h", "{}"),
    ]


# -- what arrives between argument fragments -------------------------------------------------------------


def test_encrypted_reasoning_between_fragments_does_not_close_the_call() -> None:
    events = run(
        [
            calls(head(0, "c", "f", '{"q": ')),
            chunk({"reasoning_details": [{"type": "reasoning.encrypted", "data": "SECRET", "format": "x"}]}),
            calls(frag(0, '"v"}')),
            chunk({}, "tool_calls"),
        ]
    )
    response = final(events)
    assert sequential(events)
    assert [item["type"] for item in response["output"]] == ["function_call", "reasoning"]
    assert fcalls(response) == [("c", "f", '{"q": "v"}')]
    assert response["output"][1]["encrypted_content"] == "SECRET"


def test_encrypted_reasoning_inside_a_message_does_not_split_it() -> None:
    events = run(
        [
            chunk({"content": "Hel"}),
            chunk({"reasoning_details": [{"type": "reasoning.encrypted", "data": "S1"}]}),
            chunk({"content": "lo"}),
            chunk({}, "stop"),
        ]
    )
    response = final(events)
    assert [item["type"] for item in response["output"]] == ["message", "reasoning"]
    assert response["output"][0]["content"][0]["text"] == "Hello"
    assert response["output"][1]["encrypted_content"] == "S1"


@pytest.mark.parametrize(
    "between",
    [
        {"content": "by the way"},
        {"reasoning_content": "hmm"},
        {"reasoning": "hmm"},
        {"refusal": "no"},
        {"reasoning_details": [{"type": "reasoning.text", "text": "hmm"}]},
        {"annotations": [{"type": "url_citation", "url_citation": {"url": "https://a.b", "title": "t"}}]},
    ],
    ids=["content", "reasoning_content", "reasoning", "refusal", "reasoning_text_detail", "annotation"],
)
def test_content_between_fragments_waits_for_the_call_to_complete(between: dict[str, Any]) -> None:
    events = run(
        [
            calls(head(0, "c", "f", '{"q": ')),
            chunk(between),
            calls(frag(0, '"v"}')),
            calls(head(1, "d", "g", "{}")),
            chunk({}, "tool_calls"),
        ]
    )
    response = final(events)
    assert sequential(events)
    assert fcalls(response)[0] == ("c", "f", '{"q": "v"}')
    assert response["output"][0]["type"] == "function_call"
    assert fcalls(response)[1] == ("d", "g", "{}")


def test_held_content_is_released_by_the_fragment_that_completes_the_call() -> None:
    translator = ChatToResponses(ids=SequentialIds(), clock=fixed_clock(1))
    translator.feed(calls(head(0, "c", "f", '{"q": ')))
    assert translator.feed(chunk({"content": "x"})) == []
    released = translator.feed(calls(frag(0, "1}")))
    assert released[0]["type"] == "response.function_call_arguments.delta"
    assert "response.output_text.delta" in [e["type"] for e in released]


def test_a_call_that_never_completes_still_delivers_the_held_text_at_the_end() -> None:
    events = run([calls(head(0, "c", "f", '{"q": ')), chunk({"content": "tail"}), chunk({}, "stop")])
    response = final(events)
    assert fcalls(response) == [("c", "f", '{"q": ')]
    assert response["output"][1]["content"][0]["text"] == "tail"


# -- arguments after a later message (issue 12, item 12) -----------------------------------------------


def test_arguments_after_a_later_message_are_accepted() -> None:
    """A header alone does not open the item: the call opens with its first fragment."""
    events = run(
        [
            calls(head(0, "call_1", "f")),
            chunk({"content": "Let me check."}),
            calls(frag(0, '{"a":1}')),
            chunk({}, "tool_calls"),
        ]
    )
    response = final(events)
    assert sequential(events)
    assert [item["type"] for item in response["output"]] == ["message", "function_call"]
    assert fcalls(response) == [("call_1", "f", '{"a":1}')]


def responses_event_stream() -> list[dict[str, Any]]:
    shell = {"id": "resp_1", "object": "response", "created_at": 1, "model": "m", "output": []}
    call = {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "f", "status": "in_progress"}
    message = {"id": "msg_1", "type": "message", "role": "assistant", "status": "in_progress", "content": []}
    part = {"type": "output_text", "text": "", "annotations": []}
    done_call = {**call, "arguments": '{"a": 1}', "status": "completed"}
    done_message = {**message, "status": "completed", "content": [{**part, "text": "hi"}]}
    events = [
        {"type": "response.created", "response": {**shell, "status": "in_progress"}},
        {"type": "response.output_item.added", "output_index": 0, "item": {**call, "arguments": ""}},
        {"type": "response.output_item.added", "output_index": 1, "item": message},
        {
            "type": "response.content_part.added",
            "output_index": 1,
            "item_id": "msg_1",
            "content_index": 0,
            "part": part,
        },
        {
            "type": "response.output_text.delta",
            "output_index": 1,
            "item_id": "msg_1",
            "content_index": 0,
            "delta": "hi",
            "logprobs": [],
        },
        {
            "type": "response.completed",
            "response": {**shell, "status": "completed", "output": [done_call, done_message]},
        },
    ]
    return [{**event, "sequence_number": n} for n, event in enumerate(events)]


def test_round_trip_of_a_call_known_only_from_the_terminal_response() -> None:
    reverse = ResponsesToChat(ids=SequentialIds(), clock=fixed_clock(1))
    chat: list[Any] = []
    for event in responses_event_stream():
        chat += reverse.feed(event)
    chat += [*reverse.close(), DONE]
    assert validate_chat_stream(chat) == []
    response = final(run(chat))
    assert fcalls(response) == [("call_1", "f", '{"a": 1}')]
    texts = [i["content"][0]["text"] for i in response["output"] if i["type"] == "message"]
    assert texts == ["hi"]


def test_what_chat_to_responses_writes_reads_back_through_responses_to_chat() -> None:
    """The other way: our Responses output of a tricky chat stream goes back to Chat unchanged in meaning."""
    chat = [
        calls(head(0, "x", "f", '{"q": ')),
        chunk({"content": "between"}),
        calls(head(1, "x", "g", "{}")),
        calls(frag(0, "1}")),
        chunk({}, "tool_calls"),
    ]
    events = run(chat)
    final(events)
    reverse = ResponsesToChat(ids=SequentialIds(), clock=fixed_clock(1))
    back: list[Any] = []
    for event in events:
        back += reverse.feed(event)
    back += reverse.close()
    assert validate_chat_stream([*back, DONE]) == []
    names = {}
    for c in back:
        for choice in c.get("choices", []):
            for entry in choice["delta"].get("tool_calls") or []:
                if entry.get("id"):
                    names[entry["index"]] = (entry["id"], entry["function"]["name"])
    assert sorted(names.values()) == [("x", "f"), ("x_2", "g")]


# -- linear time on interleaved fragments -----------------------------------------------------------------


def test_interleaved_fragments_are_each_scanned_once(monkeypatch: pytest.MonkeyPatch) -> None:
    scanned = []
    original = json_stream.JsonCompleteness.feed

    def counting(self: json_stream.JsonCompleteness, fragment: str) -> None:
        scanned.append(len(fragment))
        original(self, fragment)

    monkeypatch.setattr(json_stream.JsonCompleteness, "feed", counting)
    parsed = []
    real_loads = orjson.loads

    def counting_loads(data: Any) -> Any:
        parsed.append(len(data))
        return real_loads(data)

    monkeypatch.setattr(json_stream.orjson, "loads", counting_loads)
    n = 2000
    chunks = [calls(head(0, "a", "f", '{"t": "')), calls(head(1, "b", "g", '{"t": "'))]
    for _ in range(n):
        chunks += [calls(frag(0, "ab")), calls(frag(1, "cd"))]
    chunks += [calls(frag(0, '"}')), calls(frag(1, '"}')), chunk({}, "tool_calls")]
    response = final(run(chunks))
    assert fcalls(response)[1][2] == '{"t": "' + "cd" * n + '"}'
    total = sum(len(c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]) for c in chunks[:-1])
    assert sum(scanned) <= total  # every fragment scanned at most once: linear, not quadratic
    assert len(parsed) <= 2  # each call's text parsed once, to confirm it is valid JSON


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(alphabet='{}[]",:\\ab1 ', max_size=30),
    cuts=st.lists(st.integers(0, 30), max_size=6),
)
def test_completeness_agrees_with_parsing_the_whole_text(text: str, cuts: list[int]) -> None:
    scan = json_stream.JsonCompleteness()
    points = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    for start, end in pairwise(points):
        scan.feed(text[start:end])
    try:
        orjson.loads(text)
        valid = True
    except orjson.JSONDecodeError:
        valid = False
    assert scan.complete == valid


# -- the SDK-object path agrees with the dict path -------------------------------------------------------

delta_strategy = st.one_of(
    st.builds(lambda t: {"content": t}, st.text(max_size=3)),
    st.builds(lambda t: {"reasoning_content": t}, st.text(max_size=3)),
    st.builds(lambda t: {"reasoning": t, "content": None}, st.text(max_size=3)),
    st.builds(lambda t: {"refusal": t}, st.text(max_size=2)),
    st.builds(
        lambda i, a: {"tool_calls": [frag(i, a)]}, st.integers(0, 2), st.sampled_from(["{", "}", '"a"', ""])
    ),
    st.builds(
        lambda i, c, n: {"tool_calls": [head(i, c, n)]},
        st.integers(0, 2),
        st.sampled_from(["x", "y", None]),
        st.sampled_from(["f", "g"]),
    ),
    st.just({"reasoning_details": [{"type": "reasoning.encrypted", "data": "e"}]}),
    st.just({"role": "assistant", "content": ""}),
    st.just({"audio": {"id": "a", "transcript": "hi"}}),
)


@settings(max_examples=80, deadline=None)
@given(
    deltas=st.lists(delta_strategy, max_size=12),
    finish=st.sampled_from(["stop", "tool_calls", "abort", None]),
)
def test_sdk_objects_give_the_events_of_their_dicts(deltas: list[dict[str, Any]], finish: str | None) -> None:
    from openai._models import construct_type
    from openai.types.chat import ChatCompletionChunk

    chunks = [chunk(d) for d in deltas] + ([chunk({}, finish)] if finish else [])
    objects = [construct_type(type_=ChatCompletionChunk, value=c) for c in chunks]
    expected = run_catching([o.to_dict(warnings=False) for o in objects])
    assert run_catching(objects) == expected
    final(expected[0])


def run_catching(chunks: list[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Events and the typed errors raised on the way (a random stream may hold a call's fragment
    after the call closed, which is an error on both paths alike)."""
    translator = ChatToResponses(ids=SequentialIds(), clock=fixed_clock(1))
    events: list[dict[str, Any]] = []
    errors: list[str] = []
    for c in chunks:
        try:
            events += translator.feed(c)
        except TranslatorError as exc:
            errors.append(str(exc))
    return events + translator.close(), errors
