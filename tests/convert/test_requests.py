"""Request parameters, both directions: corpus requests validated by the SDK TypedDicts, plus tables."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.corpus import corpus_params, read_json
from support.sdk import valid_chat, valid_responses

from translator.convert.requests import (
    LOGPROBS_INCLUDE,
    DroppedParameterWarning,
    chat_request_to_responses,
    responses_request_to_chat,
)
from translator.errors import ConversionError, UnsupportedParameterError


def convert_both_modes(convert: Any, request: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Convert leniently (recording warnings); strict mode must succeed iff nothing was dropped."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lenient = convert(request, lenient=True)
    messages = [str(w.message) for w in caught]
    assert all(issubclass(w.category, DroppedParameterWarning) for w in caught)
    if messages:
        with pytest.raises(UnsupportedParameterError) as info:
            convert(request)
        assert info.value.path is not None and info.value.path.startswith("request.")
        assert any(m.startswith(f"{info.value.path}:") for m in messages), (info.value.path, messages)
    else:
        assert convert(request) is not None
    return lenient, messages


def _is_chat(path: Path | None) -> bool:
    return path is not None and "messages" in read_json(path)


@pytest.mark.parametrize("path", corpus_params("requests", "*.request.json"))
def test_corpus_request_converts_and_validates(path: Path) -> None:
    request = read_json(path)
    if "messages" in request:
        out, _ = convert_both_modes(chat_request_to_responses, request)
        valid_responses(out)
        assert out["model"] == request["model"]
        assert out["store"] is request.get("store", False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DroppedParameterWarning)
            hoisted = chat_request_to_responses(request, lenient=True, hoist_instructions=True)
        valid_responses(hoisted)
        if request["messages"][0]["role"] in ("system", "developer"):
            assert isinstance(hoisted["instructions"], str)
            assert len(hoisted["input"]) < len(out["input"])
        else:
            assert "instructions" not in hoisted
    else:
        assert "input" in request
        out, _ = convert_both_modes(responses_request_to_chat, request)
        valid_chat(out)
        assert out["model"] == request["model"]
        if request.get("instructions"):
            assert out["messages"][0] == {"role": "system", "content": request["instructions"]}


@pytest.mark.parametrize("path", corpus_params("requests", "*.request.json"))
def test_corpus_request_round_trip_keeps_the_settings(path: Path) -> None:
    """Convert, then convert back: model, tools, tool_choice and sampling settings survive."""
    request = read_json(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedParameterWarning)
        if "messages" in request:
            back = responses_request_to_chat(chat_request_to_responses(request, lenient=True), lenient=True)
            for key in ("model", "temperature", "top_p", "tool_choice", "top_logprobs", "response_format"):
                assert back.get(key) == request.get(key), key
            names = [t["function"]["name"] for t in request.get("tools", []) if t["type"] == "function"]
            names += [f["name"] for f in request.get("functions", [])]
            assert [t["function"]["name"] for t in back.get("tools", [])] == names
        else:
            back = chat_request_to_responses(responses_request_to_chat(request, lenient=True), lenient=True)
            for key in ("model", "temperature", "max_output_tokens"):
                assert back.get(key) == request.get(key), key
            names = [t["name"] for t in request.get("tools", []) if t["type"] == "function"]
            assert [t["name"] for t in back.get("tools", []) if t["type"] == "function"] == names


# ----------------------------------------------------------------------------- Chat -> Responses


def chat(**params: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], **params}


def to_responses(**params: Any) -> dict[str, Any]:
    out = chat_request_to_responses(chat(**params))
    valid_responses(out)
    return out


def test_function_tool_is_flattened_and_strict_made_explicit() -> None:
    tools = [
        {"type": "function", "function": {"name": "a", "description": "d", "parameters": {"type": "object"}}},
        {"type": "function", "function": {"name": "b", "strict": True, "parameters": {"type": "object"}}},
        {"type": "function", "function": {"name": "c"}},
    ]
    out = to_responses(tools=tools, parallel_tool_calls=False)
    assert out["tools"] == [
        {
            "type": "function",
            "name": "a",
            "description": "d",
            "parameters": {"type": "object"},
            "strict": False,
        },
        {"type": "function", "name": "b", "parameters": {"type": "object"}, "strict": True},
        {
            "type": "function",
            "name": "c",
            "parameters": {"type": "object", "properties": {}},
            "strict": False,
        },
    ]
    assert out["parallel_tool_calls"] is False


def test_custom_tool_and_grammar_are_flattened() -> None:
    grammar = {"type": "grammar", "grammar": {"definition": "start: 'a'", "syntax": "lark"}}
    out = to_responses(tools=[{"type": "custom", "custom": {"name": "g", "format": grammar}}])
    assert out["tools"] == [
        {
            "type": "custom",
            "name": "g",
            "format": {"type": "grammar", "definition": "start: 'a'", "syntax": "lark"},
        }
    ]
    back = responses_request_to_chat(out)
    assert back["tools"] == [{"type": "custom", "custom": {"name": "g", "format": grammar}}]


@pytest.mark.parametrize(
    ("chat_choice", "responses_choice"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ({"type": "function", "function": {"name": "f"}}, {"type": "function", "name": "f"}),
        ({"type": "custom", "custom": {"name": "g"}}, {"type": "custom", "name": "g"}),
        (
            {
                "type": "allowed_tools",
                "allowed_tools": {"mode": "auto", "tools": [{"type": "function", "function": {"name": "f"}}]},
            },
            {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "f"}]},
        ),
    ],
)
def test_tool_choice_forms_both_ways(chat_choice: Any, responses_choice: Any) -> None:
    tools = [{"type": "function", "function": {"name": "f"}}]
    out = to_responses(tools=tools, tool_choice=chat_choice)
    assert out["tool_choice"] == responses_choice
    back = responses_request_to_chat(out)
    valid_chat(back)
    assert back["tool_choice"] == chat_choice


def test_legacy_functions_become_tools_and_tool_choice() -> None:
    out = to_responses(
        functions=[{"name": "f", "parameters": {"type": "object"}}],
        function_call={"name": "f"},
    )
    assert out["tools"] == [
        {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": False}
    ]
    assert out["tool_choice"] == {"type": "function", "name": "f"}


@pytest.mark.parametrize(
    ("response_format", "text_format"),
    [
        ({"type": "text"}, {"type": "text"}),
        ({"type": "json_object"}, {"type": "json_object"}),
        (
            {
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {"type": "object"}, "strict": True},
            },
            {"type": "json_schema", "name": "x", "schema": {"type": "object"}, "strict": True},
        ),
    ],
)
def test_response_format_is_text_format(response_format: Any, text_format: Any) -> None:
    out = to_responses(response_format=response_format, verbosity="low")
    assert out["text"] == {"format": text_format, "verbosity": "low"}
    back = responses_request_to_chat(out)
    assert back["response_format"] == response_format
    assert back["verbosity"] == "low"


def test_json_schema_without_schema_gets_an_empty_one() -> None:
    out = to_responses(response_format={"type": "json_schema", "json_schema": {"name": "x"}})
    assert out["text"]["format"] == {"type": "json_schema", "name": "x", "schema": {}}


def test_settings_that_exist_in_both() -> None:
    out = to_responses(
        max_completion_tokens=100,
        reasoning_effort="low",
        logprobs=True,
        top_logprobs=3,
        store=True,
        metadata={"k": "v"},
        user="u",
        safety_identifier="s",
        prompt_cache_key="p",
        service_tier="flex",
        temperature=0.5,
        top_p=0.9,
        stream=True,
        stream_options={"include_usage": True, "include_obfuscation": False},
    )
    assert out == {
        "model": "gpt-4o",
        "input": [{"type": "message", "role": "user", "content": "hi"}],
        "max_output_tokens": 100,
        "reasoning": {"effort": "low"},
        "include": [LOGPROBS_INCLUDE],
        "top_logprobs": 3,
        "store": True,
        "metadata": {"k": "v"},
        "user": "u",
        "safety_identifier": "s",
        "prompt_cache_key": "p",
        "service_tier": "flex",
        "temperature": 0.5,
        "top_p": 0.9,
        "stream": True,
        "stream_options": {"include_obfuscation": False},
    }


def test_max_completion_tokens_wins_over_deprecated_max_tokens() -> None:
    assert to_responses(max_tokens=5, max_completion_tokens=9)["max_output_tokens"] == 9
    assert to_responses(max_completion_tokens=9, max_tokens=5)["max_output_tokens"] == 9
    assert to_responses(max_tokens=5)["max_output_tokens"] == 5


def test_store_defaults_to_false_and_parallel_tool_calls_needs_tools() -> None:
    out = to_responses(parallel_tool_calls=True)
    assert out["store"] is False
    assert "parallel_tool_calls" not in out


def test_web_search_options_become_a_web_search_tool() -> None:
    options = {
        "search_context_size": "low",
        "user_location": {"type": "approximate", "approximate": {"city": "Paris", "country": "FR"}},
    }
    out = to_responses(web_search_options=options)
    assert out["tools"] == [
        {
            "type": "web_search",
            "search_context_size": "low",
            "user_location": {"type": "approximate", "city": "Paris", "country": "FR"},
        }
    ]
    assert responses_request_to_chat(out)["web_search_options"] == options


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("n", 2),
        ("stop", ["x"]),
        ("seed", 1),
        ("logit_bias", {"1": 2}),
        ("frequency_penalty", 0.5),
        ("presence_penalty", 1),
        ("audio", {"voice": "ash", "format": "wav"}),
        ("modalities", ["text", "audio"]),
        ("prediction", {"type": "content", "content": "x"}),
        ("provider_extra", {"a": 1}),
    ],
)
def test_chat_only_parameters_raise_or_warn(name: str, value: Any) -> None:
    with pytest.raises(UnsupportedParameterError) as info:
        chat_request_to_responses(chat(**{name: value}))
    assert info.value.path == f"request.{name}"
    assert name in str(info.value)
    with pytest.warns(DroppedParameterWarning, match=f"request.{name}"):
        out = chat_request_to_responses(chat(**{name: value}), lenient=True)
    assert name not in out
    valid_responses(out)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("n", 1),
        ("frequency_penalty", 0),
        ("presence_penalty", 0.0),
        ("logit_bias", {}),
        ("stop", None),
        ("modalities", ["text"]),
        ("seed", None),
        ("logprobs", False),
    ],
)
def test_default_values_of_chat_only_parameters_are_no_ops(name: str, value: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = chat_request_to_responses(chat(**{name: value}))
    assert out == {
        "model": "gpt-4o",
        "input": [{"type": "message", "role": "user", "content": "hi"}],
        "store": False,
    }


def test_hoist_instructions_joins_leading_system_and_developer_messages() -> None:
    request = {
        "model": "m",
        "messages": [
            {"role": "system", "content": "A"},
            {"role": "developer", "content": [{"type": "text", "text": "B"}, {"type": "text", "text": "C"}]},
            {"role": "user", "content": "hi"},
            {"role": "system", "content": "late"},
        ],
    }
    out = chat_request_to_responses(request, hoist_instructions=True)
    valid_responses(out)
    assert out["instructions"] == "A\n\nBC"
    assert out["input"] == [
        {"type": "message", "role": "user", "content": "hi"},
        {"type": "message", "role": "system", "content": "late"},
    ]
    kept = chat_request_to_responses(request)
    assert "instructions" not in kept
    assert kept["input"][0] == {"type": "message", "role": "system", "content": "A"}


def test_bad_shapes_name_the_path() -> None:
    with pytest.raises(ConversionError) as info:
        chat_request_to_responses(chat(tools=[{"type": "function", "function": {"description": "no name"}}]))
    assert info.value.path == "request.tools[0].function.name"
    with pytest.raises(ConversionError) as info:
        chat_request_to_responses(
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "text"}]}]}
        )
    assert info.value.path == "request.messages[0].content[0].text"
    with pytest.raises(ConversionError, match="request"):
        chat_request_to_responses([])  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- Responses -> Chat


def responses(**params: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "input": "hi", **params}


def to_chat(**params: Any) -> dict[str, Any]:
    out = responses_request_to_chat(responses(**params))
    valid_chat(out)
    return out


def test_responses_settings_map_to_chat() -> None:
    out = to_chat(
        instructions="be brief",
        max_output_tokens=50,
        reasoning={"effort": "high"},
        include=[LOGPROBS_INCLUDE],
        top_logprobs=2,
        stream=True,
        store=False,
        safety_identifier="s",
        user="u",
        truncation="disabled",
        background=False,
    )
    assert out == {
        "model": "gpt-4o",
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        "max_completion_tokens": 50,
        "reasoning_effort": "high",
        "logprobs": True,
        "top_logprobs": 2,
        "stream": True,
        "store": False,
        "safety_identifier": "s",
        "user": "u",
        "stream_options": {"include_usage": True},
    }


def test_flat_function_tools_are_nested() -> None:
    out = to_chat(
        tools=[
            {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True},
            {"type": "function", "name": "g", "parameters": None, "strict": None},
        ],
        parallel_tool_calls=True,
    )
    assert out["tools"] == [
        {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}, "strict": True}},
        {"type": "function", "function": {"name": "g"}},
    ]
    assert out["parallel_tool_calls"] is True


@pytest.mark.parametrize(
    ("name", "value", "path"),
    [
        ("previous_response_id", "resp_1", "request.previous_response_id"),
        ("conversation", "conv_1", "request.conversation"),
        ("truncation", "auto", "request.truncation"),
        ("background", True, "request.background"),
        ("max_tool_calls", 3, "request.max_tool_calls"),
        ("include", [LOGPROBS_INCLUDE, "reasoning.encrypted_content"], "request.include[1]"),
        ("reasoning", {"effort": "low", "summary": "auto"}, "request.reasoning.summary"),
        ("tools", [{"type": "file_search", "vector_store_ids": ["v"]}], "request.tools[0].type"),
        (
            "tools",
            [{"type": "function", "name": "f", "parameters": {}, "defer_loading": True}],
            "request.tools[0].defer_loading",
        ),
        ("tool_choice", {"type": "web_search_preview"}, "request.tool_choice.type"),
        ("service_tier", "ultrafast", "request.service_tier"),
        ("prompt_cache_options", {"mode": "explicit", "ttl": "12h"}, "request.prompt_cache_options.ttl"),
    ],
)
def test_responses_only_parameters_raise_or_warn(name: str, value: Any, path: str) -> None:
    with pytest.raises(UnsupportedParameterError) as info:
        responses_request_to_chat(responses(**{name: value}))
    assert info.value.path == path
    with pytest.warns(DroppedParameterWarning, match=path.replace("[", r"\[").replace("]", r"\]")):
        out = responses_request_to_chat(responses(**{name: value}), lenient=True)
    valid_chat(out)


def test_instructions_alone_make_a_chat_request() -> None:
    out = responses_request_to_chat({"model": "m", "instructions": "x"})
    assert out["messages"] == [{"role": "system", "content": "x"}]
    with pytest.raises(ConversionError) as info:
        responses_request_to_chat({"model": "m"})
    assert info.value.path == "request.input"


# ----------------------------------------------------------------------------- round trip property

_names = st.text("abcdefgh_", min_size=1, max_size=8)
_chat_settings = st.fixed_dictionaries(
    {},
    optional={
        "temperature": st.floats(0, 2),
        "top_p": st.floats(0, 1),
        "max_completion_tokens": st.integers(1, 10_000),
        "reasoning_effort": st.sampled_from(["minimal", "low", "medium", "high"]),
        "verbosity": st.sampled_from(["low", "medium", "high"]),
        "store": st.booleans(),
        "user": _names,
        "safety_identifier": _names,
        "prompt_cache_key": _names,
        "metadata": st.dictionaries(_names, _names, max_size=3),
        "service_tier": st.sampled_from(["auto", "default", "flex", "priority"]),
        "stream": st.booleans(),
        "tools": st.lists(
            st.builds(
                lambda name, strict: {
                    "type": "function",
                    "function": {
                        "name": name,
                        "parameters": {"type": "object", "properties": {}},
                        "strict": strict,
                    },
                },
                _names,
                st.booleans(),
            ),
            min_size=1,
            max_size=3,
        ),
        "response_format": st.sampled_from([{"type": "text"}, {"type": "json_object"}]),
    },
)


@settings(max_examples=100, deadline=None)
@given(_chat_settings)
def test_chat_settings_round_trip(settings_: dict[str, Any]) -> None:
    request = chat(**settings_)
    there = chat_request_to_responses(request)
    valid_responses(there)
    back = responses_request_to_chat(there)
    valid_chat(back)
    expected = {**request, "store": request.get("store", False)}
    if request.get("stream"):
        expected["stream_options"] = {"include_usage": True}
    assert back == expected


def test_a_chat_client_sends_custom_tool_calls_back_and_they_stay_custom() -> None:
    """ResponsesToChat gives a custom tool call to a Chat client in the function form (raw input as
    ``arguments``); when the client sends it back with the custom tool declared, the Responses request
    carries a ``custom_tool_call`` and its ``custom_tool_call_output`` again, as the upstream requires."""
    from translator.convert.requests import convert_chat_request
    from translator.streams.accumulate import accumulate_chat
    from translator.streams.object_stream import response_as_events
    from translator.streams.responses_to_chat import translate_responses_stream

    patch = '*** Begin Patch\n*** Add File: a.txt\n+"quoted" {braces}\n*** End Patch\n'
    call = {
        "type": "custom_tool_call",
        "id": "ctc_1",
        "call_id": "call_9",
        "name": "apply_patch",
        "input": patch,
    }
    response = {
        "id": "resp_1",
        "object": "response",
        "created_at": 1,
        "model": "m",
        "status": "completed",
        "output": [call],
    }
    message = accumulate_chat(translate_responses_stream(response_as_events(response)))["choices"][0][
        "message"
    ]
    assert message["tool_calls"][0]["function"] == {"name": "apply_patch", "arguments": patch}
    request = {
        "model": "m",
        "tools": [{"type": "custom", "custom": {"name": "apply_patch", "description": "edit files"}}],
        "messages": [
            {"role": "user", "content": "add a.txt"},
            message,
            {"role": "tool", "tool_call_id": "call_9", "content": "Done"},
        ],
    }
    valid_chat(request)
    converted = convert_chat_request(request).params
    valid_responses(converted)
    assert converted["input"][1:] == [
        {"type": "custom_tool_call", "call_id": "call_9", "name": "apply_patch", "input": patch},
        {"type": "custom_tool_call_output", "call_id": "call_9", "output": "Done"},
    ]
