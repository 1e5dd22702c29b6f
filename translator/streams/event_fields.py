"""Typed readers of the fields of a Responses event or item (:class:`~.responses_to_chat.ResponsesToChat`).

Each returns the field when it has the expected type and raises :class:`InvalidChunkError` naming the
event number (``index``) or the item's path (``where``) and the field otherwise; absent optional fields
read as their empty value.
"""

from __future__ import annotations

import math
from typing import Any, TypeGuard

from ..errors import InvalidChunkError

__all__ = ["TYPE_NAMES", "field_int", "field_list", "field_str", "finite", "optional_str"]

#: How an error names an expected type.
TYPE_NAMES = {str: "a string", int: "an integer"}


def field_str(event: dict[str, Any], name: str, index: int) -> str:
    """``event[name]`` as a string, or :class:`InvalidChunkError` naming event ``index``."""
    value = event.get(name)
    if not isinstance(value, str):
        reason = f"{name} must be a string, got {type(value).__name__}"
        raise InvalidChunkError(reason, index=index, field=name)
    return value


def field_list(item: dict[str, Any], name: str, where: str) -> list[Any]:
    """``item[name]`` as a list (absent or null: empty), or :class:`InvalidChunkError`."""
    value = item.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidChunkError(f"{name} must be a list, got {type(value).__name__}", field=f"{where}.{name}")
    return value


def optional_str(item: dict[str, Any], name: str, where: str) -> str | None:
    """``item[name]`` when it is a string, ``None`` when absent or null, else :class:`InvalidChunkError`."""
    value = item.get(name)
    if value is None or isinstance(value, str):
        return value
    raise InvalidChunkError(f"{name} must be a string, got {type(value).__name__}", field=f"{where}.{name}")


def finite(value: Any) -> TypeGuard[float]:
    """A number ``int()`` can take (``created_at``): not a bool, NaN or infinity."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value)


def field_int(event: dict[str, Any], name: str, index: int) -> int:
    """``event[name]`` as an integer (absent: 0), or :class:`InvalidChunkError` naming event ``index``."""
    value = event.get(name, 0)
    if not isinstance(value, int) or isinstance(value, bool):
        reason = f"{name} must be an integer, got {type(value).__name__}"
        raise InvalidChunkError(reason, index=index, field=name)
    return value
