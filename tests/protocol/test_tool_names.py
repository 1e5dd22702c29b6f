"""Chat function names for Responses tool identities: valid, unique, stable, and mapped back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from translator.protocol.tool_names import (
    MAX_NAME_LENGTH,
    NAME_PATTERN,
    ToolIdentity,
    ToolNames,
    loaded_identities,
)


def named(*identities: ToolIdentity) -> ToolNames:
    names = ToolNames()
    names.assign(identities)
    return names


def test_plain_functions_keep_their_names_and_need_no_entry() -> None:
    names = named(ToolIdentity("function", "exec_command"), ToolIdentity("function", "view-image"))
    assert names.chat_name(ToolIdentity("function", "exec_command")) == "exec_command"
    assert names.chat_name(ToolIdentity("function", "view-image")) == "view-image"
    assert names.tool_map() == {}


def test_namespaced_custom_and_tool_search_get_entries() -> None:
    spawn = ToolIdentity("function", "spawn_agent", "multi_agent_v1")
    patch = ToolIdentity("custom", "apply_patch")
    search = ToolIdentity("tool_search")
    names = named(spawn, patch, search)
    assert names.chat_name(spawn) == "multi_agent_v1__spawn_agent"
    assert names.tool_map() == {
        "multi_agent_v1__spawn_agent": {
            "type": "function",
            "name": "spawn_agent",
            "namespace": "multi_agent_v1",
        },
        "apply_patch": {"type": "custom", "name": "apply_patch"},
        "tool_search": {"type": "tool_search"},
    }
    assert names.identity("apply_patch") == patch


def test_plain_function_keeps_its_name_even_when_a_namespace_flattens_to_it_first() -> None:
    """Two passes: the namespaced tool listed first must not take the plain function's name."""
    flattened = ToolIdentity("function", "b", "a")
    plain = ToolIdentity("function", "a__b")
    names = named(flattened, plain)
    assert names.chat_name(plain) == "a__b"
    other = names.chat_name(flattened)
    assert other != "a__b" and other.startswith("a__b_") and NAME_PATTERN.match(other)
    assert names.tool_map() == {other: {"type": "function", "name": "b", "namespace": "a"}}


def test_custom_tool_and_function_of_the_same_name_do_not_collide() -> None:
    function, custom = ToolIdentity("function", "run"), ToolIdentity("custom", "run")
    names = named(function, custom)
    assert names.chat_name(function) == "run"
    assert names.chat_name(custom) != "run"
    assert names.tool_map()[names.chat_name(custom)] == {"type": "custom", "name": "run"}


def test_a_second_tool_search_name_clash_is_resolved() -> None:
    plain = ToolIdentity("function", "tool_search")
    names = named(ToolIdentity("tool_search"), plain)
    assert names.chat_name(plain) == "tool_search"
    hashed = names.chat_name(ToolIdentity("tool_search"))
    assert hashed.startswith("tool_search_") and names.tool_map()[hashed] == {"type": "tool_search"}


def test_long_names_are_shortened_with_a_stable_hash() -> None:
    long_ns = "mcp_server_" + "x" * 60
    first = ToolIdentity("function", "search_documents", long_ns)
    second = ToolIdentity("function", "search_documents_v2", long_ns)
    names = named(first, second)
    a, b = names.chat_name(first), names.chat_name(second)
    assert a != b
    assert len(a) == len(b) == MAX_NAME_LENGTH
    assert NAME_PATTERN.match(a) and NAME_PATTERN.match(b)
    # the same identity gets the same name in another request, whatever else it declares
    assert named(second, ToolIdentity("function", "other"), first).chat_name(first) == a


def test_invalid_characters_are_replaced_and_hashed() -> None:
    dotted = ToolIdentity("function", "crm.search")
    underscored = ToolIdentity("function", "crm_search")
    names = named(dotted, underscored)
    assert names.chat_name(underscored) == "crm_search"
    name = names.chat_name(dotted)
    assert name.startswith("crm_search_") and NAME_PATTERN.match(name)
    assert names.tool_map() == {name: {"type": "function", "name": "crm.search"}}
    assert NAME_PATTERN.match(named(ToolIdentity("function", "")).chat_name(ToolIdentity("function", "")))


def test_history_identities_are_named_on_demand_after_the_declared_ones() -> None:
    names = named(ToolIdentity("function", "x"))
    late = ToolIdentity("function", "x", "ns")
    assert names.chat_name(late) == "ns__x"
    assert names.chat_name(late) == "ns__x"  # one name per identity


def test_loaded_identities_reads_functions_custom_namespaces_and_client_search() -> None:
    tools = [
        {"type": "function", "name": "f", "parameters": None, "strict": None},
        {"type": "custom", "name": "c"},
        {
            "type": "namespace",
            "name": "crm",
            "description": "CRM",
            "tools": [{"type": "function", "name": "get"}, {"type": "web_search"}, "junk"],
        },
        {"type": "tool_search", "execution": "client"},
        {"type": "tool_search", "execution": "server"},
        {"type": "web_search"},
        "junk",
    ]
    assert loaded_identities(tools) == [
        ToolIdentity("function", "f"),
        ToolIdentity("custom", "c"),
        ToolIdentity("function", "get", "crm"),
        ToolIdentity("tool_search"),
    ]
    assert loaded_identities(None) == []


_names = st.text(min_size=0, max_size=80)
_identities = st.lists(
    st.builds(
        ToolIdentity,
        kind=st.sampled_from(["function", "custom", "tool_search"]),
        name=st.one_of(_names, st.sampled_from(["a", "a__b", "tool_search", "b"])),
        namespace=st.one_of(st.none(), _names, st.sampled_from(["a", "a__b"])),
    ),
    max_size=25,
)


@given(_identities)
def test_any_identities_get_valid_unique_stable_names_that_map_back(identities: list[ToolIdentity]) -> None:
    names = named(*identities)
    chat = {identity: names.chat_name(identity) for identity in identities}
    assert all(NAME_PATTERN.match(name) for name in chat.values())
    assert len(set(chat.values())) == len(chat)
    tool_map = names.tool_map()
    for identity, name in chat.items():
        if name in tool_map:
            assert tool_map[name] == identity.entry()
        else:  # no entry: a plain function that kept its own name
            assert identity.kind == "function" and identity.namespace is None and identity.name == name
    again = named(*identities)
    assert {identity: again.chat_name(identity) for identity in identities} == chat
