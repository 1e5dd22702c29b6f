"""Malformed input never escapes as anything but a TranslatorError, and what was received is kept.

Hypothesis builds chunk/event-shaped dicts whose fields hold the wrong types; each translator must
either translate them or raise a :class:`TranslatorError` (never a ``KeyError``/``TypeError``/...).
When it does translate, ``close()`` still ends the stream with exactly one terminal event (or
error chunk), and the events validate against the SDK.
"""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk
from support.sdk import validate_responses_events

from translator.engine.sse import encode_sse
from translator.errors import TranslatorError
from translator.ids import SequentialIds, fixed_clock
from translator.streams.chat_to_responses import ChatToResponses
from translator.streams.responses_to_chat import ResponsesToChat

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
        "response.content_part.done",
        "response.output_text.delta",
        "response.output_text.done",
        "response.refusal.delta",
        "response.refusal.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.custom_tool_call_input.delta",
        "response.custom_tool_call_input.done",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_text.delta",
        "response.output_item.done",
        "response.completed",
        "response.incomplete",
        "response.failed",
        "error",
        "response.output_text.annotation.added",
    ]
)
# Text may hold lone UTF-16 surrogates (an emoji split by a JavaScript upstream): writers must cope.
text = st.text(alphabet=st.characters(codec=None, categories=None), max_size=3) | st.sampled_from(
    ["\ud83d", "\ude00", "a\ud83d"]
)
ident = maybe(st.sampled_from(["msg_1", "fc_1", "ctc_1"]) | st.integers(0, 9))  # numbers: vLLM-style ids
logprob = st.fixed_dictionaries(
    {"token": maybe(st.just("t")), "logprob": maybe(st.just(-0.5))},
    optional={
        "bytes": maybe(st.none() | st.lists(st.integers(0, 255), max_size=2)),
        "top_logprobs": maybe(
            st.lists(
                st.fixed_dictionaries(
                    {"token": maybe(st.just("u")), "logprob": maybe(st.just(-1.0))},
                    optional={"bytes": maybe(st.none() | st.just([117]))},
                ),
                max_size=1,
            )
        ),
    },
)
annotation = st.fixed_dictionaries(
    {"type": maybe(st.just("url_citation"))},
    optional={
        "url": maybe(st.just("https://a.example")),
        "title": maybe(st.just("A")),
        "start_index": maybe(st.integers(0, 3)),
        "end_index": maybe(st.integers(0, 3)),
    },
)
part = st.fixed_dictionaries(
    {"type": maybe(st.sampled_from(["output_text", "refusal", "reasoning_text", "summary_text"]))},
    optional={
        "text": maybe(text),
        "refusal": maybe(text),
        "annotations": maybe(st.lists(annotation, max_size=2)),
        "logprobs": maybe(st.lists(logprob, max_size=1)),
    },
)
item = st.fixed_dictionaries(
    {
        "type": maybe(
            st.sampled_from(["message", "function_call", "custom_tool_call", "reasoning", "web_search_call"])
        )
    },
    optional={
        "id": ident,
        "call_id": maybe(st.just("call_1") | st.integers(0, 3)),
        "name": maybe(st.sampled_from(["f", ""])),
        "arguments": maybe(text),
        "input": maybe(text),
        "content": maybe(st.lists(part, max_size=2)),
        "summary": maybe(st.lists(part, max_size=1)),
    },
)
usage = st.fixed_dictionaries(
    {"input_tokens": maybe(st.integers(0, 3))},
    optional={
        "output_tokens": maybe(st.integers(0, 3)),
        "total_tokens": maybe(st.integers(0, 6)),
        "input_tokens_details": maybe(st.fixed_dictionaries({"cached_tokens": maybe(st.integers(0, 3))})),
        "output_tokens_details": maybe(st.fixed_dictionaries({"reasoning_tokens": maybe(st.integers(0, 3))})),
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
        "usage": maybe(usage),
        "incomplete_details": maybe(st.fixed_dictionaries({"reason": st.just("max_output_tokens")})),
        "service_tier": maybe(st.sampled_from(["default", "fast"])),
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
        "annotation_index": maybe(st.integers(0, 1)),
        "item_id": ident,
        "delta": maybe(text),
        "text": maybe(text),
        "arguments": maybe(text),
        "input": maybe(text),
        "part": maybe(part),
        "annotation": maybe(annotation),
        "logprobs": maybe(st.lists(logprob, max_size=1)),
        "message": maybe(text),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(event, max_size=6))
def test_responses_to_chat_raises_only_translator_errors(events: list[dict[str, Any]]) -> None:
    translator = ResponsesToChat(ids=SequentialIds(), clock=fixed_clock(1))
    chunks: list[dict[str, Any]] = []
    for e in events:
        with contextlib.suppress(TranslatorError):  # a typed error; the translator goes on
            chunks += translator.feed(e)
    chunks += translator.close()
    ended = [c for c in chunks if "error" in c or any(ch.get("finish_reason") for ch in c.get("choices", []))]
    assert len(ended) == 1 and ended[0] is (chunks[-1] if "error" in ended[0] else ended[0])
    # every chunk is one the SDK accepts and accumulates, and every one can be written as UTF-8 SSE
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for chunk in chunks:
        encode_sse(chunk).decode("utf-8")
        if "error" not in chunk:
            state.handle_chunk(ChatCompletionChunk.model_validate(chunk))


def _lenient_sdk_chunks() -> list[tuple[Any, dict[str, Any]]]:
    """SDK chunks built without validation (``model_construct``, as a lenient client or proxy builds an
    error chunk) next to the dicts they stand for: ``choices`` None or not a list, ``tool_calls`` not a
    list."""
    head = {"id": "c1", "object": "chat.completion.chunk", "created": 7, "model": "m"}
    error = {"message": "boom", "code": "server_error"}
    cases: list[dict[str, Any]] = [
        {**head, "choices": None, "error": error},
        {**head, "choices": None, "usage": None},
        {**head, "choices": "nope", "usage": None},
    ]
    return [(ChatCompletionChunk.model_construct(**case), case) for case in cases]


def test_sdk_chunks_whose_choices_are_none_are_read_like_their_dicts() -> None:
    # issue 21: a mid-stream ChatCompletionChunk with choices=None raised TypeError on the object path
    good = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 7,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}],
    }
    model = ChatCompletionChunk.model_validate(good)
    for lenient, as_dict in _lenient_sdk_chunks():
        outcomes = []
        for first, odd in ((model, lenient), (good, as_dict)):
            translator = ChatToResponses(ids=SequentialIds(), clock=fixed_clock(1))
            events = translator.feed(first) + translator.feed(first)
            try:
                events += translator.feed(odd)
            except TranslatorError as exc:
                events.append({"raised": type(exc).__name__})
            outcomes.append(events + translator.close())
        assert outcomes[0] == outcomes[1], as_dict
        assert outcomes[0][-1]["type"] == "response.failed"
        validate_responses_events([e for e in outcomes[0] if "type" in e])
