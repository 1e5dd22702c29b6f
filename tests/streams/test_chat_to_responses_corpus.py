"""Every chat stream in the corpus translates into a Responses stream the official SDK accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from support.corpus import SKIP_REASON, corpus_params
from support.sdk import accumulate_with_sdk, validate_responses_events, without_parsed

from translator.engine.sse import DONE, StreamDecoder
from translator.errors import UnsupportedStreamError
from translator.ids import SequentialIds, fixed_clock
from translator.streams.chat_to_responses import ChatToResponses
from translator.testing.validate import validate_responses_stream

TERMINAL = {"response.completed", "response.incomplete", "response.failed"}


def chat_payloads(path: Path) -> list[Any]:
    decoder = StreamDecoder()
    return decoder.feed(path.read_bytes()) + decoder.close()


def translate(payloads: list[Any], **options: Any) -> list[dict[str, Any]]:
    translator = ChatToResponses(ids=SequentialIds(), clock=fixed_clock(1_700_000_000), **options)
    events: list[dict[str, Any]] = []
    for payload in payloads:
        events += translator.feed(payload)
    return events + translator.close()


def options_for(path: Path) -> dict[str, Any]:
    name = path.stem
    options: dict[str, Any] = {}
    if "n3_multiple_choices" in name:
        options["choice"] = 1
    if "think_tags" in name:
        options["think_tags"] = True
    return options


@pytest.mark.parametrize("path", corpus_params("chat", "*.sse"))
def test_corpus_stream_translates_and_the_sdk_accepts_it(path: Path) -> None:
    payloads = chat_payloads(path)
    events = translate(payloads, **options_for(path))

    validate_responses_events(events)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[0]["type"] == "response.created" and events[1]["type"] == "response.in_progress"
    terminals = [e for e in events if e["type"] in TERMINAL]
    assert len(terminals) == 1 and events[-1] is terminals[0]

    final = terminals[0]["response"]
    assert validate_responses_stream(events) == []
    # response.output lists every item added, in order: as its output_item.done said, or, for an item
    # that never finished (a failed or incomplete response), with status incomplete and no done event
    done = {e["output_index"]: e["item"] for e in events if e["type"] == "response.output_item.done"}
    added = [e["item"]["id"] for e in events if e["type"] == "response.output_item.added"]
    assert [item["id"] for item in final["output"]] == added
    assert len(set(added)) == len(added)
    for oi, item in enumerate(final["output"]):
        if oi in done:
            assert item == done[oi]
        else:
            assert final["status"] in ("failed", "incomplete")
            assert item.get("status", "incomplete") == "incomplete"

    sdk_final = accumulate_with_sdk(events)  # completed, incomplete and failed alike
    assert sdk_final is not None
    assert without_parsed(sdk_final.model_dump(mode="json", exclude_unset=True)) == final

    # the text, tool calls and reasoning of the source survive
    texts, args, reasoning = _chat_side(payloads, options_for(path))
    out_text = "".join(
        part.get("text", "")
        for item in final["output"]
        if item["type"] == "message"
        for part in item["content"]
    )
    assert out_text == texts
    calls = [(i["name"], i["arguments"]) for i in final["output"] if i["type"] == "function_call"]
    assert [a for _, a in calls] == args
    out_reasoning = "".join(
        p["text"]
        for i in final["output"]
        if i["type"] == "reasoning"
        for p in i["summary"] + i.get("content", [])
    )
    assert out_reasoning == reasoning


def _chat_side(payloads: list[Any], options: dict[str, Any]) -> tuple[str, list[str], str]:
    """Independent reading of the chat stream: concatenated text, per-call arguments, reasoning text."""
    choice = options.get("choice", 0)
    text, reasoning = [], []
    calls: dict[Any, list[str]] = {}
    for payload in payloads:
        if payload is DONE:
            continue
        for c in payload.get("choices") or []:
            if c.get("index", 0) != choice:
                continue
            d = c.get("delta") or {}
            content = d.get("content")
            if isinstance(content, str):
                text.append(content)
            elif isinstance(content, list):
                for part in content:
                    if part.get("type") == "text":
                        text.append(part["text"])
                    elif part.get("type") == "thinking":
                        reasoning += [p["text"] for p in part["thinking"]]
            plain = d.get("reasoning_content") or d.get("reasoning")
            if plain:
                reasoning.append(plain)
            else:
                for detail in d.get("reasoning_details") or []:
                    if detail.get("type") == "reasoning.text":
                        reasoning.append(detail.get("text") or "")
            for tc in d.get("tool_calls") or []:
                calls.setdefault(tc.get("index"), []).append(
                    (tc.get("function") or {}).get("arguments") or ""
                )
    joined = "".join(text)
    if options.get("think_tags"):
        inner = joined.split("<think>", 1)[1].split("</think>", 1) if "<think>" in joined else ["", joined]
        reasoning = [inner[0]]
        joined = joined.split("<think>", 1)[0] + (inner[1] if len(inner) > 1 else "")
    args = ["".join(v) for v in calls.values()]
    return joined, args, "".join(reasoning)


def test_n_greater_than_one_names_the_option(tmp_path: Path) -> None:
    chunk = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 1, "delta": {"content": "x"}, "finish_reason": None}],
    }
    with pytest.raises(UnsupportedStreamError) as info:
        translate([chunk])
    assert "choice=" in str(info.value) and info.value.index == 0 and info.value.field == "choices[0].index"


def test_corpus_bytes_split_anywhere_give_the_same_events() -> None:
    params = corpus_params("chat", "openai__tool_calls_parallel_two_functions.sse")
    path = params[0].values[0]
    if path is None:
        pytest.skip(SKIP_REASON)
    data = path.read_bytes()
    whole = translate([data])
    pieces = [data[i : i + 5] for i in range(0, len(data), 5)]
    assert translate(pieces) == whole
    assert orjson.dumps(whole)


@pytest.mark.parametrize("path", corpus_params("chat", "*.sse"))
def test_sdk_chunk_objects_translate_exactly_like_their_dicts(path: Path) -> None:
    """The attribute-reading path for ``ChatCompletionChunk`` objects gives the very events of the dicts.

    The objects are built the way the SDK's stream builds them (``construct_type``, no validation).
    """
    from openai._models import construct_type
    from openai.types.chat import ChatCompletionChunk

    payloads = [p for p in chat_payloads(path) if p is DONE or "choices" in p]
    objects = [p if p is DONE else construct_type(type_=ChatCompletionChunk, value=p) for p in payloads]
    dumped = [p if p is DONE else p.to_dict(warnings=False) for p in objects]  # what the SDK object says
    try:
        expected = translate(dumped, **options_for(path))
    except UnsupportedStreamError:
        pytest.skip("n>1 stream")
    assert translate(objects, **options_for(path)) == expected


# -- goldens ------------------------------------------------------------------------------------------


@pytest.mark.golden("chat_to_responses")
@pytest.mark.parametrize("path", corpus_params("chat", "*.sse"))
def test_corpus_golden(path: Path, sse_snapshot: Any) -> None:
    """``golden/chat_to_responses/<recording>.sse``: our Responses output, readable (``make golden``).

    The translator runs with its default random ids, as a user's would: the fixture renames those
    (``resp_1``, ``msg_1``) and keeps every id the recording gave (``call_...``), so a lost upstream
    id fails the test.
    """
    translator = ChatToResponses(clock=fixed_clock(1_700_000_000), **options_for(path))  # random ids
    events = [event for payload in chat_payloads(path) for event in translator.feed(payload)]
    assert events + translator.close() == sse_snapshot
