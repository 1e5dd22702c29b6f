"""Parallel calls whose argument fragments interleave keep their output order (issue 21, item 6).

A Responses stream may add two calls and then interleave their argument deltas, a later call's first.
``ResponsesToChat`` sends both headers in order (tool_call indexes 0 and 1) and then the fragments as
they come; ``ChatToResponses`` opened a call's item with its first fragment, so the later call's item
opened first and the round trip Responses -> Chat -> Responses swapped the calls.  Items now open in
the order the calls started (by Chat tool_call index): a call waits for an earlier one whose item has
not opened, and what waited goes out in order.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from support.chat_chunks import ChatChunks
from support.responses_events import completed, created, function_call
from support.sdk import accumulate_with_sdk

from translator.engine.sse import DONE
from translator.ids import SequentialIds, fixed_clock
from translator.streams.chat_to_responses import ChatToResponses
from translator.streams.responses_to_chat import ResponsesToChat
from translator.testing.validate import validate_responses_stream

chunk = ChatChunks(id="c1", created=7, model="m")


def to_chat(events: list[dict[str, Any]]) -> list[Any]:
    translator = ResponsesToChat(ids=SequentialIds(), clock=fixed_clock(1))
    return [c for e in events for c in translator.feed(e)] + translator.close()


def to_responses(chunks: list[Any]) -> list[dict[str, Any]]:
    translator = ChatToResponses(ids=SequentialIds(), clock=fixed_clock(1))
    events = [e for c in chunks for e in translator.feed(c)] + translator.close()
    assert validate_responses_stream(events) == []
    assert accumulate_with_sdk(events) is not None
    return events


def calls_of(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (i["call_id"], i["arguments"])
        for i in events[-1]["response"]["output"]
        if i["type"] == "function_call"
    ]


def interleaved(calls: list[tuple[str, str, list[str]]], order: list[int]) -> list[dict[str, Any]]:
    """The Responses events of ``calls`` (call_id, arguments, fragments): every call added first, then
    the fragments in ``order`` (a call's number per fragment), then each call's done events."""
    streams = [
        function_call(n, call_id, "f", arguments, deltas=pieces)
        for n, (call_id, arguments, pieces) in enumerate(calls)
    ]
    added = [s[0] for s in streams]
    deltas = [[e for e in s if e["type"].endswith(".delta")] for s in streams]
    middle = [deltas[n].pop(0) for n in order]
    finished = [e for s in streams for e in s[1:] if not e["type"].endswith(".delta")]
    events = [*created(), *added, *middle, *finished, completed()]
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


def test_a_later_calls_fragment_first_keeps_the_order_through_a_round_trip() -> None:
    calls = [("call_a", '{"x": 1}', ['{"x"', ": 1}"]), ("call_b", '{"y": 2}', ['{"y"', ": 2}"])]
    events = interleaved(calls, [1, 0, 1, 0])
    assert [(c[0], c[1]) for c in calls] == calls_of(to_responses(to_chat(events)))


def test_chat_fragments_of_a_later_call_first_open_in_index_order() -> None:
    def entry(index: int, arguments: str, call_id: str | None = None) -> Any:
        body: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
        if call_id:
            body.update(id=call_id, type="function")
            body["function"]["name"] = "f"
        return chunk({"tool_calls": [body]})

    stream = [
        entry(0, "", "call_a"),
        entry(1, "", "call_b"),
        entry(1, '{"y": 2}'),  # call 1 complete before call 0 has any argument
        entry(0, '{"x": 1}'),
        chunk({}, "tool_calls"),
        DONE,
    ]
    events = to_responses(stream)
    assert calls_of(events) == [("call_a", '{"x": 1}'), ("call_b", '{"y": 2}')]
    # call_b's deltas went out when call_a's item had opened and finished: nothing was held longer
    added = [e["item"]["call_id"] for e in events if e["type"] == "response.output_item.added"]
    assert added == ["call_a", "call_b"]


def test_a_header_without_arguments_still_comes_first_at_the_finish() -> None:
    stream = [
        chunk(
            {"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "now"}}]}
        ),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "call_b",
                        "type": "function",
                        "function": {"name": "f", "arguments": "{}"},
                    }
                ]
            }
        ),
        chunk({}, "tool_calls"),
        DONE,
    ]
    assert calls_of(to_responses(stream)) == [("call_a", ""), ("call_b", "{}")]


def test_text_between_is_not_held_by_a_call_that_has_not_opened() -> None:
    # a header alone (arguments only from the terminal response, as ResponsesToChat sends them) does not
    # hold text back: only calls wait for calls
    stream = [
        chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "f"}}]}),
        chunk({"content": "hello"}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}),
        chunk({}, "tool_calls"),
        DONE,
    ]
    events = to_responses(stream)
    assert [i["type"] for i in events[-1]["response"]["output"]] == ["message", "function_call"]


@st.composite
def parallel_calls(draw: st.DrawFn) -> tuple[list[tuple[str, str, list[str]]], list[int]]:
    count = draw(st.integers(2, 4))
    calls = []
    for n in range(count):
        arguments = json.dumps({"k": draw(st.text("ab", max_size=6)), "n": n})
        cuts = sorted(draw(st.sets(st.integers(1, len(arguments) - 1), max_size=3)))
        pieces = [arguments[i:j] for i, j in zip([0, *cuts], [*cuts, len(arguments)], strict=True)]
        calls.append((f"call_{n}", arguments, pieces))
    order = [n for n, call in enumerate(calls) for _ in call[2]]
    return calls, draw(st.permutations(order))


@settings(max_examples=200, deadline=None)
@given(parallel_calls())
def test_any_interleaving_keeps_the_output_order(
    case: tuple[list[tuple[str, str, list[str]]], list[int]],
) -> None:
    calls, order = case
    events = interleaved(calls, order)
    assert calls_of(to_responses(to_chat(events))) == [(c[0], c[1]) for c in calls]
