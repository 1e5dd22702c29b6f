"""A client's JSON: parsed, a JSON object, and nested no deeper than :data:`MAX_DEPTH`.

Every JSON a client sends the gateway (a request body, a Conversations body, a WebSocket message) is read
here, once.  orjson refuses nesting deeper than 1,024 levels itself, but the gateway's own work on a body
(converting it, serializing it for the upstream and the store: orjson writes no deeper than 254 levels,
some conversions recurse) handles less; so anything deeper than :data:`MAX_DEPTH` is refused with a 400
naming where, before any of that work starts.  The depth is measured without recursion.
"""

from __future__ import annotations

from typing import Any

import orjson

from .errors import GatewayError

__all__ = ["MAX_DEPTH", "parse_object", "too_deep"]

#: The deepest nesting of objects and arrays the gateway accepts in a client's JSON (a JSON schema of a
#: tool's parameters nests a few levels per property level; nothing real comes near this).
MAX_DEPTH = 128
#: How many steps of a too-deep path the error names before eliding the rest.
_NAMED_STEPS = 6


def parse_object(
    raw: bytes | str, *, what: str = "request body", code: str | None = None, empty: bool = False
) -> dict[str, Any]:
    """``raw`` as a JSON object, or a 400 (``code``) naming what is wrong with it.

    ``empty``: an empty (or blank) ``raw`` stands for ``{}``.
    """
    if empty and not raw.strip():
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise GatewayError.bad_request(f"{what} is not valid JSON: {exc}", code=code) from None
    if not isinstance(value, dict):
        raise GatewayError.bad_request(f"{what} must be a JSON object, got {type(value).__name__}", code=code)
    path = too_deep(value)
    if path is not None:
        raise GatewayError.bad_request(
            f"{what} nests objects and arrays deeper than the gateway's limit of {MAX_DEPTH} levels,"
            f" at {_describe(path)}",
            param=str(path[0]),
            code=code,
        )
    return value


def too_deep(value: Any, limit: int = MAX_DEPTH) -> list[str | int] | None:
    """The path (keys and indexes from ``value``) of the first object or array nested deeper than
    ``limit`` levels in ``value`` (which is level 1), or ``None``."""
    if not _deeper_than(value, limit):
        return None
    return _path_deeper_than(value, limit)


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests deeper than ``limit``: the per-request check, so it keeps no paths (a
    third of the time orjson takes to parse the same body)."""
    if type(value) is not dict and type(value) is not list:
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        node, depth = pop()
        if depth > limit:
            return True
        below = depth + 1
        for child in node.values() if type(node) is dict else node:
            kind = type(child)
            if kind is dict or kind is list:
                push((child, below))
    return False


def _path_deeper_than(value: Any, limit: int) -> list[str | int] | None:
    """The path to the first container deeper than ``limit`` (depth first, keeping paths: only for
    a body already known to be too deep)."""
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, 1, ())]
    while stack:
        node, depth, path = stack.pop()
        if depth > limit:
            return list(path)
        steps = node.items() if isinstance(node, dict) else enumerate(node)
        for step, child in steps:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1, (*path, step)))
    return None


def _describe(path: list[str | int]) -> str:
    """``tools[0].parameters.properties...`` (the first steps of ``path``, and how many more)."""
    text = ""
    for step in path[:_NAMED_STEPS]:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    more = len(path) - _NAMED_STEPS
    return f"{text} (and {more} levels below)" if more > 0 else text
