"""Requests the real Codex CLI sent, converted for Chat-only upstreams (``convert_responses_request``).

The two bodies in ``shared/codex`` are read from there (never copied).  Each converts with every
tool and item accounted for: it reaches the Chat request, or it is in ``dropped`` with its path.
The Chat request validates against the SDK's ``CompletionCreateParams`` and passes the checks a
strict upstream makes (``assert_strict_upstream_accepts``).  Continuations of the conversation add
every item type Codex replays.
"""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from openai.types.responses import ResponseInputParam
from pydantic import TypeAdapter
from support.corpus import codex_params, read_json
from support.sdk import valid_chat

from translator.convert.requests import RequestConversion, convert_responses_request
from translator.protocol.capabilities import PRESETS, UpstreamProfile
from translator.protocol.tool_names import NAME_PATTERN

INPUT_ITEMS: TypeAdapter[Any] = TypeAdapter(ResponseInputParam)

PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch\n"


def convert(body: dict[str, Any], profile: UpstreamProfile | None = None) -> RequestConversion:
    """Convert, checking that nothing goes through the process-wide warnings machinery."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = convert_responses_request(body, profile)
    valid_chat(result.params)
    assert_strict_upstream_accepts(result.params, profile or UpstreamProfile())
    return result


def schema_nodes(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        return [node] + [n for value in node.values() for n in schema_nodes(value)]
    if isinstance(node, list):
        return [n for value in node for n in schema_nodes(value)]
    return []


def assert_strict_upstream_accepts(params: dict[str, Any], profile: UpstreamProfile) -> None:
    """What strict servers (vLLM, llama.cpp, Ollama, Mistral, DeepSeek) check before answering 400."""
    tools = params.get("tools", [])
    names = [tool["function"]["name"] for tool in tools if tool["type"] == "function"]
    assert all(NAME_PATTERN.match(name) for name in names), names
    assert len(set(names)) == len(names)
    if not tools:
        assert "tool_choice" not in params and "parallel_tool_calls" not in params
    for tool in tools:
        schema = tool["function"]["parameters"]
        assert schema["type"] == "object" and isinstance(schema["properties"], dict)
        for node in schema_nodes(schema):
            assert node.get("type", "") is not None
    messages = params["messages"]
    roles = [m["role"] for m in messages]
    assert set(roles) <= {"system", "user", "assistant", "tool"} | (
        {"developer"} if profile.developer_role else set()
    )
    if profile.leading_system_only:
        assert "system" not in roles[1:] and "developer" not in roles[1:]
    pending: set[str] = set()
    for message in messages:
        if profile.string_content and message["role"] != "user":
            assert message["content"] is None or isinstance(message["content"], str)
        if message["role"] == "assistant":
            assert not pending, f"calls without results: {pending}"
            for call in message.get("tool_calls", []):
                assert call["type"] == "function" and call["function"]["name"] in names
                json.loads(call["function"]["arguments"])
                pending.add(call["id"])
            if profile.reasoning_required and profile.reasoning_field:
                assert isinstance(message.get(profile.reasoning_field), str)
        elif message["role"] == "tool":
            pending.remove(message["tool_call_id"])


def codex_body(name: str) -> dict[str, Any]:
    """One captured Codex body by file name (the test skips when shared/codex is absent)."""
    first = codex_params()[0]
    if first.values[0] is None:
        pytest.skip(first.marks[0].kwargs["reason"])
    body: dict[str, Any] = read_json(Path(first.values[0]).parent / name)
    return body


def function(params: dict[str, Any], name: str) -> dict[str, Any]:
    fn: dict[str, Any] = next(t["function"] for t in params["tools"] if t["function"]["name"] == name)
    return fn


def dropped_paths(result: RequestConversion) -> list[str]:
    return [d.path for d in result.dropped]


@pytest.mark.parametrize("path", codex_params())
def test_every_codex_tool_reaches_the_upstream_or_is_reported(path: Path) -> None:
    body = read_json(path)
    before = copy.deepcopy(body)
    result = convert(body)
    assert body == before  # the client's request is not modified
    params, tool_map = result.params, result.tool_map
    chat_names = {tool["function"]["name"] for tool in params["tools"]}
    # Responses identity of every Chat function: the tool map, or a plain function of the same name
    identities = {name: dict(tool_map.get(name, {"type": "function", "name": name})) for name in chat_names}
    for i, tool in enumerate(body["tools"]):
        kind = tool["type"]
        if kind == "function":
            assert identities[tool["name"]] == {"type": "function", "name": tool["name"]}
        elif kind == "custom":
            assert identities[tool["name"]] == {"type": "custom", "name": "apply_patch"}
        elif kind == "namespace":
            for inner in tool["tools"]:
                flat = f"{tool['name']}__{inner['name']}"
                assert identities[flat] == {
                    "type": "function",
                    "name": inner["name"],
                    "namespace": tool["name"],
                }
        elif kind == "tool_search":
            assert identities["tool_search"] == {"type": "tool_search"}
        else:
            assert kind == "web_search"
            assert f"request.tools[{i}]" in dropped_paths(result)
    assert "web_search_options" not in params  # the upstream cannot search


@pytest.mark.parametrize("path", codex_params())
def test_every_codex_option_is_mapped_or_reported(path: Path) -> None:
    body = read_json(path)
    result = convert(body)
    params, dropped = result.params, dropped_paths(result)
    assert params["model"] == body["model"]
    assert params["stream"] is True and params["stream_options"] == {"include_usage": True}
    assert params["tool_choice"] == "auto" and params["parallel_tool_calls"] is True
    assert params["prompt_cache_key"] == body["prompt_cache_key"]
    assert "store" not in params  # store: false is Chat's default
    assert "request.client_metadata" in dropped
    assert "request.include[0]" in dropped  # reasoning.encrypted_content
    for key, value in body["reasoning"].items():
        if key == "effort":
            assert params["reasoning_effort"] == value
        else:
            assert f"request.reasoning.{key}" in dropped
    if "text" in body:
        assert params["verbosity"] == body["text"]["verbosity"]
    # nothing else was dropped: the tools reported are the hosted ones
    expected = {"request.client_metadata", "request.include[0]"}
    expected |= {f"request.reasoning.{k}" for k in body["reasoning"] if k != "effort"}
    expected |= {f"request.tools[{i}]" for i, t in enumerate(body["tools"]) if t["type"] == "web_search"}
    assert set(dropped) == expected
    assert all(d.reason for d in result.dropped)


@pytest.mark.parametrize("path", codex_params())
def test_codex_base_prompt_and_context_become_one_leading_system_message(path: Path) -> None:
    body = read_json(path)
    messages = convert(body).params["messages"]
    developer = [i for i in body["input"] if i["role"] == "developer"]
    users = [i for i in body["input"] if i["role"] == "user"]
    assert [m["role"] for m in messages] == ["system"] + ["user"] * len(users)
    system = messages[0]["content"]
    base_prompt = developer[0]["content"][0]["text"]
    assert system.startswith(base_prompt)
    for item in developer:
        for part in item["content"]:
            assert part["text"] in system
    assert messages[-1]["content"] == "Say hello"


@pytest.mark.parametrize("path", codex_params())
def test_openai_profile_keeps_developer_messages_and_parts(path: Path) -> None:
    body = read_json(path)
    messages = convert(body, PRESETS["openai"]).params["messages"]
    assert [m["role"] for m in messages[:2]] == ["developer", "developer"]
    assert messages[0]["content"] == [{"type": "text", "text": body["input"][0]["content"][0]["text"]}]


def test_custom_apply_patch_is_a_function_with_one_string_input() -> None:
    body = codex_body("request_gpt-5.5.json")
    params = convert(body).params
    patch_tool = next(t for t in body["tools"] if t["type"] == "custom")
    fn = function(params, "apply_patch")
    assert fn["parameters"] == {
        "type": "object",
        "properties": {"input": {"type": "string"}},
        "required": ["input"],
        "additionalProperties": False,
    }
    assert fn["description"].startswith(patch_tool["description"])
    assert "lark grammar" in fn["description"]
    assert patch_tool["format"]["definition"] in fn["description"]
    search = next(t for t in body["tools"] if t["type"] == "tool_search")
    assert function(params, "tool_search")["parameters"] == search["parameters"]
    assert function(params, "tool_search")["description"] == search["description"]


@pytest.mark.parametrize("path", codex_params())
def test_strict_schema_mode_strips_what_subset_validators_reject(path: Path) -> None:
    body = read_json(path)
    result = convert(body, UpstreamProfile(tool_schema="strict"))
    for tool in result.params["tools"]:
        assert all(
            "additionalProperties" not in node for node in schema_nodes(tool["function"]["parameters"])
        )
    reported = [d for d in result.dropped if d.path.endswith(".parameters")]
    assert reported and all("additionalProperties" in d.reason for d in reported)


@pytest.mark.parametrize("path", codex_params())
def test_conversion_is_deterministic(path: Path) -> None:
    body = read_json(path)
    assert convert(body).params == convert(body).params


def test_a_body_with_only_hosted_tools_sends_no_tool_options() -> None:
    body = codex_body("request_fallback_model.json")
    body["tools"] = [t for t in body["tools"] if t["type"] == "web_search"]
    params = convert(body).params
    assert not {"tools", "tool_choice", "parallel_tool_calls"} & set(params)


# --------------------------------------------------------------------------- continued conversations


def continuation() -> list[dict[str, Any]]:
    """The items Codex replays after a turn with every kind of tool call (all SDK-valid input)."""
    turn: list[dict[str, Any]] = [
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [{"type": "summary_text", "text": "I should list the files."}],
            "encrypted_content": None,
        },
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_1",
            "name": "exec_command",
            "arguments": '{"cmd":"ls"}',
            "status": "completed",
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "README.md\n"},
        {
            "type": "reasoning",
            "id": "rs_2",
            "summary": [],
            "content": [{"type": "reasoning_text", "text": "Now create the file."}],
        },
        {
            "type": "custom_tool_call",
            "id": "ctc_1",
            "call_id": "call_2",
            "name": "apply_patch",
            "input": PATCH,
        },
        {"type": "custom_tool_call_output", "call_id": "call_2", "output": "Success. A hello.txt\n"},
        {
            "type": "tool_search_call",
            "id": "ts_1",
            "call_id": "call_3",
            "execution": "client",
            "arguments": {"query": "calendar", "limit": 2},
            "status": "completed",
        },
        {
            "type": "tool_search_output",
            "call_id": "call_3",
            "execution": "client",
            "status": "completed",
            "tools": [
                {
                    "type": "namespace",
                    "name": "mcp__calendar",
                    "description": "Calendar tools",
                    "tools": [
                        {
                            "type": "function",
                            "name": "create_event",
                            "description": "Create an event",
                            "defer_loading": True,
                            "parameters": {
                                "type": "object",
                                "properties": {"title": {"type": "string"}},
                                "required": ["title"],
                                "additionalProperties": False,
                            },
                            "strict": False,
                        }
                    ],
                }
            ],
        },
        {
            "type": "function_call",
            "call_id": "call_4",
            "name": "create_event",
            "namespace": "mcp__calendar",
            "arguments": '{"title":"standup"}',
        },
        {
            "type": "function_call_output",
            "call_id": "call_4",
            "output": [{"type": "input_text", "text": "ok"}],
        },
        {
            "type": "message",
            "role": "assistant",
            "id": "msg_1",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Done.", "annotations": []}],
            "phase": "final_answer",
        },
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "thanks"}]},
    ]
    INPUT_ITEMS.validate_python(turn)
    return turn


def gpt55_body() -> dict[str, Any]:
    body = codex_body("request_gpt-5.5.json")
    body["input"] += continuation()
    return body


def test_every_codex_history_item_becomes_chat_history() -> None:
    body = gpt55_body()
    result = convert(body)
    messages = result.params["messages"][3:]  # after the system message and the two user messages
    calls = [m.get("tool_calls", []) for m in messages]
    assert [m["role"] for m in messages] == ["assistant", "tool"] * 4 + ["assistant", "user"]
    assert [c[0]["function"]["name"] for c in calls if c] == [
        "exec_command",
        "apply_patch",
        "tool_search",
        "mcp__calendar__create_event",
    ]
    assert json.loads(calls[2][0]["function"]["arguments"]) == {"input": PATCH}
    assert json.loads(calls[4][0]["function"]["arguments"]) == {"query": "calendar", "limit": 2}
    assert [m["tool_call_id"] for m in messages if m["role"] == "tool"] == [
        "call_1",
        "call_2",
        "call_3",
        "call_4",
    ]
    assert json.loads(messages[5]["content"]) == {"loaded_tools": ["mcp__calendar__create_event"]}
    assert messages[7]["content"] == "ok"
    # reasoning goes back on the assistant message it preceded
    assert messages[0]["reasoning_content"] == "I should list the files."
    assert messages[2]["reasoning_content"] == "Now create the file."
    assert "reasoning_content" not in messages[4]
    assert messages[8] == {"role": "assistant", "content": "Done."}
    # the tool search loaded a namespaced tool: it is callable now, and maps back
    loaded = function(result.params, "mcp__calendar__create_event")
    assert loaded["parameters"]["required"] == ["title"]
    assert result.tool_map["mcp__calendar__create_event"] == {
        "type": "function",
        "name": "create_event",
        "namespace": "mcp__calendar",
    }
    assert not [d for d in result.dropped if d.path.startswith("request.input")]


def test_deepseek_gets_reasoning_content_on_every_assistant_turn() -> None:
    body = gpt55_body()
    body["max_output_tokens"] = 500
    result = convert(body, PRESETS["deepseek"])
    assistants = [m for m in result.params["messages"] if m["role"] == "assistant"]
    assert [m["reasoning_content"] for m in assistants] == [
        "I should list the files.",
        "Now create the file.",
        "",
        "",
        "",
    ]
    assert result.params["max_tokens"] == 500  # DeepSeek documents max_tokens only
    assert "max_completion_tokens" not in result.params


@pytest.mark.parametrize("field", ["reasoning", None])
def test_reasoning_goes_in_the_profile_field_or_is_reported(field: Any) -> None:
    result = convert(gpt55_body(), UpstreamProfile(reasoning_field=field))
    assistants = [m for m in result.params["messages"] if m["role"] == "assistant"]
    assert all("reasoning_content" not in m for m in assistants)
    if field:
        assert assistants[0]["reasoning"] == "I should list the files."
    else:
        paths = dropped_paths(result)
        first = len(codex_body("request_gpt-5.5.json")["input"])
        assert paths.count(f"request.input[{first}]") == 1
        assert f"request.input[{first + 3}]" in paths


def test_mistral_gets_only_the_parameters_it_accepts() -> None:
    body = gpt55_body()
    body["max_output_tokens"] = 1000
    body["store"] = True
    result = convert(body, PRESETS["mistral"])
    params = result.params
    assert params["max_tokens"] == 1000
    assert set(params) <= PRESETS["mistral"].chat_params  # type: ignore[operator]
    paths = dropped_paths(result)
    for path in (
        "request.store",
        "request.prompt_cache_key",
        "request.reasoning.effort",
        "request.text.verbosity",
    ):
        assert path in paths
    assert "request.stream" in paths  # stream_options.include_usage


def test_rejected_params_are_dropped_and_reported() -> None:
    profile = UpstreamProfile(rejected_params=frozenset({"reasoning_effort", "verbosity"}))
    result = convert(codex_body("request_gpt-5.5.json"), profile)
    assert not {"reasoning_effort", "verbosity"} & set(result.params)
    assert {"request.reasoning.effort", "request.text.verbosity"} <= set(dropped_paths(result))
