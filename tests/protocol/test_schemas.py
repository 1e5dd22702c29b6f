"""Tool parameter schemas normalised for strict Chat upstreams."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from translator.protocol.schemas import STRICT_REMOVED_KEYWORDS, normalize_schema

EMPTY = {"type": "object", "properties": {}}


@pytest.mark.parametrize("schema", [None, {}, [], "object"])
def test_missing_or_empty_parameters_become_an_empty_object(schema: Any) -> None:
    assert normalize_schema(schema, "standard") == (EMPTY, [])
    assert normalize_schema(schema, "strict") == (EMPTY, [])


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        # Ollama/llama.cpp reject a null type; it is not JSON Schema
        ({"type": None, "properties": {"a": {"type": None}}}, {"type": "object", "properties": {"a": {}}}),
        # an object without properties (a map, or a lazy schema) gets an empty properties object
        ({"type": "object"}, EMPTY),
        ({"properties": None}, EMPTY),
        (
            {
                "type": "object",
                "properties": {"m": {"type": "object", "additionalProperties": {"type": "string"}}},
            },
            {
                "type": "object",
                "properties": {
                    "m": {"type": "object", "additionalProperties": {"type": "string"}, "properties": {}}
                },
            },
        ),
        ({"type": "object", "properties": {}, "required": None}, EMPTY),
        # a top-level schema without type is an object (Chat functions take objects)
        (
            {"properties": {"q": {"type": "string"}}},
            {"type": "object", "properties": {"q": {"type": "string"}}},
        ),
        # nested schemas in items, anyOf, $defs are repaired too
        (
            {
                "type": "object",
                "properties": {"l": {"type": "array", "items": {"type": "object"}}},
                "$defs": {"d": {"type": "object", "properties": None}},
                "anyOf": [{"type": None}],
            },
            {
                "type": "object",
                "properties": {"l": {"type": "array", "items": EMPTY}},
                "$defs": {"d": EMPTY},
                "anyOf": [{}],
            },
        ),
    ],
)
def test_standard_repairs_lose_nothing(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    before = copy.deepcopy(schema)
    assert normalize_schema(schema, "standard") == (expected, [])
    assert schema == before  # the input is never modified


def test_standard_keeps_every_constraint() -> None:
    codex = {
        "type": "object",
        "properties": {"cmd": {"type": "string", "description": "Shell command to execute."}},
        "required": ["cmd"],
        "additionalProperties": False,
        "$schema": "http://json-schema.org/draft-07/schema#",
    }
    assert normalize_schema(codex, "standard") == (codex, [])
    assert normalize_schema(codex, "as_is") == (codex, [])


def test_as_is_sends_even_a_missing_schema_unchanged() -> None:
    assert normalize_schema(None, "as_is") == (None, [])
    odd = {"type": None}
    assert normalize_schema(odd, "as_is") == (odd, [])


def test_strict_removes_what_subset_validators_reject_and_says_what() -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {
            # property *names* that look like keywords are kept
            "additionalProperties": {"type": ["string", "null"], "examples": ["x"]},
            "items": {
                "type": "array",
                "items": {"type": "object", "properties": {}, "additionalProperties": False},
            },
            "either": {"anyOf": [{"type": "string"}, {"type": "object", "patternProperties": {"^x": {}}}]},
            "union": {"type": ["string", "integer"]},
        },
        "additionalProperties": False,
    }
    out, removed = normalize_schema(schema, "strict")
    assert out == {
        "type": "object",
        "properties": {
            "additionalProperties": {"type": "string"},
            "items": {"type": "array", "items": EMPTY},
            "either": {"anyOf": [{"type": "string"}, EMPTY]},
            "union": {"type": ["string", "integer"]},
        },
    }
    assert removed == [
        "$schema",
        "additionalProperties",
        "examples",
        "patternProperties",
        "type (null alternative)",
    ]


_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5))
_keywords = st.sampled_from(
    [
        *("type", "properties", "items", "anyOf", "required", "$defs", "description", "enum", "not", "x"),
        *sorted(STRICT_REMOVED_KEYWORDS),
    ]
)
_types = st.one_of(
    st.none(),
    st.sampled_from(["object", "string", "array", "null"]),
    st.lists(st.sampled_from(["object", "string", "null"]), max_size=3),
)
_schemas = st.recursive(
    st.one_of(_json_leaf, st.fixed_dictionaries({}, optional={"type": _types})),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(_keywords, inner, max_size=4),
        st.fixed_dictionaries(
            {"type": _types}, optional={"properties": st.dictionaries(st.text(max_size=4), inner, max_size=3)}
        ),
    ),
    max_leaves=20,
)


def _object_nodes(node: Any) -> list[dict[str, Any]]:
    """Every schema node reachable through properties/items/anyOf."""
    if not isinstance(node, dict):
        return []
    found = [node]
    for sub in (node.get("properties") or {}).values() if isinstance(node.get("properties"), dict) else ():
        found += _object_nodes(sub)
    for key in ("items", "not"):
        found += _object_nodes(node.get(key))
    for sub in node.get("anyOf") if isinstance(node.get("anyOf"), list) else ():
        found += _object_nodes(sub)
    return found


@given(_schemas, st.sampled_from(["standard", "strict"]))
def test_normalising_is_idempotent_pure_and_gives_objects_their_properties(schema: Any, mode: Any) -> None:
    before = copy.deepcopy(schema)
    out, _ = normalize_schema(schema, mode)
    assert schema == before
    assert isinstance(out, dict) and "type" in out
    assert normalize_schema(out, mode) == (out, [])
    for node in _object_nodes(out):
        assert node.get("type", "x") is not None
        if node.get("type") == "object":
            assert isinstance(node.get("properties"), dict)
        if mode == "strict":
            assert not set(node) & STRICT_REMOVED_KEYWORDS
