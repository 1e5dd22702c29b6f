"""ChatToResponses: the lifecycle, every mapping rule, errors, and the no-buffering guarantee."""

from __future__ import annotations

import asyncio
from itertools import pairwise
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types.chat import ChatCompletionChunk
from support.chat_chunks import ChatChunks
from support.sdk import accumulate_with_sdk, validate_responses_events

from translator.engine.sse import DONE, SSEDecoder, decode_payload
from translator.errors import InvalidChunkError, StreamStateError
from translator.ids import SequentialIds, fixed_clock
from translator.streams.chat_to_responses import (
    ChatToResponses,
    atranslate_chat_stream,
    translate_chat_stream,
)
from translator.wire.responses_sse import chat_stream_to_responses_sse

TERMINAL = ("response.completed", "response.incomplete", "response.failed")


chunk = ChatChunks(id="chatcmpl-1", created=1700000000, model="gpt-x", logprobs=True)


def new(**options: Any) -> ChatToResponses:
    return ChatToResponses(ids=SequentialIds(), clock=fixed_clock(1), **options)


def run(chunks: list[Any], **options: Any) -> list[dict[str, Any]]:
    translator = new(**options)
    events: list[dict[str, Any]] = []
    for c in chunks:
        events += translator.feed(c)
    events += translator.close()
    validate_responses_events(events)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    return events


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def final(events: list[dict[str, Any]]) -> dict[str, Any]:
    assert events[-1]["type"] in TERMINAL
    assert sum(e["type"] in TERMINAL for e in events) == 1
    return events[-1]["response"]


TEXT = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "Hel"}),
    chunk({"content": "lo"}),
    chunk({}, "stop"),
    chunk(None, usage={"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}),
    DONE,
]


def test_text_lifecycle_matches_openai_order() -> None:
    events = run(TEXT)
    assert types(events) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    response = final(events)
    assert response["status"] == "completed"
    assert response["output"][0]["content"][0]["text"] == "Hello"
    assert response["usage"] == {
        "input_tokens": 5,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": 2,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 7,
    }
    assert response["id"].startswith("resp_") and response["output"][0]["id"].startswith("msg_")
    assert events[0]["response"]["created_at"] == 1700000000 and events[0]["response"]["model"] == "gpt-x"
    sdk = accumulate_with_sdk(events)
    assert sdk is not None and sdk.output_text == "Hello"


def test_each_delta_leaves_on_the_chunk_that_carried_it() -> None:
    """No buffering: feeding chunk k returns exactly the deltas chunk k carried."""
    chunks = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning_content": "think"}),
        chunk({"content": "a"}),
        chunk({"content": "b"}),
        chunk({"refusal": "no"}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "f", "arguments": ""},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"x"'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "g", "arguments": "{}"},
                    }
                ]
            }
        ),
    ]
    translator = new()
    for c in chunks:
        out = translator.feed(c)
        delta = c["choices"][0]["delta"]
        emitted = [e["delta"] for e in out if e["type"].endswith(".delta")]
        expected = [v for k, v in delta.items() if k in ("reasoning_content", "content", "refusal") and v]
        expected += [
            tc["function"]["arguments"] for tc in delta.get("tool_calls", []) if tc["function"]["arguments"]
        ]
        assert emitted == expected
    # and the lifecycle events that open an item come in the same call as its first delta
    tail = translator.feed(chunk({}, "tool_calls")) + translator.close()
    assert tail[-1]["type"] == "response.completed"


def test_items_are_closed_before_the_next_opens() -> None:
    chunks = [
        chunk({"reasoning_content": "r"}),
        chunk({"content": "t"}),
        chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f", "arguments": "{}"}}]}),
        chunk({"tool_calls": [{"index": 1, "id": "c2", "function": {"name": "g", "arguments": "{}"}}]}),
        chunk({}, "tool_calls"),
        DONE,
    ]
    events = run(chunks)
    open_items: set[int] = set()
    for e in events:
        if e["type"] == "response.output_item.added":
            assert not open_items, "an item opened while another was open"
            open_items.add(e["output_index"])
        elif e["type"] == "response.output_item.done":
            open_items.discard(e["output_index"])
    assert [i["type"] for i in final(events)["output"]] == [
        "reasoning",
        "message",
        "function_call",
        "function_call",
    ]


def test_parallel_tool_calls_become_one_item_each_with_chat_ids() -> None:
    chunks = [
        chunk({"role": "assistant", "content": None}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "f", "arguments": ""},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a": 1}'}}]}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "call_b",
                        "type": "function",
                        "function": {"name": "g", "arguments": ""},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": '{"b": 2}'}}]}),
        chunk({}, "tool_calls"),
        DONE,
    ]
    events = run(chunks)
    calls = final(events)["output"]
    assert [(c["call_id"], c["name"], c["arguments"]) for c in calls] == [
        ("call_a", "f", '{"a": 1}'),
        ("call_b", "g", '{"b": 2}'),
    ]
    assert all(c["id"].startswith("fc_") and c["status"] == "completed" for c in calls)
    dones = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert [d["arguments"] for d in dones] == ['{"a": 1}', '{"b": 2}']


def test_interleaved_tool_call_fragments_keep_items_sequential() -> None:
    chunks = [
        chunk({"tool_calls": [{"index": 0, "id": "call_a", "function": {"name": "f", "arguments": '{"a"'}}]}),
        chunk({"tool_calls": [{"index": 1, "id": "call_b", "function": {"name": "g", "arguments": '{"b"'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]}),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": ": 2}"}}]}),
        chunk({}, "tool_calls"),
        DONE,
    ]
    events = run(chunks)
    assert [(c["call_id"], c["arguments"]) for c in final(events)["output"]] == [
        ("call_a", '{"a": 1}'),
        ("call_b", '{"b": 2}'),
    ]
    assert accumulate_with_sdk(events) is not None


def test_legacy_function_call_delta() -> None:
    chunks = [
        chunk({"role": "assistant", "function_call": {"name": "lookup", "arguments": ""}}),
        chunk({"function_call": {"arguments": '{"q": '}}),
        chunk({"function_call": {"arguments": '"x"}'}}),
        chunk({}, "function_call"),
        DONE,
    ]
    events = run(chunks)
    (call,) = final(events)["output"]
    assert (
        call["name"] == "lookup" and call["arguments"] == '{"q": "x"}' and call["call_id"].startswith("call_")
    )
    assert final(events)["status"] == "completed"


def test_logprobs_go_onto_text_deltas_and_done() -> None:
    lp = {
        "content": [
            {
                "token": "Hi",
                "logprob": -0.5,
                "bytes": [72, 105],
                "top_logprobs": [{"token": "Hi", "logprob": -0.5, "bytes": None}],
            }
        ]
    }
    first = chunk({"content": "Hi"})
    first["choices"][0]["logprobs"] = lp
    events = run([first, chunk({}, "stop"), DONE])
    (delta,) = [e for e in events if e["type"] == "response.output_text.delta"]
    expected = [
        {
            "token": "Hi",
            "logprob": -0.5,
            "bytes": [72, 105],
            "top_logprobs": [{"token": "Hi", "logprob": -0.5, "bytes": []}],
        }
    ]
    assert delta["logprobs"] == expected
    (done,) = [e for e in events if e["type"] == "response.output_text.done"]
    assert done["logprobs"] == expected
    assert final(events)["output"][0]["content"][0]["logprobs"] == expected


def test_refusal_gets_its_own_part() -> None:
    events = run(
        [
            chunk({"role": "assistant", "content": None, "refusal": ""}),
            chunk({"refusal": "I can't"}),
            chunk({"refusal": " help."}),
            chunk({}, "stop"),
            DONE,
        ]
    )
    assert "response.refusal.delta" in types(events) and "response.refusal.done" in types(events)
    assert final(events)["output"][0]["content"] == [{"type": "refusal", "refusal": "I can't help."}]


@pytest.mark.parametrize(
    ("finish", "reason"), [("length", "max_output_tokens"), ("content_filter", "content_filter")]
)
def test_truncating_finish_reasons_give_response_incomplete(finish: str, reason: str) -> None:
    events = run([chunk({"content": "abc"}), chunk({}, finish), DONE])
    response = final(events)
    assert events[-1]["type"] == "response.incomplete"
    assert response["status"] == "incomplete" and response["incomplete_details"] == {"reason": reason}
    assert response["output"][0]["status"] == "incomplete"


def test_usage_after_finish_reason_ends_the_stream_at_once() -> None:
    translator = new()
    translator.feed(chunk({"content": "x"}))
    translator.feed(chunk({}, "stop"))
    out = translator.feed(
        chunk(
            None,
            usage={
                "prompt_tokens": 1,
                "completion_tokens": 1,
                "total_tokens": 2,
                "prompt_tokens_details": {"cached_tokens": 1},
                "completion_tokens_details": {"reasoning_tokens": 1},
            },
        )
    )
    assert out[-1]["type"] == "response.completed"
    usage = out[-1]["response"]["usage"]
    assert (
        usage["input_tokens_details"]["cached_tokens"] == 1
        and usage["output_tokens_details"]["reasoning_tokens"] == 1
    )
    assert translator.feed(DONE) == [] and translator.close() == []


def test_mid_stream_error_fails_with_everything_received() -> None:
    events = run(
        [
            chunk({"content": "partial"}),
            {
                "error": {
                    "message": "Tool call validation failed",
                    "type": "invalid_request_error",
                    "code": "tool_use_failed",
                }
            },
        ]
    )
    error = [e for e in events if e["type"] == "error"]
    assert error == [
        {
            "type": "error",
            "code": "tool_use_failed",
            "message": "Tool call validation failed",
            "param": None,
            "sequence_number": error[0]["sequence_number"],
        }
    ]
    response = final(events)
    assert events[-1]["type"] == "response.failed" and response["status"] == "failed"
    assert response["error"]["message"] == "Tool call validation failed"
    assert response["error"]["type"] == "invalid_request_error"
    assert response["output"][0]["content"][0]["text"] == "partial"
    assert response["output"][0]["status"] == "incomplete"


def test_sse_error_event_from_bytes() -> None:
    data = (
        b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
        b'"delta":{"content":"hi"},"finish_reason":null}]}\n\n'
        b'event: error\ndata: {"error":{"message":"boom","type":"server_error"}}\n\n'
    )
    events = run([data])
    assert events[-1]["type"] == "response.failed" and events[-1]["response"]["error"]["message"] == "boom"


def test_cut_stream_still_ends_with_a_terminal_event_that_says_so() -> None:
    events = run([chunk({"content": "half an ans"})])
    response = final(events)
    assert events[-1]["type"] == "response.failed"
    assert "without a finish_reason" in response["error"]["message"]
    assert response["output"][0]["content"][0]["text"] == "half an ans"


def test_done_without_finish_reason_completes() -> None:
    events = run([chunk({"content": "ok"}), DONE])
    assert events[-1]["type"] == "response.completed"


def test_empty_input_is_a_well_formed_failed_stream() -> None:
    events = run([])
    assert types(events) == ["response.created", "response.in_progress", "error", "response.failed"]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"choices": "nope"}, "choices"),
        ({"choices": [{"index": 0, "delta": "x"}]}, "choices[0].delta"),
        ({"choices": [{"index": 0, "delta": {"content": 5}}]}, "choices[0].delta.content"),
        ({"choices": [{"index": 0, "delta": {"tool_calls": [7]}}]}, "choices[0].delta.tool_calls[0]"),
        ({"choices": [], "usage": 3}, "usage"),
    ],
)
def test_bad_chunks_raise_typed_errors_naming_chunk_and_field(bad: dict[str, Any], field: str) -> None:
    translator = new()
    translator.feed(chunk({"content": "fine"}))
    with pytest.raises(InvalidChunkError) as info:
        translator.feed({"id": "c", "model": "m", "created": 1, **bad})
    assert info.value.index == 1 and info.value.field == field
    assert f"chunk 1, field {field!r}" in str(info.value)


def test_feed_after_close_is_a_state_error() -> None:
    translator = new()
    translator.close()
    with pytest.raises(StreamStateError):
        translator.feed(chunk({"content": "late"}))


def test_sdk_chunk_objects_are_accepted() -> None:
    objects = [ChatCompletionChunk.model_validate(c) for c in TEXT if c is not DONE]
    assert run(objects) == run([c for c in TEXT if c is not DONE])


def test_sync_async_and_sse_wrappers_agree() -> None:
    sync = list(translate_chat_stream(TEXT, ids=SequentialIds(), clock=fixed_clock(1)))

    async def collect() -> list[dict[str, Any]]:
        async def source() -> Any:
            for c in TEXT:
                yield c

        return [e async for e in atranslate_chat_stream(source(), ids=SequentialIds(), clock=fixed_clock(1))]

    assert asyncio.run(collect()) == sync
    sse = b"".join(chat_stream_to_responses_sse(TEXT, ids=SequentialIds(), clock=fixed_clock(1)))
    decoder = SSEDecoder()
    frames = decoder.feed(sse) + decoder.close()
    assert [f.event for f in frames] == [e["type"] for e in sync]
    assert [decode_payload(f) for f in frames] == sync


def test_think_tags_split_across_chunks() -> None:
    pieces = ["<th", "ink>plan", " it</th", "ink>", "Answer <b>", "</b>"]
    events = run([chunk({"content": p}) for p in pieces] + [chunk({}, "stop"), DONE], think_tags=True)
    output = final(events)["output"]
    assert output[0]["type"] == "reasoning" and output[0]["content"][0]["text"] == "plan it"
    assert output[1]["content"][0]["text"] == "Answer <b></b>"


def test_reasoning_dialects() -> None:
    events = run(
        [
            chunk(
                {
                    "reasoning": "raw",
                    "reasoning_details": [{"type": "reasoning.text", "text": "raw", "signature": "sig"}],
                }
            ),
            chunk({"content": [{"type": "text", "text": "done"}]}),
            chunk({}, "stop"),
            DONE,
        ]
    )
    rs, msg = final(events)["output"]
    assert rs["content"] == [{"type": "reasoning_text", "text": "raw"}] and rs["encrypted_content"] == "sig"
    assert msg["content"][0]["text"] == "done"
    events = run([chunk({"reasoning_content": "sum"}), chunk({"content": "x"}), chunk({}, "stop"), DONE])
    assert final(events)["output"][0]["summary"] == [{"type": "summary_text", "text": "sum"}]


def test_request_is_echoed() -> None:
    request = {
        "model": "gpt-4.1-mini",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        "max_completion_tokens": 100,
        "temperature": 0.5,
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    }
    events = run(TEXT, request=request)
    for event in (events[0], events[1], events[-1]):
        response = event["response"]
        assert response["instructions"] == "Be brief."
        assert response["max_output_tokens"] == 100 and response["temperature"] == 0.5
        assert response["tools"][0]["name"] == "f" and response["tools"][0]["type"] == "function"


# -- property tests ------------------------------------------------------------------------------


@st.composite
def chat_streams(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]], list[dict[str, Any]]]:
    """A text answer and some tool calls, cut into random fragments, calls interleaved at random."""
    alphabet = st.characters(codec="utf-8", exclude_categories=("Cs",))
    text = draw(st.text(alphabet, max_size=30))
    n_calls = draw(st.integers(0, 3))
    calls = [
        (f"call_{i}", orjson.dumps({"k": draw(st.text(alphabet, max_size=12)), "i": i}).decode())
        for i in range(n_calls)
    ]

    def cut(s: str) -> list[str]:
        points = sorted(draw(st.sets(st.integers(1, max(1, len(s) - 1)), max_size=5))) if len(s) > 1 else []
        bounds = [0, *points, len(s)]
        return [s[a:b] for a, b in pairwise(bounds) if s[a:b]]

    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": piece}) for piece in cut(text)]
    queues = []
    for i, (call_id, args) in enumerate(calls):
        frags = cut(args) or [""]
        first = {
            "index": i,
            "id": call_id,
            "type": "function",
            "function": {"name": f"fn{i}", "arguments": frags[0]},
        }
        queues.append([first] + [{"index": i, "function": {"arguments": f}} for f in frags[1:]])
    interleave = draw(st.booleans())
    started = 0  # calls start in index order; after that their fragments may interleave
    while any(queues):
        live = [q for n, q in enumerate(queues) if q and n <= started]
        q = draw(st.sampled_from(live)) if interleave else live[0]
        if queues.index(q) == started:
            started += 1
        chunks.append(chunk({"tool_calls": [q.pop(0)]}))
    chunks.append(chunk({}, "tool_calls" if calls else "stop"))
    chunks.append(DONE)
    return text, calls, chunks


@settings(max_examples=150, deadline=None)
@given(chat_streams(), st.data())
def test_random_splits_and_interleavings_give_the_same_final_output(
    stream: tuple[str, list[tuple[str, str]], list[dict[str, Any]]], data: st.DataObject
) -> None:
    text, calls, chunks = stream
    events = run(chunks)
    output = final(events)["output"]
    messages = [i for i in output if i["type"] == "message"]
    assert "".join(p["text"] for m in messages for p in m["content"]) == text
    assert [(i["call_id"], i["name"], i["arguments"]) for i in output if i["type"] == "function_call"] == [
        (cid, f"fn{n}", args) for n, (cid, args) in enumerate(calls)
    ]
    # the same stream as SSE bytes cut at random places gives identical events
    wire = b"".join(b"data: " + (b"[DONE]" if c is DONE else orjson.dumps(c)) + b"\n\n" for c in chunks)
    cuts = sorted(data.draw(st.sets(st.integers(1, len(wire) - 1), max_size=8)))
    bounds = [0, *cuts, len(wire)]
    assert run([wire[a:b] for a, b in pairwise(bounds)]) == events


def test_text_held_back_as_a_possible_tag_is_delivered_at_the_end() -> None:
    events = run([chunk({"content": "a <th"}), chunk({}, "stop"), DONE], think_tags=True)
    assert final(events)["output"][0]["content"][0]["text"] == "a <th"


def test_audio_deltas_become_audio_events() -> None:
    events = run(
        [
            chunk({"audio": {"id": "a1", "data": "AAAA", "transcript": "Hi"}}),
            chunk({"audio": {"data": "BBBB"}}),
            chunk({}, "stop"),
            DONE,
        ]
    )
    audio = [(e["type"], e.get("delta")) for e in events if e["type"].startswith("response.audio")]
    assert audio == [
        ("response.audio.delta", "AAAA"),
        ("response.audio.transcript.delta", "Hi"),
        ("response.audio.delta", "BBBB"),
        ("response.audio.done", None),
        ("response.audio.transcript.done", None),
    ]


def test_a_preamble_chunk_without_model_does_not_start_the_response() -> None:
    """Azure sends prompt_filter_results first (model "", created 0): the next chunk starts the response."""
    preamble = {"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": []}
    translator = new()
    assert translator.feed(preamble) == []
    events = translator.feed(chunk({"content": "hi"}))
    assert events[0]["response"]["model"] == "gpt-x" and events[0]["response"]["created_at"] == 1700000000


def test_errors_raised_deep_inside_still_name_the_chunk() -> None:
    bad = chunk({"content": "x"})
    bad["choices"][0]["logprobs"] = {"content": [None]}
    translator = new()
    translator.feed(chunk({"content": "ok"}))
    with pytest.raises(InvalidChunkError) as info:
        translator.feed(bad)
    assert info.value.index == 1 and info.value.field == "logprobs"
    assert str(info.value).startswith("chunk 1, field 'logprobs': each logprob must be an object")
