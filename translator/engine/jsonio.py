"""JSON in and out for every stream: orjson on the hot path, the standard library for what orjson refuses.

``load_json`` accepts lone UTF-16 surrogate escapes (an upstream that splits an emoji between two
deltas); ``dump_json`` always writes valid UTF-8 (surrogates repaired, non-finite floats as ``null``,
integers beyond 64 bits written by the standard library).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

from ..errors import EncodeError

__all__ = ["dump_json", "load_json"]


def load_json(data: bytes | str) -> Any:
    """Parse one JSON value: orjson, or the standard library for lone surrogate escapes.

    orjson rejects ``"\\ud83d"`` without its low half, which an upstream that cuts text by UTF-16
    units sends when an emoji is split between two deltas; the standard library keeps it as a lone
    surrogate (``dump_json`` writes it back as valid UTF-8).  ``NaN``/``Infinity`` stay rejected.
    Raises ``ValueError`` (orjson's ``JSONDecodeError`` is one) for anything else that is not JSON.
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        if b"\\u" not in (data.encode() if isinstance(data, str) else data):
            raise
    return json.loads(data, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def dump_json(value: Any, *, indent: bool = False) -> bytes:
    """``value`` as compact (or two-space indented) JSON, always valid UTF-8.

    The hot path is one ``orjson.dumps``.  Only when that fails: strings holding UTF-16 surrogates
    (a pair split across two deltas and joined again is rejoined into its character; a lone half
    becomes U+FFFD, as a UTF-8 decoder would show it) are repaired, non-finite floats become
    ``null`` (as orjson writes them) and integers beyond 64 bits are written by the standard library.
    A non-string object key or a value JSON has no form for raises :class:`EncodeError` naming it.
    """
    option = orjson.OPT_INDENT_2 if indent else 0
    try:
        return orjson.dumps(value, option=option)
    except TypeError:
        pass
    wide: list[bool] = []
    clean = _json_safe(value, "$", wide)
    if not wide:
        try:
            return orjson.dumps(clean, option=option)
        except TypeError as exc:
            raise EncodeError(str(exc)) from None
    try:
        text = json.dumps(
            clean,
            ensure_ascii=False,
            allow_nan=False,
            indent=2 if indent else None,
            separators=(",", ": ") if indent else (",", ":"),
        )
    except (TypeError, ValueError) as exc:
        raise EncodeError(str(exc)) from None
    return text.encode()


_SURROGATE = re.compile("[\ud800-\udfff]")
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1  # what orjson writes


def _json_safe(value: Any, path: str, wide: list[bool]) -> Any:
    """A copy of ``value`` that JSON can hold (see :func:`dump_json`); ``wide`` notes a big integer."""
    cls = value.__class__
    if cls is str:
        if _SURROGATE.search(value) is None:
            return value
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if cls is dict or isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise EncodeError(f"object key {key!r} is not a string", path=path)
            out[_json_safe(key, path, wide)] = _json_safe(item, f"{path}.{key}", wide)
        return out
    if isinstance(value, (list, tuple)):
        return [_json_safe(item, f"{path}[{i}]", wide) for i, item in enumerate(value)]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int) and not isinstance(value, bool) and not _INT_MIN <= value <= _INT_MAX:
        wide.append(True)
    elif isinstance(value, str):
        return _json_safe(str(value), path, wide)
    return value  # None, bool, int, and whatever orjson itself writes (or names in its error)
