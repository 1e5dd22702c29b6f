"""List pages, as the API answers them (``input_items``, conversation items): the ``limit`` and ``order``
rules and the list object, in one place for every store."""

from __future__ import annotations

from typing import Any, Literal

from .errors import InvalidListParameterError

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "MIN_LIMIT", "Order", "check_list_parameters", "list_page"]

#: Bounds of a list's ``limit`` (API: 1 to 100, default 20).
MIN_LIMIT, MAX_LIMIT, DEFAULT_LIMIT = 1, 100, 20

Order = Literal["asc", "desc"]


def check_list_parameters(limit: int, order: str) -> None:
    """:class:`InvalidListParameterError` naming ``limit`` or ``order`` when one is out of the API's range."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not MIN_LIMIT <= limit <= MAX_LIMIT:
        raise InvalidListParameterError(
            "limit", f"expected an integer from {MIN_LIMIT} to {MAX_LIMIT}, got {limit!r}"
        )
    if order not in ("asc", "desc"):
        raise InvalidListParameterError("order", f"expected 'asc' or 'desc', got {order!r}")


def list_page(data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    """The API's list object (the ids are ``None`` for an empty page)."""
    return {
        "object": "list",
        "data": data,
        "first_id": data[0].get("id") if data else None,
        "last_id": data[-1].get("id") if data else None,
        "has_more": has_more,
    }
