"""A client's JSON: of a bounded number of values, parsed, a JSON object, nested no deeper than
:data:`MAX_DEPTH`.

Every JSON a client sends the gateway (a request body, a Conversations body, a WebSocket message) is read
here, once.

* **Values, before parsing.**  Parsing makes a Python object of every JSON value: a 30 MiB body of ten
  million ``{}`` took 1.5 GB and seconds of CPU only to be refused for its item count afterwards.  So the
  values are counted on the bytes first (:func:`count_values`: commas and brackets outside strings, an
  upper bound) and a body of more than ``max_values`` is refused with a 413 before any parsing.  Text in
  strings costs nothing there, however many commas it has.
* **Depth, after.**  orjson refuses nesting deeper than 1,024 levels itself, but the gateway's own work on
  a body (converting it, serializing it for the upstream and the store: orjson writes no deeper than 254
  levels, some conversions recurse) handles less; so anything deeper than :data:`MAX_DEPTH` is refused
  with a 400 naming where, before any of that work starts.  The depth is measured without recursion.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from .errors import GatewayError
from .offload import off_loop

__all__ = ["MAX_DEPTH", "MAX_VALUES", "count_values", "parse_object", "parse_object_off_loop", "too_deep"]

#: The deepest nesting of objects and arrays the gateway accepts in a client's JSON (a JSON schema of a
#: tool's parameters nests a few levels per property level; nothing real comes near this).
MAX_DEPTH = 128
#: How many steps of a too-deep path the error names before eliding the rest.
_NAMED_STEPS = 6
#: The most JSON values a client's JSON may hold by default (``[server] max_json_values``): 20,000 input
#: items of a few parts each, or 20,000 tools with their schemas, are a few hundred thousand.
MAX_VALUES = 2_000_000
#: A JSON string, whole (its escapes included).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
#: The bytes :func:`count_values` strips of strings at a time: each step holds the GIL for milliseconds.
_WINDOW = 1 << 20


def parse_object(
    raw: bytes | str,
    *,
    what: str = "request body",
    code: str | None = None,
    empty: bool = False,
    max_values: int = MAX_VALUES,
) -> dict[str, Any]:
    """``raw`` as a JSON object, or a 400 (``code``) naming what is wrong with it; a 413 when it holds
    more than ``max_values`` values, before it is parsed.

    ``empty``: an empty (or blank) ``raw`` stands for ``{}``.
    """
    if empty and not raw.strip():
        return {}
    if len(raw) > max_values:  # (fewer bytes cannot hold more values)
        values = count_values(raw.encode("utf-8", "replace") if isinstance(raw, str) else raw, max_values)
        if values > max_values:
            raise GatewayError(
                413,
                f"{what} holds more than {max_values:,} JSON values (numbers, strings, objects, arrays...),"
                " the gateway's limit (max_json_values): send fewer items",
                type="invalid_request_error",
                code="request_too_large",
            )
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


async def parse_object_off_loop(
    raw: bytes | str,
    *,
    max_values: int,
    what: str = "request body",
    code: str | None = None,
    empty: bool = False,
) -> dict[str, Any]:
    """:func:`parse_object`, in a worker thread when ``raw`` is large (a megabyte of JSON is milliseconds
    of parsing and counting: see :mod:`.offload`)."""
    return await off_loop(
        len(raw) // 1024, parse_object, raw, what=what, code=code, empty=empty, max_values=max_values
    )


def count_values(raw: bytes, stop_above: int | None = None, *, window: int = _WINDOW) -> int:
    """An upper bound of the JSON values in ``raw``, read as bytes: one, plus the commas and opening
    brackets outside strings (exact but for empty arrays and objects).

    Strings are stripped ``window`` bytes at a time, so the GIL is released between windows; a string cut
    by a window's end is skipped whole.  Counting stops once past ``stop_above``.  Not a validator: invalid
    JSON is counted as if it were valid, and orjson says what is wrong with it afterwards.
    """
    if stop_above is not None:
        cheap = raw.count(b",") + raw.count(b"[") + raw.count(b"{") + 1
        if cheap <= stop_above:
            return cheap  # however many are inside strings, no more than this
    total, pos, end = 1, 0, len(raw)
    while pos < end:
        window_end = min(pos + window, end)
        stripped = _STRING.sub(b"0", raw[pos:window_end])
        cut = stripped.find(b'"')  # the start of a string the window's end cut, if any
        kept = stripped if cut < 0 else stripped[:cut]
        total += kept.count(b",") + kept.count(b"[") + kept.count(b"{")
        if stop_above is not None and total > stop_above:
            return total
        if cut < 0:
            pos = window_end
            continue
        # the cut string's tail is in ``stripped`` as it was in ``raw`` (no whole string fits in it)
        start = window_end - (len(stripped) - cut)
        string = _STRING.match(raw, start)
        if string is None:  # never closed: count the rest as it is
            rest = raw[start:]
            return total + rest.count(b",") + rest.count(b"[") + rest.count(b"{")
        pos = string.end()
    return total


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
