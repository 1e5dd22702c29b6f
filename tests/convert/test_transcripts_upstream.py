"""Responses input -> Chat messages shaped for a Chat-only upstream (``input_to_messages(profile=...)``)."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai.types.chat import ChatCompletionMessageParam
from pydantic import TypeAdapter

from translator.convert.drop_policy import Dropped, DroppedParameterWarning
from translator.convert.transcripts import input_to_messages, messages_to_input
from translator.errors import UnsupportedParameterError
from translator.protocol.capabilities import UpstreamProfile
from translator.protocol.tool_names import NAME_PATTERN, ToolIdentity, ToolNames

MESSAGES: TypeAdapter[Any] = TypeAdapter(list[ChatCompletionMessageParam])


def upstream(
    items: list[Any], profile: UpstreamProfile | None = None, **kw: Any
) -> tuple[list[Any], list[str]]:
    """Convert for ``profile`` (default: generic), collecting drops; returns (messages, dropped paths)."""
    dropped: list[Dropped] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        messages = input_to_messages(
            items, lenient=True, profile=profile or UpstreamProfile(), dropped=dropped, **kw
        )
    MESSAGES.validate_python(messages)
    return messages, [d.path for d in dropped]


def text(role: str, value: str) -> dict[str, Any]:
    kind = "output_text" if role == "assistant" else "input_text"
    return {"type": "message", "role": role, "content": [{"type": kind, "text": value}]}


def test_leading_system_and_developer_messages_merge_and_later_ones_become_user() -> None:
    items = [
        text("developer", "base prompt"),
        text("system", "rules"),
        text("user", "hi"),
        text("developer", "late"),
    ]
    messages, dropped = upstream(items, instructions="instructions")
    assert messages == [
        {"role": "system", "content": "instructions\n\nbase prompt\n\nrules"},
        {"role": "user", "content": "hi"},
        {"role": "user", "content": "late"},
    ]
    assert dropped == ["input[3].role"]


def test_system_messages_stay_in_place_when_the_upstream_allows_it() -> None:
    profile = UpstreamProfile(developer_role=True, leading_system_only=False, string_content=False)
    items = [text("developer", "a"), text("user", "hi"), text("developer", "b")]
    messages, dropped = upstream(items, profile)
    assert [m["role"] for m in messages] == ["developer", "user", "developer"]
    assert messages[0]["content"] == [{"type": "text", "text": "a"}]
    assert dropped == []


def test_merged_part_lists_keep_their_parts() -> None:
    profile = UpstreamProfile(string_content=False)
    messages, _ = upstream([text("developer", "a"), text("developer", "b")], profile)
    assert messages == [
        {"role": "system", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    ]


def test_text_parts_are_joined_but_images_keep_the_list() -> None:
    image = {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "auto"}
    items = [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "a"}, image]},
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "b"},
                {"type": "input_text", "text": "c", "prompt_cache_breakpoint": {"type": "auto"}},
            ],
        },
    ]
    messages, dropped = upstream(items)
    assert isinstance(messages[0]["content"], list) and len(messages[0]["content"]) == 2
    assert messages[1]["content"] == "b\nc"
    assert dropped == ["input[1].content"]


def test_calls_are_functions_named_like_the_declared_tools() -> None:
    names = ToolNames()
    names.assign([ToolIdentity("custom", "apply_patch"), ToolIdentity("function", "run", "shell")])
    items = [
        {"type": "custom_tool_call", "call_id": "c1", "name": "apply_patch", "input": 'say "hi"\n'},
        {"type": "function_call", "call_id": "c2", "name": "run", "namespace": "shell", "arguments": ""},
        {"type": "custom_tool_call_output", "call_id": "c1", "output": "done"},
        {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "ok"}]},
        {"type": "custom_tool_call", "call_id": "c3", "name": "note", "namespace": "crm", "input": "x"},
        {"type": "custom_tool_call_output", "call_id": "c3", "output": "noted"},
    ]
    messages, dropped = upstream(items, tool_names=names)
    calls = messages[0]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["apply_patch", "shell__run"]
    assert json.loads(calls[0]["function"]["arguments"]) == {"input": 'say "hi"\n'}
    assert calls[1]["function"]["arguments"] == "{}"
    assert messages[1:3] == [
        {"role": "tool", "tool_call_id": "c1", "content": "done"},
        {"role": "tool", "tool_call_id": "c2", "content": "ok"},
    ]
    assert messages[3]["tool_calls"][0]["function"]["name"] == "crm__note"
    assert names.tool_map()["crm__note"] == {"type": "custom", "name": "note", "namespace": "crm"}
    assert dropped == []


def test_tool_search_items_replay_as_a_call_and_its_result() -> None:
    items = [
        {"type": "tool_search_call", "call_id": "s1", "execution": "client", "arguments": {"query": "cal"}},
        {
            "type": "tool_search_output",
            "call_id": "s1",
            "execution": "client",
            "tools": [{"type": "function", "name": "create_event", "parameters": None, "strict": None}],
        },
        {"type": "additional_tools", "role": "developer", "tools": [{"type": "function", "name": "more"}]},
        {"type": "tool_search_call", "id": "ts_2", "execution": "server", "arguments": {"paths": ["x"]}},
        {"type": "tool_search_output", "id": "tso_2", "execution": "server", "tools": []},
    ]
    messages, dropped = upstream(items)
    assert messages == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "s1",
                    "type": "function",
                    "function": {"name": "tool_search", "arguments": '{"query":"cal"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "s1", "content": '{"loaded_tools":["create_event"]}'},
    ]
    assert dropped == ["input[3].type", "input[4].type"]


def test_hosted_and_server_items_are_reported() -> None:
    items = [
        {
            "type": "web_search_call",
            "id": "ws_1",
            "status": "completed",
            "action": {"type": "search", "query": "q"},
        },
        {"type": "compaction", "encrypted_content": "x"},
        {"type": "item_reference", "id": "msg_1"},
    ]
    assert upstream(items) == ([], ["input[0].type", "input[1].type", "input[2].type"])


def test_reasoning_attaches_to_the_turn_it_precedes_and_orphans_are_reported() -> None:
    reasoning = {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "think"}]}
    encrypted = {"type": "reasoning", "id": "rs_0", "summary": [], "encrypted_content": "opaque"}
    items = [
        text("user", "q"),
        encrypted,  # nothing to replay: no text
        reasoning,
        text("user", "interrupted"),  # the reasoning above preceded no assistant output
        {**reasoning, "id": "rs_2", "summary": [{"type": "summary_text", "text": "again"}]},
        text("assistant", "answer"),
    ]
    messages, dropped = upstream(items)
    assert messages[-1] == {"role": "assistant", "content": "answer", "reasoning_content": "again"}
    assert dropped == ["input[2]"]


def test_reasoning_required_gives_every_assistant_message_the_field() -> None:
    profile = UpstreamProfile(reasoning_required=True)
    items = [
        text("user", "q"),
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c", "output": "r"},
        {"type": "reasoning", "id": "rs", "summary": [{"type": "summary_text", "text": "t"}]},
        text("assistant", "a"),
    ]
    messages, _ = upstream(items, profile)
    assert [m.get("reasoning_content") for m in messages if m["role"] == "assistant"] == ["", "t"]


def test_reasoning_the_upstream_takes_none_of_is_reported() -> None:
    items = [
        {"type": "reasoning", "id": "rs", "summary": [{"type": "summary_text", "text": "t"}]},
        text("assistant", "a"),
    ]
    messages, dropped = upstream(items, UpstreamProfile(reasoning_field=None))
    assert messages == [{"role": "assistant", "content": "a"}]
    assert dropped == ["input[0]"]


def test_refusals_and_empty_assistant_messages_are_sent_as_text() -> None:
    refusal = {
        "type": "message",
        "role": "assistant",
        "id": "msg_1",
        "status": "completed",
        "content": [{"type": "refusal", "refusal": "I can't."}],
    }
    empty = {"type": "message", "role": "assistant", "content": []}
    messages, dropped = upstream([text("user", "q"), refusal, text("user", "q2"), empty])
    assert messages[1] == {"role": "assistant", "content": "I can't."}
    assert messages[3] == {"role": "assistant", "content": ""}
    assert dropped == ["input[1].content"]


def test_a_string_input_is_one_user_message() -> None:
    assert upstream("hi", instructions="be brief") == (
        [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        [],
    )


# --------------------------------------------------------------------------- without a profile


def test_without_a_profile_a_namespace_is_reported_not_silently_lost() -> None:
    items = [
        {"type": "function_call", "call_id": "c", "name": "run", "namespace": "shell", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c", "output": "ok"},
    ]
    with pytest.raises(UnsupportedParameterError) as info:
        input_to_messages(items)
    assert info.value.path == "input[0].namespace"
    with pytest.warns(DroppedParameterWarning, match=r"input\[0\]\.namespace"):
        messages = input_to_messages(items, lenient=True)
    assert messages[0]["tool_calls"][0]["function"]["name"] == "run"


def test_without_a_profile_orphan_reasoning_does_not_leak_into_a_later_turn() -> None:
    items = [
        text("user", "q"),
        {"type": "reasoning", "id": "rs", "summary": [{"type": "summary_text", "text": "old"}]},
        text("user", "again"),
        text("assistant", "a"),
    ]
    with pytest.warns(DroppedParameterWarning, match=r"input\[1\]"):
        messages = input_to_messages(items, lenient=True)
    assert messages[-1] == {"role": "assistant", "content": "a"}


def test_both_directions_collect_drops_instead_of_warning() -> None:
    dropped: list[Dropped] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        input_to_messages([{"type": "item_reference", "id": "x"}], lenient=True, dropped=dropped)
        messages_to_input([{"role": "user", "content": "hi", "name": "bob"}], lenient=True, dropped=dropped)
    assert [str(d) for d in dropped] == [
        "input[0].type: 'item_reference' items have no Chat equivalent",
        "messages[0].name: 'name' has no equivalent in the target API",
    ]


# --------------------------------------------------------------------------- property: any Codex history

_tool_name = st.sampled_from(["exec_command", "apply_patch", "spawn_agent", "a__b", "x" * 70, "crm.search"])
_namespace = st.sampled_from([None, None, "a", "multi_agent_v1", "mcp__" + "y" * 60])
_call = st.tuples(
    st.sampled_from(["function", "custom", "tool_search"]), _tool_name, _namespace, st.text(max_size=8)
)
_step = st.one_of(
    st.tuples(
        st.just("message"), st.sampled_from(["user", "developer", "system", "assistant"]), st.text(max_size=5)
    ),
    st.tuples(st.just("reasoning"), st.sampled_from(["summary", "content"]), st.text(min_size=1, max_size=5)),
    st.tuples(st.just("calls"), st.lists(_call, min_size=1, max_size=3)),
)


@st.composite
def _profiles(draw: Any) -> UpstreamProfile:
    field = draw(st.sampled_from(["reasoning_content", "reasoning", None]))
    return UpstreamProfile(
        developer_role=draw(st.booleans()),
        leading_system_only=draw(st.booleans()),
        reasoning_field=field,
        reasoning_required=field is not None and draw(st.booleans()),
        string_content=draw(st.booleans()),
    )


def _items(steps: list[Any]) -> tuple[list[dict[str, Any]], list[tuple[str, ToolIdentity, str]]]:
    """Responses items for ``steps``, and each call's (call_id, identity, input or arguments)."""
    items: list[dict[str, Any]] = []
    calls: list[tuple[str, ToolIdentity, str]] = []
    for step in steps:
        if step[0] == "message":
            items.append(text(step[1], step[2]))
        elif step[0] == "reasoning":
            items.append(
                {
                    "type": "reasoning",
                    "id": "rs",
                    "summary": [],
                    step[1]: [
                        {
                            "type": "summary_text" if step[1] == "summary" else "reasoning_text",
                            "text": step[2],
                        }
                    ],
                }
            )
        else:
            outputs = []
            for kind, name, namespace, payload in step[1]:
                call_id = f"call_{len(calls)}"
                ns = {"namespace": namespace} if namespace else {}
                if kind == "custom":
                    items.append(
                        {"type": "custom_tool_call", "call_id": call_id, "name": name, "input": payload, **ns}
                    )
                    outputs.append({"type": "custom_tool_call_output", "call_id": call_id, "output": payload})
                    calls.append((call_id, ToolIdentity("custom", name, namespace), payload))
                elif kind == "function":
                    arguments = json.dumps({"p": payload})
                    items.append(
                        {
                            "type": "function_call",
                            "call_id": call_id,
                            "name": name,
                            "arguments": arguments,
                            **ns,
                        }
                    )
                    outputs.append({"type": "function_call_output", "call_id": call_id, "output": payload})
                    calls.append((call_id, ToolIdentity("function", name, namespace), arguments))
                else:
                    arguments = json.dumps({"query": payload})
                    items.append(
                        {
                            "type": "tool_search_call",
                            "call_id": call_id,
                            "execution": "client",
                            "arguments": {"query": payload},
                        }
                    )
                    outputs.append(
                        {"type": "tool_search_output", "call_id": call_id, "execution": "client", "tools": []}
                    )
                    calls.append((call_id, ToolIdentity("tool_search"), arguments))
            items += outputs
    return items, calls


@given(st.lists(_step, max_size=12), _profiles())
def test_any_codex_history_gives_messages_a_strict_upstream_accepts(
    steps: list[Any], profile: UpstreamProfile
) -> None:
    items, calls = _items(steps)
    names = ToolNames()
    messages, dropped = upstream(items, profile, tool_names=names)
    seen: dict[str, dict[str, Any]] = {}
    answered: list[str] = []
    for i, message in enumerate(messages):
        if profile.leading_system_only and i > 0:
            assert message["role"] not in ("system", "developer")
        if not profile.developer_role:
            assert message["role"] != "developer"
        if message["role"] == "assistant":
            for call in message.get("tool_calls", []):
                seen[call["id"]] = call["function"]
            if profile.reasoning_required and profile.reasoning_field:
                assert isinstance(message[profile.reasoning_field], str)
        if message["role"] == "tool":
            assert message["tool_call_id"] in seen
            answered.append(message["tool_call_id"])
    assert answered == [call_id for call_id, _, _ in calls]
    for call_id, identity, payload in calls:
        function = seen[call_id]
        assert NAME_PATTERN.match(function["name"])
        assert names.chat_name(identity) == function["name"]
        arguments = json.loads(function["arguments"])
        assert arguments == ({"input": payload} if identity.kind == "custom" else json.loads(payload))
    assert all(path.startswith("input[") for path in dropped)
