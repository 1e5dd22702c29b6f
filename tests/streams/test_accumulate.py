"""Accumulators: corpus streams vs the SDK's own stream states and terminal events; agreement property."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.completion_usage import CompletionUsage
from openai.types.responses import Response
from support.chat_chunks import ChatChunks
from support.corpus import corpus_params

from translator.convert.objects import chat_completion_to_response, response_to_chat_completion
from translator.engine.sse import DONE, StreamDecoder
from translator.errors import InvalidChunkError, StreamError
from translator.ids import SequentialIds, fixed_clock
from translator.streams.accumulate import (
    ChatAccumulator,
    ResponsesAccumulator,
    accumulate_chat,
    accumulate_responses,
)
from translator.streams.chat_to_responses import translate_chat_stream
from translator.streams.responses_to_chat import translate_responses_stream
from translator.testing.normalize import normalize


def payloads(path: Path) -> list[Any]:
    decoder = StreamDecoder()
    return decoder.feed(path.read_bytes()) + decoder.close()


def sdk_completion(items: list[Any]) -> dict[str, Any] | None:
    """What the openai SDK's ChatCompletionStreamState makes of the stream, or None if it cannot."""
    state = ChatCompletionStreamState()
    try:
        for item in items:
            if item is DONE:
                continue
            state.handle_chunk(ChatCompletionChunk.model_validate({"choices": [], **item}))
        result: dict[str, Any] = state.get_final_completion().model_dump(mode="json")
    except Exception:  # the SDK rejects many provider streams (see the corpus notes); nothing to compare
        return None
    return result


def usage(value: dict[str, Any] | None) -> Any:
    return None if value is None else CompletionUsage.model_validate(value).model_dump(mode="json")


# ----------------------------------------------------------------------------- corpus: Chat


@pytest.mark.parametrize("path", corpus_params("chat", "*.sse"))
def test_corpus_chat_stream_accumulates_like_the_sdk(path: Path) -> None:
    items = payloads(path)
    if any(item is not DONE and item.get("error") is not None for item in items):
        with pytest.raises(StreamError, match="reported an error") as info:
            accumulate_chat([path.read_bytes()])
        assert info.value.field == "error"
        return
    mine = accumulate_chat([path.read_bytes()])
    ChatCompletion.model_validate(mine)
    assert accumulate_chat(items) == mine  # bytes and decoded payloads agree
    assert [c["index"] for c in mine["choices"]] == sorted(
        {c["index"] for i in items if i is not DONE for c in i.get("choices") or []}
    )
    sdk = sdk_completion(items)
    if sdk is None:
        return
    assert len(mine["choices"]) == len(sdk["choices"])
    for ours, theirs in zip(mine["choices"], sdk["choices"], strict=True):
        assert ours["message"]["content"] == theirs["message"]["content"]
        assert ours["message"]["refusal"] == theirs["message"]["refusal"]
        our_calls = ours["message"].get("tool_calls") or []
        their_calls = theirs["message"].get("tool_calls") or []
        assert [c["function"] for c in our_calls] == [
            {"name": c["function"]["name"], "arguments": c["function"]["arguments"]} for c in their_calls
        ]
        for our_call, their_call in zip(our_calls, their_calls, strict=True):
            # the SDK concatenates an id that a provider repeats on every delta (TGI sends "0" each time)
            assert their_call["id"] == our_call["id"] * (len(their_call["id"]) // max(len(our_call["id"]), 1))
        if theirs["finish_reason"] is not None:
            assert ours["finish_reason"] == theirs["finish_reason"]
    if sdk.get("usage") is not None:
        assert usage(mine.get("usage")) == sdk["usage"]


chunk = ChatChunks(id="chatcmpl-1", created=1, model="m")


def test_tool_calls_keyed_by_index_with_gaps_and_no_id_continuations() -> None:
    stream = [
        chunk({"role": "assistant", "content": None}),
        chunk({"tool_calls": [{"index": 3, "function": {"arguments": '"}'}}]}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "f", "arguments": ""},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 1, "id": "", "function": {"arguments": '{"x":'}}]}),
        chunk(
            {"tool_calls": [{"index": 3, "id": "call_b", "function": {"name": "g", "arguments": '{"y":"'}}]}
        ),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": "1}"}}]}),
        chunk({}, finish_reason="tool_calls"),
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
        },
        DONE,
    ]
    completion = accumulate_chat(stream)
    ChatCompletion.model_validate(completion)
    message = completion["choices"][0]["message"]
    assert message["tool_calls"] == [
        {"id": "call_a", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}},
        {"id": "call_b", "type": "function", "function": {"name": "g", "arguments": '"}{"y":"'}},
    ]
    assert completion["usage"] == {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    assert completion["choices"][0]["finish_reason"] == "tool_calls"


def test_reused_index_with_a_new_id_is_a_new_call_and_missing_index_continues() -> None:
    stream = [
        chunk({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": "{}"}}]}),
        chunk({"tool_calls": [{"index": 0, "id": "b", "function": {"name": "g", "arguments": "{"}}]}),
        chunk({"tool_calls": [{"function": {"arguments": "}"}}]}),
    ]
    calls = accumulate_chat(stream)["choices"][0]["message"]["tool_calls"]
    assert [(c["id"], c["function"]["arguments"]) for c in calls] == [("a", "{}"), ("b", "{}")]


def test_out_of_order_choices_refusal_reasoning_logprobs_and_annotations() -> None:
    logprob = {"token": "a", "logprob": -1.0, "bytes": [97], "top_logprobs": []}
    citation = {
        "type": "url_citation",
        "url_citation": {"url": "u", "title": "t", "start_index": 0, "end_index": 1},
    }
    stream = [
        chunk({"role": "assistant", "content": ""}, index=2),
        chunk({"reasoning_content": "th"}, index=0),
        chunk({"reasoning_content": "ink", "content": "a"}, index=0, logprobs=None),
        chunk({"refusal": "no"}, index=2),
        chunk({"annotations": [citation]}, index=0),
        chunk({"annotations": [citation]}, index=0),  # OpenRouter repeats them
        chunk({}, index=2, finish_reason="stop"),
        chunk({}, index=0, finish_reason="length"),
    ]
    stream[2]["choices"][0]["logprobs"] = {"content": [logprob], "refusal": None}
    completion = accumulate_chat(stream)
    ChatCompletion.model_validate(completion)
    first, second = completion["choices"]
    assert (first["index"], second["index"]) == (0, 2)
    assert first["message"]["content"] == "a" and first["message"]["reasoning_content"] == "think"
    assert first["message"]["annotations"] == [citation]
    assert first["logprobs"] == {"content": [logprob], "refusal": []}
    assert first["finish_reason"] == "length"
    assert second["message"] == {"role": "assistant", "content": "", "refusal": "no"}


def test_no_finish_reason_is_derived_and_sdk_objects_and_bytes_are_accepted() -> None:
    stream = [chunk({"role": "assistant", "content": "hi"})]
    sse = b"".join(b"data: " + __import__("orjson").dumps(c) + b"\n\n" for c in stream)
    accumulator = ChatAccumulator()
    assert accumulator.feed(sse[:7]) == [] and accumulator.feed(sse[7:]) == []
    accumulator.close()
    assert accumulator.result()["choices"][0]["finish_reason"] == "stop"
    sdk_chunks = [ChatCompletionChunk.model_validate(c) for c in stream]
    assert accumulate_chat(sdk_chunks)["choices"][0]["message"]["content"] == "hi"
    with pytest.raises(InvalidChunkError):
        accumulate_chat([{"choices": "nope"}])


# ----------------------------------------------------------------------------- corpus: Responses


@pytest.mark.parametrize("path", corpus_params("responses", "*.sse"))
def test_corpus_responses_stream_accumulates_to_the_terminal_output(path: Path) -> None:
    events = [e for e in payloads(path) if e is not DONE]
    terminal = [
        e for e in events if e.get("type") in ("response.completed", "response.incomplete", "response.failed")
    ]
    result = accumulate_responses([path.read_bytes()])
    assert result["status"] == (
        terminal[-1]["response"]["status"] if terminal else events[-1]["response"]["status"]
    )
    # accumulate only the item events (no terminal event): the items rebuilt from the deltas and done
    # events must equal what the terminal event reports (ids/ciphertext normalized: providers rotate them)
    rebuilt = accumulate_responses(
        [e for e in events if e.get("type") not in ("response.completed", "response.incomplete")]
    )
    if not terminal or not terminal[-1]["response"].get("output"):
        assert result["output"] == rebuilt["output"]
        return
    expected = terminal[-1]["response"]["output"]
    if path.stem == "openai__mcp_list_tools_three_servers_missing_item_done":
        # some mcp_list_tools items never get their output_item.done: their tools arrive only at the end
        differing = [i for i, (a, b) in enumerate(zip(expected, rebuilt["output"], strict=True)) if a != b]
        assert differing and {expected[i]["type"] for i in differing} == {"mcp_list_tools"}
        assert all(rebuilt["output"][i]["tools"] == [] for i in differing)
        return
    assert normalize(rebuilt["output"]) == normalize(expected)


def test_responses_deltas_without_done_events() -> None:
    events = [
        {
            "type": "response.created",
            "sequence_number": 0,
            "response": {
                "id": "resp_1",
                "object": "response",
                "created_at": 1,
                "status": "in_progress",
                "model": "m",
                "output": [],
                "tools": [],
                "tool_choice": "auto",
                "parallel_tool_calls": True,
            },
        },
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {"id": "rs_1", "type": "reasoning", "summary": []},
        },
        {
            "type": "response.reasoning_summary_text.delta",
            "output_index": 0,
            "item_id": "rs_1",
            "summary_index": 0,
            "delta": "hm",
        },
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "item": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "status": "in_progress",
                "content": [],
            },
        },
        {
            "type": "response.output_text.delta",
            "item_id": "msg_1",
            "output_index": 1,
            "content_index": 0,
            "delta": "Hel",
        },
        {"type": "response.output_text.delta", "item_id": "msg_1", "content_index": 0, "delta": "lo"},
        {
            "type": "response.refusal.delta",
            "item_id": "msg_1",
            "output_index": 1,
            "content_index": 1,
            "delta": "no",
        },
        {
            "type": "response.output_item.added",
            "output_index": 2,
            "item": {"id": "fc_1", "type": "function_call", "call_id": "c", "name": "f", "arguments": ""},
        },
        {
            "type": "response.function_call_arguments.delta",
            "item_id": "fc_1",
            "output_index": 2,
            "delta": "{}",
        },
        {"type": "error", "sequence_number": 9, "error": {"code": "server_error", "message": "boom"}},
    ]
    response = accumulate_responses(events)
    assert response["status"] == "failed" and response["error"] == {"code": "server_error", "message": "boom"}
    assert response["output"][0]["summary"] == [{"type": "summary_text", "text": "hm"}]
    assert response["output"][1]["content"] == [
        {"type": "output_text", "annotations": [], "text": "Hello"},
        {"type": "refusal", "refusal": "no"},
    ]
    assert response["output"][2]["arguments"] == "{}"
    Response.model_validate(response)
    with pytest.raises(InvalidChunkError):
        ResponsesAccumulator().feed(
            {"type": "response.output_text.delta", "item_id": "unknown", "delta": "x"}
        )


# ----------------------------------------------------------------------------- agreement property

CLOCK = fixed_clock(1_700_000_000)
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=6)


@st.composite
def chat_streams(draw: st.DrawFn) -> list[Any]:
    """An OpenAI-shaped chunk stream: optional reasoning, text and tool calls, a finish_reason, usage."""
    reasoning = draw(st.lists(_text, max_size=3))
    texts = draw(st.lists(_text, max_size=4))
    calls = draw(st.lists(st.tuples(_text, st.lists(_text, min_size=1, max_size=3)), max_size=2))
    finish = "tool_calls" if calls else draw(st.sampled_from(["stop", "length"]))
    stream: list[Any] = [chunk({"role": "assistant", "content": "" if texts else None, "refusal": None})]
    stream += [chunk({"reasoning_content": r}) for r in reasoning]
    stream += [chunk({"content": t}) for t in texts]
    for k, (name, pieces) in enumerate(calls):
        first = {
            "index": k,
            "id": f"call_{k}",
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        stream.append(chunk({"tool_calls": [first]}))
        stream += [chunk({"tool_calls": [{"index": k, "function": {"arguments": p}}]}) for p in pieces]
    stream.append(chunk({}, finish_reason=finish))
    if draw(st.booleans()):
        tokens = draw(st.integers(0, 50))
        stream.append(
            {
                **chunk({}),
                "choices": [],
                "usage": {"prompt_tokens": 3, "completion_tokens": tokens, "total_tokens": 3 + tokens},
            }
        )
    stream.append(DONE)
    return stream


def comparable_response(response: dict[str, Any]) -> Any:
    """What both paths must agree on: status, usage and the items' content (synthesized ids normalized)."""
    items = []
    for item in response["output"]:
        item = {k: v for k, v in item.items() if k not in ("status",)}
        if item["type"] == "message":
            item["content"] = [
                {k: v for k, v in p.items() if not (k == "logprobs" and not v)} for p in item["content"]
            ]
        if item["type"] == "reasoning":
            item = {k: v for k, v in item.items() if v not in ([], None)}
        items.append(item)
    return normalize(
        {
            "status": response["status"],
            "incomplete_details": response.get("incomplete_details"),
            "usage": response.get("usage"),
            "output": items,
        }
    )


@settings(max_examples=100, deadline=None)
@given(chat_streams())
def test_accumulate_then_convert_agrees_with_translate_then_accumulate_chat_side(stream: list[Any]) -> None:
    translated = accumulate_responses(translate_chat_stream(stream, ids=SequentialIds(), clock=CLOCK))
    converted = chat_completion_to_response(accumulate_chat(stream), ids=SequentialIds(), clock=CLOCK)
    Response.model_validate(translated)
    Response.model_validate(converted)
    assert comparable_response(translated) == comparable_response(converted)


def comparable_completion(completion: dict[str, Any]) -> Any:
    choice = completion["choices"][0]
    # "" and None both say "no text": the stream's role chunk carries content "" (OpenAI's shape)
    message = {k: v for k, v in choice["message"].items() if v not in (None, [], "")}
    return {
        "message": message,
        "finish_reason": choice["finish_reason"],
        "usage": usage(completion.get("usage")),
    }


def _responses_agree(events: list[Any]) -> None:
    translated = accumulate_chat(translate_responses_stream(events, ids=SequentialIds(), clock=CLOCK))
    converted = response_to_chat_completion(accumulate_responses(events), ids=SequentialIds())
    ChatCompletion.model_validate(translated)
    ChatCompletion.model_validate(converted)
    assert comparable_completion(translated) == comparable_completion(converted)


@settings(max_examples=100, deadline=None)
@given(chat_streams())
def test_accumulate_then_convert_agrees_with_translate_then_accumulate_responses_side(
    stream: list[Any],
) -> None:
    # realistic Responses streams: the ones the Chat->Responses translator writes for generated chunks
    _responses_agree(list(translate_chat_stream(stream, ids=SequentialIds(), clock=CLOCK)))


@pytest.mark.parametrize("path", corpus_params("responses", "*.sse"))
def test_accumulate_then_convert_agrees_on_corpus_responses_streams(path: Path) -> None:
    events = [e for e in payloads(path) if e is not DONE]
    final = accumulate_responses(events)
    if final.get("status") not in ("completed", "incomplete"):
        pytest.skip(f"a {final.get('status')!r} response has no ChatCompletion form")
    _responses_agree(events)
