"""Round trip chat -> responses -> chat keeps what a Chat client sees (hypothesis property).

A generated OpenAI-shaped chunk stream (reasoning_content, content, refusal, parallel tool calls,
finish_reason, include_usage chunk, ``[DONE]``) goes through ``ChatToResponses`` and back through
``ResponsesToChat``.  Both ends are accumulated with the SDK's ``ChatCompletionStreamState`` and must
agree on content, refusal, reasoning, tool calls (ids, names, arguments), finish_reason and usage.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk
from support.chat_chunks import ChatChunks

from translator.engine.sse import DONE
from translator.ids import SequentialIds, fixed_clock
from translator.streams.chat_to_responses import ChatToResponses
from translator.streams.responses_to_chat import ResponsesToChat

BASE = {"id": "chatcmpl-src", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": "gpt-rt"}

pieces = st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=5)
names = st.sampled_from(["get_weather", "lookup", "f"])
arguments = st.dictionaries(st.sampled_from(["a", "city", "n"]), st.integers(-5, 5) | st.text(max_size=5))
usage = st.fixed_dictionaries(
    {
        "prompt_tokens": st.integers(0, 10_000),
        "completion_tokens": st.integers(0, 10_000),
        "prompt_tokens_details": st.fixed_dictionaries({"cached_tokens": st.integers(0, 100)}),
        "completion_tokens_details": st.fixed_dictionaries({"reasoning_tokens": st.integers(0, 100)}),
    }
)


chunk = ChatChunks(
    id=BASE["id"], created=BASE["created"], model=BASE["model"], logprobs=True, fields={"usage": None}
)


@st.composite
def chat_streams(draw: st.DrawFn) -> list[Any]:
    import json

    reasoning = draw(st.none() | pieces)
    content = draw(st.none() | pieces)
    refusal = draw(st.none() | pieces) if content is None else None
    calls = draw(st.lists(st.tuples(names, arguments, st.integers(1, 4)), max_size=3))
    chunks: list[Any] = [chunk({"role": "assistant", "content": "" if content else None, "refusal": None})]
    chunks += [chunk({"reasoning_content": p}) for p in reasoning or ()]
    chunks += [chunk({"content": p}) for p in content or ()]
    chunks += [chunk({"refusal": p}) for p in refusal or ()]
    for k, (name, args, splits) in enumerate(calls):
        text = json.dumps(args)
        step = max(1, len(text) // splits)
        first = {
            "index": k,
            "id": f"call_{k}",
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        chunks.append(chunk({"tool_calls": [first]}))
        chunks += [
            chunk({"tool_calls": [{"index": k, "function": {"arguments": text[i : i + step]}}]})
            for i in range(0, len(text), step)
        ]
    finish = "tool_calls" if calls else draw(st.sampled_from(["stop", "length", "content_filter"]))
    chunks.append(chunk({}, finish))
    used = draw(st.none() | usage)
    if used is not None:
        used["total_tokens"] = used["prompt_tokens"] + used["completion_tokens"]
        chunks.append({**BASE, "choices": [], "usage": used})
    chunks.append(DONE)
    return chunks


def accumulate(chunks: list[Any]) -> dict[str, Any]:
    """What a Chat client ends up with (the SDK's snapshot; no parsing, so finish=length is fine)."""
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for item in chunks:
        if item is not DONE:
            assert "error" not in item
            state.handle_chunk(ChatCompletionChunk.model_validate(item))
    snapshot = state.current_completion_snapshot
    choice = snapshot.choices[0]
    message = choice.message
    usage = snapshot.usage
    return {
        "content": message.content or "",
        "refusal": message.refusal or "",
        "reasoning": (message.model_extra or {}).get("reasoning_content", ""),
        "tool_calls": [(t.id, t.function.name, t.function.arguments) for t in message.tool_calls or []],
        "finish_reason": choice.finish_reason,
        "usage": None
        if usage is None
        else (
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.total_tokens,
            usage.prompt_tokens_details.cached_tokens if usage.prompt_tokens_details else 0,
            usage.completion_tokens_details.reasoning_tokens if usage.completion_tokens_details else 0,
        ),
    }


def round_trip(chunks: list[Any]) -> list[dict[str, Any]]:
    forward = ChatToResponses(ids=SequentialIds(), clock=fixed_clock(1))
    events = [e for c in chunks for e in forward.feed(c)] + forward.close()
    back = ResponsesToChat(ids=SequentialIds(), clock=fixed_clock(1))
    return [c for e in events for c in back.feed(e)] + back.close()


@settings(max_examples=100, deadline=None)
@given(chat_streams())
def test_chat_to_responses_to_chat_keeps_what_the_client_sees(chunks: list[Any]) -> None:
    result = round_trip(chunks)
    assert accumulate(result) == accumulate(chunks)
    assert {c["model"] for c in result} == {"gpt-rt"}
    assert {c["created"] for c in result} == {BASE["created"]}


def test_round_trip_example_with_everything() -> None:
    chunks = [
        chunk({"role": "assistant", "content": "", "refusal": None}),
        chunk({"reasoning_content": "think "}),
        chunk({"reasoning_content": "hard"}),
        chunk({"content": "Checking "}),
        chunk({"content": "two cities."}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":"Paris"}'}}]}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "call_b",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":'},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": '"Rome"}'}}]}),
        chunk({}, "tool_calls"),
        {
            **BASE,
            "choices": [],
            "usage": {
                "prompt_tokens": 9,
                "completion_tokens": 4,
                "total_tokens": 13,
                "prompt_tokens_details": {"cached_tokens": 2},
                "completion_tokens_details": {"reasoning_tokens": 1},
            },
        },
        DONE,
    ]
    assert accumulate(round_trip(chunks)) == {
        "content": "Checking two cities.",
        "refusal": "",
        "reasoning": "think hard",
        "tool_calls": [
            ("call_a", "get_weather", '{"city":"Paris"}'),
            ("call_b", "get_weather", '{"city":"Rome"}'),
        ],
        "finish_reason": "tool_calls",
        "usage": (9, 4, 13, 2, 1),
    }
