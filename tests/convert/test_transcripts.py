"""Transcripts: Chat messages <-> Responses input items, every role and part, corpus and round trips."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types.chat import ChatCompletionMessageParam
from openai.types.responses import ResponseInputParam
from pydantic import TypeAdapter
from support.corpus import corpus_params, read_json

from translator.convert.transcripts import DroppedParameterWarning, input_to_messages, messages_to_input
from translator.errors import ConversionError, UnsupportedParameterError
from translator.ids import SequentialIds

INPUT_ITEMS: TypeAdapter[Any] = TypeAdapter(ResponseInputParam)
CHAT_MESSAGES: TypeAdapter[Any] = TypeAdapter(list[ChatCompletionMessageParam])


def to_input(messages: list[dict[str, Any]], **options: Any) -> list[dict[str, Any]]:
    items = messages_to_input(messages, ids=SequentialIds(), **options)
    INPUT_ITEMS.validate_python(items)
    return items


def to_messages(items: Any, **options: Any) -> list[dict[str, Any]]:
    messages = input_to_messages(items, **options)
    CHAT_MESSAGES.validate_python(messages)
    return messages


def quietly(function: Any, *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedParameterWarning)
        return function(*args, **kwargs)


# ----------------------------------------------------------------------------- corpus


@pytest.mark.parametrize("path", corpus_params("requests", "*.request.json"))
def test_corpus_transcripts_convert_both_ways_and_validate(path: Path) -> None:
    request = read_json(path)
    if "messages" in request:
        items = quietly(to_input, request["messages"], lenient=True)
        assert len(items) >= len([m for m in request["messages"] if m["role"] != "assistant"])
        back = quietly(to_messages, items, lenient=True)
        assert [m["role"] for m in back] == [m["role"] for m in request["messages"]]
    elif isinstance(request["input"], list):
        messages = quietly(to_messages, request["input"], lenient=True)
        items = quietly(to_input, messages, lenient=True)
        calls = [i["call_id"] for i in request["input"] if i.get("type") == "function_call"]
        assert [i["call_id"] for i in items if i["type"] == "function_call"] == calls
    else:
        assert to_messages(request["input"]) == [{"role": "user", "content": request["input"]}]


# ----------------------------------------------------------------------------- Chat -> Responses


def test_system_developer_and_user_messages() -> None:
    messages = [
        {"role": "system", "content": "s"},
        {"role": "developer", "content": [{"type": "text", "text": "d"}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look", "prompt_cache_breakpoint": {"mode": "explicit"}},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA", "detail": "low"}},
                {"type": "file", "file": {"file_id": "file-1"}},
                {
                    "type": "file",
                    "file": {"file_data": "data:application/pdf;base64,AA", "filename": "a.pdf"},
                },
            ],
        },
    ]
    assert to_input(messages) == [
        {"type": "message", "role": "system", "content": "s"},
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "d"}]},
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "look", "prompt_cache_breakpoint": {"mode": "explicit"}},
                {"type": "input_image", "image_url": "https://x/y.png", "detail": "auto"},
                {"type": "input_image", "image_url": "data:image/png;base64,AA", "detail": "low"},
                {"type": "input_file", "file_id": "file-1"},
                {"type": "input_file", "file_data": "data:application/pdf;base64,AA", "filename": "a.pdf"},
            ],
        },
    ]


def test_assistant_turn_becomes_reasoning_message_and_calls_then_outputs() -> None:
    messages = [
        {
            "role": "assistant",
            "content": "checking",
            "reasoning_content": "think",
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}},
                {"id": "call_2", "type": "custom", "custom": {"name": "g", "input": "raw"}},
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "one"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "two"}]},
    ]
    assert to_input(messages) == [
        {"type": "reasoning", "id": "rs_0001", "summary": [{"type": "summary_text", "text": "think"}]},
        {"type": "message", "role": "assistant", "content": "checking"},
        {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": '{"a":1}'},
        {"type": "custom_tool_call", "call_id": "call_2", "name": "g", "input": "raw"},
        {"type": "function_call_output", "call_id": "call_1", "output": "one"},
        {
            "type": "custom_tool_call_output",
            "call_id": "call_2",
            "output": [{"type": "input_text", "text": "two"}],
        },
    ]


def test_raw_reasoning_and_mistral_thinking_become_reasoning_text() -> None:
    messages = [
        {"role": "assistant", "content": "a", "reasoning": "r"},
        {
            "role": "assistant",
            "content": [
                {
                    "type": "thinking",
                    "thinking": [{"type": "text", "text": "t1"}, {"type": "text", "text": "t2"}],
                },
                {"type": "text", "text": "b"},
            ],
        },
    ]
    items = to_input(messages)
    assert items[0]["content"] == [{"type": "reasoning_text", "text": "r"}]
    assert items[2]["content"] == [
        {"type": "reasoning_text", "text": "t1"},
        {"type": "reasoning_text", "text": "t2"},
    ]
    assert items[3] == {"type": "message", "role": "assistant", "content": "b"}
    assert [i["type"] for i in to_input(messages, carry_reasoning=False)] == ["message", "message"]


def test_refusal_uses_the_output_message_form() -> None:
    items = to_input([{"role": "assistant", "content": "partial", "refusal": "no"}])
    assert items == [
        {
            "id": "msg_0001",
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [
                {"type": "output_text", "text": "partial", "annotations": []},
                {"type": "refusal", "refusal": "no"},
            ],
        }
    ]
    assert to_messages(items) == [{"role": "assistant", "content": "partial", "refusal": "no"}]


def test_legacy_function_call_pairs_with_function_message() -> None:
    messages = [
        {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": "{}"}},
        {"role": "function", "name": "f", "content": "done"},
    ]
    assert to_input(messages) == [
        {"type": "function_call", "call_id": "call_0001", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_0001", "output": "done"},
    ]
    with pytest.raises(ConversionError) as info:
        to_input([{"role": "function", "name": "f", "content": "x"}])
    assert info.value.path == "messages[0].name"


def test_empty_assistant_content_next_to_tool_calls_is_not_a_message() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    answer = {"role": "tool", "tool_call_id": "c", "content": "ok"}
    assert [
        i["type"] for i in to_input([{"role": "assistant", "content": "", "tool_calls": [call]}, answer])
    ] == ["function_call", "function_call_output"]
    assert to_input([{"role": "assistant", "content": ""}]) == [
        {"type": "message", "role": "assistant", "content": ""}
    ]


@pytest.mark.parametrize(
    ("message", "path"),
    [
        ({"role": "user", "content": "x", "name": "bob"}, "messages[0].name"),
        (
            {
                "role": "user",
                "content": [{"type": "input_audio", "input_audio": {"data": "AA", "format": "wav"}}],
            },
            "messages[0].content[0].type",
        ),
        (
            {"role": "system", "content": [{"type": "image_url", "image_url": {"url": "u"}}]},
            "messages[0].content[0].type",
        ),
        ({"role": "assistant", "content": "x", "audio": {"id": "a"}}, "messages[0].audio"),
        (
            {"role": "user", "content": [{"type": "text", "text": "x", "cache_control": {}}]},
            "messages[0].content[0].cache_control",
        ),
    ],
)
def test_values_without_equivalent_raise_or_warn(message: dict[str, Any], path: str) -> None:
    with pytest.raises(UnsupportedParameterError) as info:
        to_input([message])
    assert info.value.path == path
    with pytest.warns(DroppedParameterWarning, match=path.replace("[", r"\[").replace("]", r"\]")):
        to_input([message], lenient=True)


@pytest.mark.parametrize(
    ("messages", "path"),
    [
        ([{"role": "robot", "content": "x"}], "messages[0].role"),
        ([{"role": "user"}], "messages[0].content"),
        (["hi"], "messages[0]"),
        ([{"role": "tool", "content": "x"}], "messages[0].tool_call_id"),
        (
            [{"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f"}}]}],
            "messages[0].tool_calls[0].id",
        ),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}],
            "messages[0].content[0].image_url.url",
        ),
    ],
)
def test_malformed_messages_name_the_path(messages: list[Any], path: str) -> None:
    with pytest.raises(ConversionError) as info:
        messages_to_input(messages, lenient=True)
    assert info.value.path == path
    assert path in str(info.value)


# ----------------------------------------------------------------------------- Responses -> Chat


def test_string_input_and_instructions() -> None:
    assert to_messages("hi", instructions="be kind") == [
        {"role": "system", "content": "be kind"},
        {"role": "user", "content": "hi"},
    ]


def test_one_turn_of_items_merges_into_one_assistant_message() -> None:
    items = [
        {"role": "user", "content": "q"},
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [{"type": "summary_text", "text": "s1"}],
            "encrypted_content": "x",
        },
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "completed",
            "phase": "commentary",
            "content": [{"type": "output_text", "text": "first", "annotations": [], "logprobs": []}],
        },
        {
            "type": "message",
            "id": "msg_2",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "second", "annotations": []}],
        },
        {"type": "function_call", "id": "fc_1", "call_id": "c1", "name": "f", "arguments": ""},
        {"type": "function_call", "id": "fc_2", "call_id": "c2", "name": "g", "arguments": '{"x":1}'},
        {"type": "function_call_output", "call_id": "c1", "output": "r1"},
        {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "r2"}]},
        {
            "type": "reasoning",
            "id": "rs_2",
            "summary": [],
            "content": [{"type": "reasoning_text", "text": "raw"}],
        },
        {"type": "message", "role": "assistant", "content": "final"},
    ]
    assert to_messages(items) == [
        {"role": "user", "content": "q"},
        {
            "role": "assistant",
            "content": "first\nsecond",
            "reasoning_content": "s1",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                {"id": "c2", "type": "function", "function": {"name": "g", "arguments": '{"x":1}'}},
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "r1"},
        {"role": "tool", "tool_call_id": "c2", "content": [{"type": "text", "text": "r2"}]},
        {"role": "assistant", "content": "final", "reasoning_content": "raw"},
    ]
    assert "reasoning" not in str(to_messages(items, reasoning_field=None))
    assert to_messages(items, reasoning_field="reasoning")[1]["reasoning"] == "s1"


def test_input_parts_map_back_to_chat_parts() -> None:
    items = [
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "t"},
                {"type": "input_image", "image_url": "https://x", "detail": "high"},
                {"type": "input_file", "file_id": "file-1", "filename": "a.pdf"},
            ],
        }
    ]
    assert to_messages(items) == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "t"},
                {"type": "image_url", "image_url": {"url": "https://x", "detail": "high"}},
                {"type": "file", "file": {"file_id": "file-1", "filename": "a.pdf"}},
            ],
        }
    ]


@pytest.mark.parametrize(
    ("item", "path"),
    [
        ({"type": "web_search_call", "id": "ws", "status": "completed"}, "input[0].type"),
        ({"type": "item_reference", "id": "msg_1"}, "input[0].type"),
        (
            {"role": "user", "content": [{"type": "input_image", "file_id": "f", "detail": "auto"}]},
            "input[0].content[0].file_id",
        ),
        (
            {"role": "user", "content": [{"type": "input_file", "file_url": "https://x"}]},
            "input[0].content[0].file_url",
        ),
        (
            {
                "type": "function_call_output",
                "call_id": "c",
                "output": [{"type": "input_image", "image_url": "u", "detail": "auto"}],
            },
            "input[0].output[0].type",
        ),
    ],
)
def test_items_without_chat_equivalent_raise_or_warn(item: dict[str, Any], path: str) -> None:
    items = [item]
    if item.get("type") == "function_call_output":  # answering a call, so that pairing is fine
        items.insert(0, {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"})
        path = path.replace("input[0]", "input[1]")
    with pytest.raises(UnsupportedParameterError) as info:
        input_to_messages(items)
    assert info.value.path == path
    with pytest.warns(DroppedParameterWarning):
        CHAT_MESSAGES.validate_python(input_to_messages(items, lenient=True))


def test_unpaired_output_and_unknown_items_are_errors() -> None:
    with pytest.raises(ConversionError) as info:
        input_to_messages([{"type": "function_call_output", "call_id": None, "output": "x"}], lenient=True)
    assert info.value.path == "input[0].call_id"
    with pytest.raises(ConversionError) as info:
        input_to_messages([{"type": "mystery"}], lenient=True)
    assert info.value.path == "input[0].type"


# ----------------------------------------------------------------------------- round-trip properties

_text = st.text(min_size=1, max_size=12)
_ids = st.text("abcdefghij0123456789", min_size=1, max_size=8).map(lambda s: f"call_{s}")
_user_part = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, _text),
    st.builds(
        lambda u, d: {"type": "image_url", "image_url": {"url": f"https://img/{u}", "detail": d}},
        st.integers(0, 99),
        st.sampled_from(["auto", "low", "high"]),
    ),
    st.builds(lambda f: {"type": "file", "file": {"file_id": f"file-{f}"}}, st.integers(0, 99)),
)
_instruction = st.builds(
    lambda role, content: {"role": role, "content": content},
    st.sampled_from(["system", "developer", "user"]),
    _text,
)
_user = st.builds(
    lambda parts: {"role": "user", "content": parts}, st.lists(_user_part, min_size=1, max_size=3)
)


@st.composite
def _assistant_turn(draw: st.DrawFn) -> list[dict[str, Any]]:
    """One assistant message (text, refusal, reasoning, tool calls) followed by one tool message per call."""
    message: dict[str, Any] = {"role": "assistant", "content": draw(st.one_of(st.none(), _text))}
    if draw(st.booleans()):
        message["refusal"] = draw(_text)
    if draw(st.booleans()):
        message["reasoning_content"] = draw(_text)
    call_ids = draw(st.lists(_ids, max_size=3, unique=True))
    if call_ids:
        message["tool_calls"] = [
            {"id": cid, "type": "function", "function": {"name": draw(_text), "arguments": '{"n": 1}'}}
            for cid in call_ids
        ]
    elif message["content"] is None and "refusal" not in message:
        message["content"] = draw(_text)
    outputs = [{"role": "tool", "tool_call_id": cid, "content": draw(_text)} for cid in call_ids]
    return [message, *outputs]


@st.composite
def _transcripts(draw: st.DrawFn) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 4))):
        messages.append(draw(st.one_of(_instruction, _user)))
        messages += draw(_assistant_turn())
    return messages


@settings(max_examples=100, deadline=None)
@given(_transcripts())
def test_chat_transcript_round_trips_through_input_items(messages: list[dict[str, Any]]) -> None:
    items = to_input(messages)
    assert to_messages(items) == messages


_item = st.one_of(
    st.builds(
        lambda role, text: {"type": "message", "role": role, "content": text},
        st.sampled_from(["system", "developer", "user"]),
        _text,
    ),
)


@st.composite
def _item_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 4))):
        items.append(draw(_item))
        if draw(st.booleans()):
            items.append({"type": "message", "role": "assistant", "content": draw(_text)})
        call_ids = draw(st.lists(_ids, max_size=3, unique=True))
        items += [{"type": "function_call", "call_id": c, "name": "f", "arguments": "{}"} for c in call_ids]
        items += [{"type": "function_call_output", "call_id": c, "output": draw(_text)} for c in call_ids]
    return items


@settings(max_examples=100, deadline=None)
@given(_item_lists())
def test_input_items_round_trip_through_chat_messages(items: list[dict[str, Any]]) -> None:
    messages = to_messages(items)
    assert to_input(messages) == items
