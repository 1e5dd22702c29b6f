"""Responses tools for a Chat-only upstream: declarations, hosted tools, tool_choice, collected drops."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from support.sdk import valid_chat

from translator.convert.requests import RequestConversion, convert_chat_request, convert_responses_request
from translator.errors import ConversionError, UnsupportedParameterError
from translator.protocol.capabilities import UpstreamProfile
from translator.protocol.tool_names import NAME_PATTERN

FN = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {}},
    "strict": None,
}
CUSTOM = {"type": "custom", "name": "apply_patch", "format": {"type": "text"}}
NAMESPACE = {
    "type": "namespace",
    "name": "crm",
    "description": "Customer records",
    "tools": [
        {"type": "function", "name": "search", "description": "Find a customer", "parameters": None},
        {"type": "custom", "name": "note", "description": "Free text note"},
    ],
}


def convert(tools: list[Any], profile: UpstreamProfile | None = None, **extra: Any) -> RequestConversion:
    request = {"model": "m", "input": "hi", "tools": tools, **extra}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # drops are collected, never warned
        result = convert_responses_request(request, profile)
    valid_chat(result.params)
    return result


def names(result: RequestConversion) -> list[str]:
    return [t["function"]["name"] for t in result.params.get("tools", []) if t["type"] == "function"]


def reasons(result: RequestConversion) -> dict[str, str]:
    return {d.path: d.reason for d in result.dropped}


def test_namespace_tools_are_flattened_with_their_group_description() -> None:
    result = convert([FN, NAMESPACE])
    assert names(result) == ["get_weather", "crm__search", "crm__note"]
    search = result.params["tools"][1]["function"]
    assert search["description"] == "Find a customer\n\n(crm: Customer records)"
    assert search["parameters"] == {"type": "object", "properties": {}}  # null schema repaired
    note = result.params["tools"][2]["function"]
    assert note["parameters"]["properties"] == {"input": {"type": "string"}}
    assert note["description"].startswith("Free text note\n\n(crm: Customer records)")
    assert result.tool_map == {
        "crm__search": {"type": "function", "name": "search", "namespace": "crm"},
        "crm__note": {"type": "custom", "name": "note", "namespace": "crm"},
    }
    assert result.dropped == ()


def test_custom_tool_with_text_format_is_described_as_free_text() -> None:
    fn = convert([CUSTOM]).params["tools"][0]["function"]
    assert '"input"' in fn["description"] and "grammar" not in fn["description"]
    with pytest.raises(ConversionError) as info:
        convert([{**CUSTOM, "format": {"type": "regex"}}])
    assert info.value.path == "request.tools[0].format.type"


@pytest.mark.parametrize(
    "hosted",
    [
        {"type": "web_search"},
        {"type": "file_search", "vector_store_ids": ["vs_1"]},
        {"type": "code_interpreter", "container": {"type": "auto"}},
        {"type": "image_generation"},
        {"type": "mcp", "server_label": "deepwiki", "server_url": "https://example.invalid"},
        {"type": "computer_use_preview", "display_width": 1, "display_height": 1, "environment": "linux"},
        {"type": "local_shell"},
        {"type": "shell"},
        {"type": "apply_patch"},
        {"type": "tool_search"},  # server-executed
        {"type": "tool_search", "execution": "server"},
    ],
)
def test_hosted_tools_are_dropped_and_reported_with_no_tool_options_left(hosted: dict[str, Any]) -> None:
    result = convert([hosted], tool_choice="auto", parallel_tool_calls=False)
    assert "request.tools[0]" in reasons(result)
    assert not {"tools", "tool_choice", "parallel_tool_calls", "web_search_options"} & set(result.params)


def test_hosted_tools_the_upstream_runs_are_kept() -> None:
    profile = UpstreamProfile(hosted_tools=frozenset({"web_search", "code_interpreter"}))
    web = {
        "type": "web_search",
        "search_context_size": "low",
        "user_location": {"type": "approximate", "city": "X"},
    }
    interpreter = {"type": "code_interpreter", "container": {"type": "auto"}}
    result = convert([web, interpreter, FN], profile)
    assert result.params["web_search_options"] == {
        "search_context_size": "low",
        "user_location": {"type": "approximate", "approximate": {"city": "X"}},
    }
    assert result.params["tools"][-1] == interpreter
    assert result.dropped == ()


def test_unknown_tool_types_are_reported() -> None:
    assert "request.tools[0].type" in reasons(convert([{"type": "hologram"}]))


def test_tool_search_without_parameters_gets_a_query_schema() -> None:
    fn = convert([{"type": "tool_search", "execution": "client"}]).params["tools"][0]["function"]
    assert fn["name"] == "tool_search" and fn["parameters"]["required"] == ["query"]


def test_deferred_tools_wait_for_a_client_tool_search_or_are_reported() -> None:
    deferred = {**FN, "name": "later", "defer_loading": True}
    search = {"type": "tool_search", "execution": "client"}
    assert names(convert([deferred, search])) == ["tool_search"]
    result = convert([deferred])
    assert names(result) == [] and "request.tools[0]" in reasons(result)


def test_programmatic_only_tools_and_unknown_keys_are_reported() -> None:
    result = convert([{**FN, "allowed_callers": ["programmatic"]}, {**FN, "name": "b", "output_schema": {}}])
    assert names(result) == ["b"]
    assert set(reasons(result)) == {"request.tools[0]", "request.tools[1].output_schema"}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("required", "required"),
        (
            {"type": "function", "name": "get_weather"},
            {"type": "function", "function": {"name": "get_weather"}},
        ),
        (
            {"type": "custom", "name": "apply_patch"},
            {"type": "function", "function": {"name": "apply_patch"}},
        ),
        ({"type": "function", "name": "search"}, {"type": "function", "function": {"name": "crm__search"}}),
        (
            {"type": "function", "name": "search", "namespace": "crm"},
            {"type": "function", "function": {"name": "crm__search"}},
        ),
    ],
)
def test_tool_choice_names_the_flattened_function(choice: Any, expected: Any) -> None:
    result = convert([FN, CUSTOM, NAMESPACE], tool_choice=choice)
    assert result.params["tool_choice"] == expected
    assert result.dropped == ()


@pytest.mark.parametrize(
    "choice",
    [
        {"type": "function", "name": "missing"},
        {"type": "custom", "name": "get_weather"},
        {"type": "web_search_preview"},
        {"type": "mcp", "server_label": "x"},
        {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "missing"}]},
    ],
)
def test_a_choice_of_a_tool_the_upstream_lacks_is_reported(choice: Any) -> None:
    result = convert([FN], tool_choice=choice)
    assert "tool_choice" not in result.params
    assert any(path.startswith("request.tool_choice") for path in reasons(result))
    assert names(result) == ["get_weather"]


def test_an_ambiguous_bare_name_is_reported() -> None:
    other = {**NAMESPACE, "name": "sales"}
    result = convert([NAMESPACE, other], tool_choice={"type": "function", "name": "search"})
    assert "tool_choice" not in result.params
    assert "several" in reasons(result)["request.tool_choice"]


def test_allowed_tools_filters_the_tools_for_any_upstream() -> None:
    choice = {
        "type": "allowed_tools",
        "mode": "required",
        "tools": [{"type": "custom", "name": "apply_patch"}, {"type": "function", "name": "search"}],
    }
    result = convert([FN, CUSTOM, NAMESPACE], tool_choice=choice)
    assert names(result) == ["apply_patch", "crm__search"]
    assert result.params["tool_choice"] == "required"


def test_tool_choice_without_tools_left_is_never_sent() -> None:
    hosted = [{"type": "web_search"}]
    assert "request.tool_choice" not in reasons(convert(hosted, tool_choice="auto"))
    assert "request.tool_choice" in reasons(convert(hosted, tool_choice="required"))
    result = convert([], tool_choice="none", parallel_tool_calls=True)
    assert not {"tool_choice", "parallel_tool_calls"} & set(result.params)


def test_invalid_and_colliding_names_are_valid_and_distinct() -> None:
    long_name = "x" * 100
    tools = [
        {**FN, "name": "crm__search"},
        NAMESPACE,
        {**FN, "name": "has space"},
        {**FN, "name": long_name},
        {**FN, "name": long_name + "y"},
    ]
    result = convert(tools)
    chat = names(result)
    assert chat[0] == "crm__search"  # the plain function keeps its name
    assert len(set(chat)) == len(chat) == 6
    assert all(NAME_PATTERN.match(n) for n in chat)
    back = {n: result.tool_map.get(n) for n in chat}
    assert back[chat[1]] == {"type": "function", "name": "search", "namespace": "crm"}
    assert {back[n]["name"] for n in chat[3:] if back[n]} == {"has space", long_name, long_name + "y"}


def test_strict_raises_at_the_first_drop() -> None:
    with pytest.raises(UnsupportedParameterError) as info:
        convert_responses_request(
            {"model": "m", "input": "hi", "tools": [{"type": "web_search"}]}, strict=True
        )
    assert info.value.path == "request.tools[0]"


def test_a_strict_function_stays_strict_unless_its_schema_lost_keywords() -> None:
    strict_fn = {
        **FN,
        "strict": True,
        "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
    }
    assert convert([strict_fn]).params["tools"][0]["function"]["strict"] is True
    result = convert([strict_fn], UpstreamProfile(tool_schema="strict"))
    assert "strict" not in result.params["tools"][0]["function"]
    assert set(reasons(result)) == {"request.tools[0].parameters", "request.tools[0].strict"}


def test_chat_request_drops_are_collected_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = convert_chat_request(
            {"model": "m", "messages": [{"role": "user", "content": "hi", "name": "bob"}], "seed": 1, "n": 2}
        )
    assert {d.path for d in result.dropped} == {"request.seed", "request.n", "request.messages[0].name"}
    assert result.params["input"] == [{"type": "message", "role": "user", "content": "hi"}]
    assert result.tool_map == {}
    with pytest.raises(UnsupportedParameterError):
        convert_chat_request({"model": "m", "messages": [], "seed": 1}, strict=True)


def _identity_operations(n: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many times converting a request of ``n`` tools (all allowed by name) compares or hashes a
    tool identity."""
    from translator.protocol.tool_names import ToolIdentity

    calls = [0]
    eq, hash_ = ToolIdentity.__eq__, ToolIdentity.__hash__

    def counted_eq(self: ToolIdentity, other: object) -> bool:
        calls[0] += 1
        return eq(self, other)

    def counted_hash(self: ToolIdentity) -> int:
        calls[0] += 1
        return hash_(self)

    tools = [{"type": "function", "name": f"tool_{i}", "parameters": {"type": "object"}} for i in range(n)]
    refs = [{"type": "function", "name": f"tool_{i}"} for i in range(n)]
    body = {
        "model": "m",
        "input": "hi",
        "tools": tools,
        "tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": refs},
    }
    with monkeypatch.context() as patch:
        patch.setattr(ToolIdentity, "__eq__", counted_eq)
        patch.setattr(ToolIdentity, "__hash__", counted_hash)
        converted = convert_responses_request(body)
    assert len(converted.params["tools"]) == n
    return calls[0]


def test_tools_are_read_and_resolved_in_linear_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Twice the tools (and references to them) cost twice the identity operations, not four times:
    tools were compared pairwise once, and 20,000 of them held the gateway's event loop for 39 s."""
    small, large = _identity_operations(1000, monkeypatch), _identity_operations(2000, monkeypatch)
    assert small > 0
    assert large <= 2.2 * small, (small, large)
