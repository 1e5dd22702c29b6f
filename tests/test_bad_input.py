"""Malformed input never escapes as anything but a TranslatorError, and what was received is kept.

Hypothesis builds chunk/event-shaped dicts whose fields hold the wrong types; each translator must
either translate them or raise a :class:`TranslatorError` (never a ``KeyError``/``TypeError``/...).
When it does translate, ``close()`` still ends the stream with exactly one terminal event (or
error chunk), and the events validate against the SDK.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sdk import validate_responses_events

from translator.chat_to_responses import ChatToResponses
from translator.errors import TranslatorError
from translator.ids import SequentialIds, fixed_clock
from translator.responses_to_chat import ResponsesToChat

TERMINAL = ("response.completed", "response.incomplete", "response.failed")

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=4))
junk = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
    max_leaves=4,
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the right shape, sometimes junk."""
    return st.one_of(strategy, strategy, strategy, junk)


tool_call = st.fixed_dictionaries(
    {},
    optional={
        "index": maybe(st.integers(0, 2)),
        "id": maybe(st.sampled_from(["call_a", "call_b", ""])),
        "type": maybe(st.just("function")),
        "function": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "name": maybe(st.sampled_from(["f", "g"])),
                    "arguments": maybe(st.sampled_from(["{", "}", '"x"', ""])),
                },
            )
        ),
    },
)
delta = st.fixed_dictionaries(
    {},
    optional={
        "role": maybe(st.just("assistant")),
        "content": maybe(st.text(max_size=5)),
        "refusal": maybe(st.text(max_size=3)),
        "reasoning_content": maybe(st.text(max_size=3)),
        "reasoning": maybe(st.text(max_size=3)),
        "reasoning_details": maybe(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "type": st.sampled_from(["reasoning.text", "reasoning.encrypted"]),
                        "text": st.text(max_size=3),
                        "data": st.text(max_size=3),
                    }
                ),
                max_size=2,
            )
        ),
        "tool_calls": maybe(st.lists(tool_call, max_size=2)),
        "function_call": maybe(
            st.fixed_dictionaries({}, optional={"name": st.just("f"), "arguments": st.text(max_size=3)})
        ),
        "annotations": maybe(st.lists(junk, max_size=2)),
        "audio": maybe(
            st.fixed_dictionaries(
                {}, optional={"data": st.text(max_size=3), "transcript": st.text(max_size=3)}
            )
        ),
    },
)
choice = st.fixed_dictionaries(
    {},
    optional={
        "index": maybe(st.just(0)),
        "delta": maybe(delta),
        "finish_reason": maybe(st.sampled_from([None, "stop", "length", "tool_calls", "content_filter"])),
        "logprobs": maybe(st.none()),
    },
)
chat_chunk = st.fixed_dictionaries(
    {},
    optional={
        "id": maybe(st.just("chatcmpl-1")),
        "created": maybe(st.just(1)),
        "model": maybe(st.just("m")),
        "choices": maybe(st.lists(choice, max_size=1)),
        "usage": maybe(
            st.fixed_dictionaries(
                {"prompt_tokens": maybe(st.integers(0, 5)), "completion_tokens": maybe(st.integers(0, 5))}
            )
        ),
        "error": maybe(st.none()),
        "service_tier": maybe(st.just("default")),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(chat_chunk, max_size=6))
def test_chat_to_responses_raises_only_translator_errors(chunks: list[dict[str, Any]]) -> None:
    translator = ChatToResponses(ids=SequentialIds(), clock=fixed_clock(1))
    events: list[dict[str, Any]] = []
    try:
        for c in chunks:
            events += translator.feed(c)
    except TranslatorError:
        pass
    events += translator.close()  # still ends the stream, with what was received
    assert sum(e["type"] in TERMINAL for e in events) == 1 and events[-1]["type"] in TERMINAL
    validate_responses_events(events)


event_types = st.sampled_from(
    [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.refusal.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.reasoning_summary_text.delta",
        "response.reasoning_text.delta",
        "response.output_item.done",
        "response.completed",
        "response.incomplete",
        "response.failed",
        "error",
        "response.output_text.annotation.added",
    ]
)
item = st.fixed_dictionaries(
    {"type": maybe(st.sampled_from(["message", "function_call", "reasoning", "web_search_call"]))},
    optional={
        "id": maybe(st.sampled_from(["msg_1", "fc_1"])),
        "call_id": maybe(st.just("call_1")),
        "name": maybe(st.just("f")),
        "arguments": maybe(st.text(max_size=3)),
        "content": maybe(st.lists(junk, max_size=2)),
        "summary": maybe(st.lists(junk, max_size=1)),
    },
)
response = st.fixed_dictionaries(
    {},
    optional={
        "id": maybe(st.just("resp_1")),
        "created_at": maybe(st.just(1)),
        "model": maybe(st.just("m")),
        "status": maybe(st.sampled_from(["completed", "incomplete", "failed"])),
        "output": maybe(st.lists(item, max_size=2)),
        "usage": maybe(st.fixed_dictionaries({"input_tokens": maybe(st.integers(0, 3))})),
        "incomplete_details": maybe(st.fixed_dictionaries({"reason": st.just("max_output_tokens")})),
    },
)
event = st.fixed_dictionaries(
    {"type": maybe(event_types)},
    optional={
        "response": maybe(response),
        "item": maybe(item),
        "output_index": maybe(st.integers(0, 2)),
        "content_index": maybe(st.integers(0, 1)),
        "summary_index": maybe(st.integers(0, 1)),
        "item_id": maybe(st.sampled_from(["msg_1", "fc_1"])),
        "delta": maybe(st.text(max_size=3)),
        "text": maybe(st.text(max_size=3)),
        "arguments": maybe(st.text(max_size=3)),
        "part": maybe(junk),
        "annotation": maybe(junk),
        "logprobs": maybe(st.lists(junk, max_size=1)),
        "message": maybe(st.text(max_size=3)),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(event, max_size=6))
def test_responses_to_chat_raises_only_translator_errors(events: list[dict[str, Any]]) -> None:
    translator = ResponsesToChat(ids=SequentialIds(), clock=fixed_clock(1))
    chunks: list[dict[str, Any]] = []
    try:
        for e in events:
            chunks += translator.feed(e)
    except TranslatorError:
        pass
    chunks += translator.close()
    ended = [c for c in chunks if "error" in c or any(ch.get("finish_reason") for ch in c.get("choices", []))]
    assert len(ended) == 1
