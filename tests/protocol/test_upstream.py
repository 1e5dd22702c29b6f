"""The upstream capability profile: defaults, presets, and building one from a config table."""

from __future__ import annotations

from typing import Any

import pytest

from translator.errors import ProfileError
from translator.protocol.capabilities import PRESETS, UpstreamProfile


def test_defaults_suit_local_servers() -> None:
    profile = UpstreamProfile()
    assert profile == PRESETS["generic"]
    assert profile.developer_role is False
    assert profile.leading_system_only is True
    assert profile.reasoning_field == "reasoning_content"
    assert profile.hosted_tools == frozenset()
    assert profile.tool_schema == "standard"
    assert profile.accepts("prompt_cache_key")


def test_from_mapping_applies_a_preset_then_overrides_and_converts_lists() -> None:
    profile = UpstreamProfile.from_mapping(
        {"preset": "deepseek", "hosted_tools": ["web_search"], "tool_schema": "strict"}
    )
    assert profile.reasoning_required is True  # from the preset
    assert profile.max_tokens_field == "max_tokens"
    assert profile.hosted_tools == frozenset({"web_search"})
    assert profile.tool_schema == "strict"
    assert UpstreamProfile.from_mapping({"reasoning_field": "none"}).reasoning_field is None
    assert UpstreamProfile.from_mapping({}) == UpstreamProfile()


def test_chat_params_restricts_what_is_accepted_but_never_model_or_messages() -> None:
    profile = UpstreamProfile.from_mapping({"chat_params": ["tools"]})
    assert profile.accepts("tools") and profile.accepts("model") and profile.accepts("messages")
    assert not profile.accepts("store")
    assert not PRESETS["mistral"].accepts("max_completion_tokens")
    ollama = UpstreamProfile.from_mapping({"rejected_params": ["reasoning_effort", "messages"]})
    assert not ollama.accepts("reasoning_effort") and ollama.accepts("messages") and ollama.accepts("tools")


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"preset": "nope"}, "preset"),
        ({"developer_roles": True}, "developer_roles"),
        ({"developer_role": "yes"}, "developer_role"),
        ({"reasoning_field": "thinking"}, "reasoning_field"),
        ({"tool_schema": "loose"}, "tool_schema"),
        ({"max_tokens_field": "max_output_tokens"}, "max_tokens_field"),
        ({"hosted_tools": "web_search"}, "hosted_tools"),
        ({"chat_params": [1, 2]}, "chat_params"),
        ({"rejected_params": "store"}, "rejected_params"),
        ({"reasoning_field": "none", "reasoning_required": True}, "reasoning_required"),
    ],
)
def test_a_bad_table_names_the_key(table: dict[str, Any], key: str) -> None:
    with pytest.raises(ProfileError) as info:
        UpstreamProfile.from_mapping(table)
    assert info.value.key == key
    assert str(info.value).startswith(f"{key}: ")
    assert isinstance(info.value, ValueError)
