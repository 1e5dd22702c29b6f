"""Tool parameter schemas that strict Chat upstreams accept.

OpenAI accepts any JSON Schema object as a function's ``parameters``; many OpenAI-compatible servers
do not.  Three modes (``UpstreamProfile.tool_schema``):

``"as_is"``
    The schema is sent unchanged (OpenAI itself).
``"standard"`` (default)
    Repairs that change nothing a model could rely on, for the shapes that local servers reject:

    * missing, null or empty ``parameters`` -> ``{"type": "object", "properties": {}}``: llama.cpp
      rejects a tool without ``parameters`` (ggml-org/llama.cpp#17667), Ollama re-serialises ``{}``
      as ``{"type": "", "properties": null}`` and its template parser answers 400
      (ollama/ollama-vscode#67), LM Studio rejects ``{}``;
    * a top-level schema without ``type`` gets ``"type": "object"`` (Chat functions take an object);
    * ``"type": null`` is removed (it is not JSON Schema; it means "any type" at best);
    * an object schema without ``properties`` (or with ``properties: null``) gets ``properties: {}``;
    * a null ``required`` is removed.
``"strict"``
    ``"standard"`` plus the removal of keywords that validators of a JSON Schema *subset* reject
    with 400 (Gemini's OpenAI endpoint and proxies built like it: "Unknown name
    \\"additionalProperties\\" ... Cannot find field", zuisong/gemini-openai-proxy#67,
    BerriAI/litellm#6136): :data:`STRICT_REMOVED_KEYWORDS`, and ``type`` lists such as
    ``["string", "null"]`` reduced to their one non-null type.  These removals lose constraints, so
    they are reported.

The input is never modified: every function returns a new schema.
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = ["STRICT_REMOVED_KEYWORDS", "SchemaMode", "normalize_schema"]

SchemaMode = Literal["as_is", "standard", "strict"]

#: Keywords removed in ``"strict"`` mode (outside the OpenAPI-style subset strict validators accept).
STRICT_REMOVED_KEYWORDS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "additionalProperties",
        "unevaluatedProperties",
        "patternProperties",
        "propertyNames",
        "examples",
    }
)

#: Keywords whose value is one subschema.
_SCHEMA_VALUED = ("items", "not", "if", "then", "else", "contains", "additionalProperties")
#: Keywords whose value is a list of subschemas.
_LIST_VALUED = ("anyOf", "oneOf", "allOf", "prefixItems", "items")
#: Keywords whose value maps names to subschemas.
_MAP_VALUED = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")

_EMPTY_OBJECT: dict[str, Any] = {"type": "object", "properties": {}}


def normalize_schema(schema: Any, mode: SchemaMode) -> tuple[dict[str, Any] | Any, list[str]]:
    """A function's ``parameters`` as ``mode`` wants them, and the keywords that were removed.

    Args:
        schema: the ``parameters`` value of a tool (any JSON value; ``None`` when absent).
        mode: ``"as_is"``, ``"standard"`` or ``"strict"`` (see the module docstring).

    Returns:
        ``(schema, removed)``: the schema to send and the sorted, distinct names of the keywords that
        were removed because they lose a constraint (``"strict"`` mode only; the repairs of
        ``"standard"`` lose nothing and are not listed).
    """
    if mode == "as_is":
        return schema, []
    if not isinstance(schema, dict) or not schema:
        return {**_EMPTY_OBJECT, "properties": {}}, []
    removed: set[str] = set()
    out = _node(schema, mode == "strict", removed)
    if "type" not in out:
        out = {"type": "object", **out}
        if not isinstance(out.get("properties"), dict):
            out["properties"] = {}
    return out, sorted(removed)


def _node(schema: dict[str, Any], strict: bool, removed: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if strict and key in STRICT_REMOVED_KEYWORDS:
            removed.add(key)
            continue
        if key == "type":
            value = _type(value, strict, removed)
            if value is None:
                continue
        elif value is None and (key == "required" or key in _MAP_VALUED):
            continue
        else:
            value = _children(key, value, strict, removed)
        out[key] = value
    if _is_object(out.get("type")) and not isinstance(out.get("properties"), dict):
        out["properties"] = {}
    return out


def _type(value: Any, strict: bool, removed: set[str]) -> Any:
    if strict and isinstance(value, list):
        kinds = [kind for kind in value if kind != "null"]
        if len(kinds) == 1:
            if len(value) > 1:
                removed.add("type (null alternative)")
            return kinds[0]
    return value


def _children(key: str, value: Any, strict: bool, removed: set[str]) -> Any:
    if key in _MAP_VALUED and isinstance(value, dict):
        return {name: _sub(sub, strict, removed) for name, sub in value.items()}
    if key in _LIST_VALUED and isinstance(value, list):
        return [_sub(sub, strict, removed) for sub in value]
    if key in _SCHEMA_VALUED:
        return _sub(value, strict, removed)
    return value


def _sub(value: Any, strict: bool, removed: set[str]) -> Any:
    return _node(value, strict, removed) if isinstance(value, dict) else value


def _is_object(kind: Any) -> bool:
    return kind == "object" or (isinstance(kind, list) and "object" in kind)
