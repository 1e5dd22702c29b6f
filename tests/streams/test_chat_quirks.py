"""Provider quirks (translator.streams.provider_quirks): each reader on its own, the recordings it names,
and the translator reading them from chunks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from support.corpus import CORPUS, SKIP_REASON, read_json
from support.sdk import validate_responses_events

import translator.streams.provider_quirks as quirks
from translator.engine.sse import DONE, StreamDecoder
from translator.errors import InvalidChunkError
from translator.ids import SequentialIds, fixed_clock
from translator.streams.chat_to_responses import ChatToResponses
from translator.streams.provider_quirks import (
    CONTENT,
    SECRET,
    SUMMARY,
    arguments_text,
    carries_nothing,
    content_parts,
    deduplicated_call_id,
    reasoning_details,
    service_tier,
    starts_another_call,
    upstream_error,
)

TESTS = Path(__file__).resolve().parents[1]
SOURCE = Path(quirks.__file__).read_text()


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choices = (
        [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    )
    return {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": choices,
        **extra,
    }


def run(chunks: list[Any], **options: Any) -> list[dict[str, Any]]:
    translator = ChatToResponses(ids=SequentialIds(), clock=fixed_clock(1), **options)
    events = [event for item in chunks for event in translator.feed(item)] + translator.close()
    validate_responses_events(events)
    return events


def final(events: list[dict[str, Any]]) -> dict[str, Any]:
    response: dict[str, Any] = events[-1]["response"]
    return response


# -- the recordings each quirk names ----------------------------------------------------------------


@pytest.mark.skipif(not CORPUS.is_dir(), reason=SKIP_REASON)
def test_every_recording_the_quirks_name_is_in_the_corpus_index() -> None:
    named = set(re.findall(r"``([a-z0-9_]+__[a-z0-9_]+\.sse)``", SOURCE))
    assert len(named) >= 15
    indexed = {entry["file"] for entry in read_json(CORPUS / "index.json")}
    assert {f"chat/{name}" for name in named} <= indexed


def test_every_test_the_quirks_name_exists() -> None:
    named = re.findall(r"``(tests/[\w/]+\.py)``\s+``(test_\w+)``", SOURCE)
    assert named
    for path, test in named:
        assert f"def {test}(" in (TESTS.parent / path).read_text(), (path, test)


# -- readers ----------------------------------------------------------------------------------------


def test_reasoning_details_in_order_text_only_when_no_plain_field_carried_it() -> None:
    details = [
        {"type": "reasoning.text", "text": "think", "signature": "sig"},
        "not an object",
        {"type": "reasoning.summary", "summary": "short"},
        {"type": "reasoning.encrypted", "data": "enc"},
    ]
    assert list(reasoning_details(details, False)) == [
        (CONTENT, "think"),
        (SECRET, "sig"),
        (SUMMARY, "short"),
        (SECRET, "enc"),
    ]
    assert list(reasoning_details(details, True)) == [(SECRET, "sig"), (SECRET, "enc")]


def test_content_parts_read_up_to_a_bad_part() -> None:
    parts = iter(
        content_parts(
            [{"type": "thinking", "thinking": [{"text": "a"}]}, {"type": "text", "text": "b"}, 5], 3, "f"
        )
    )
    assert [next(parts), next(parts)] == [(True, "a"), (False, "b")]
    with pytest.raises(InvalidChunkError, match=r"chunk 3, field 'f\[2\]'"):
        next(parts)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"error": {"message": "x"}}, {"message": "x"}),
        (
            {"object": "error", "message": "oom", "code": 500},
            {"object": "error", "message": "oom", "code": 500},
        ),
        ({"object": "chat.completion.chunk", "error": None}, None),
    ],
)
def test_upstream_error_nested_or_flat(payload: dict[str, Any], error: Any) -> None:
    assert upstream_error(payload) == error


@pytest.mark.skipif(not CORPUS.is_dir(), reason=SKIP_REASON)
def test_azures_first_chunk_carries_nothing_and_its_second_does() -> None:
    frames = StreamDecoder().feed(
        (CORPUS / "chat/azure__model_router_content_filter_results.sse").read_bytes()
    )
    payloads = [frame for frame in frames if isinstance(frame, dict)]
    assert "prompt_filter_results" in payloads[0]
    assert carries_nothing(payloads[0]) and not carries_nothing(payloads[1])


@pytest.mark.parametrize(
    ("tier", "kept"), [("default", "default"), ("priority", "priority"), ("", None), (3, None)]
)
def test_service_tier_only_when_responses_knows_it(tier: Any, kept: str | None) -> None:
    assert service_tier({"service_tier": tier}) == kept


def test_call_ids_repeated_across_indexes_are_made_unique() -> None:
    assert deduplicated_call_id("x", set()) == "x"
    assert deduplicated_call_id("x", {"x", "x_2"}) == "x_3"
    assert not starts_another_call(None, "g2") and not starts_another_call("g1", "g1")
    assert starts_another_call("g1", "g2")


# -- the translator reading them --------------------------------------------------------------------


def test_tool_call_arguments_sent_parsed_become_their_json_text() -> None:
    assert arguments_text({"city": "Paris"}) == '{"city":"Paris"}'
    assert arguments_text(None) is None and arguments_text("{") == "{"
    events = run(
        [
            chunk(
                {
                    "tool_calls": [
                        {"index": 0, "id": "c1", "function": {"name": "f", "arguments": {"city": "Paris"}}}
                    ]
                }
            ),
            chunk({}, "tool_calls"),
            DONE,
        ]
    )
    deltas = [event["delta"] for event in events if event["type"] == "response.function_call_arguments.delta"]
    assert deltas == ['{"city":"Paris"}']
    assert final(events)["output"][0]["arguments"] == '{"city":"Paris"}'


def test_passive_delta_keys_do_not_keep_text_from_going_out_alone() -> None:
    events = run(
        [
            chunk({"role": "assistant", "content": "Hi", "channel": "final", "token_id": 7}),
            chunk({"content": " there", "token_id": 8}),
            chunk({}, "stop"),
        ]
    )
    assert [event["delta"] for event in events if event["type"] == "response.output_text.delta"] == [
        "Hi",
        " there",
    ]


@pytest.mark.parametrize(("field", "part"), [("reasoning_content", "summary"), ("reasoning", "content")])
def test_reasoning_dialects_fill_their_part(field: str, part: str) -> None:
    events = run([chunk({field: "mull"}), chunk({field: "ing"}), chunk({"content": "ok"}, "stop")])
    reasoning = final(events)["output"][0]
    text = reasoning["summary"][0]["text"] if part == "summary" else reasoning["content"][0]["text"]
    assert text == "mulling"


def test_done_without_finish_reason_completes_a_cut_stream_fails() -> None:
    assert final(run([chunk({"content": "4"}), DONE]))["status"] == quirks.STATUS_AT_DONE_WITHOUT_FINISH
    assert final(run([chunk({"content": "4"})]))["status"] == "failed"
