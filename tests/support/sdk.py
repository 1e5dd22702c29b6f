"""Conformance helpers: check our output with the official openai SDK's types and stream accumulators.

``openai`` is a dev dependency: only tests import this module.
"""

from __future__ import annotations

import typing
from typing import Any

from openai import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.chat import CompletionCreateParams
from openai.types.chat.completion_create_params import CompletionCreateParamsBase
from openai.types.responses import (
    Response,
    ResponseCreateParams,
    ResponseItem,
    ResponseItemList,
    ResponseStreamEvent,
)
from openai.types.responses.response_create_params import ResponseCreateParamsBase
from pydantic import TypeAdapter

_EVENT = TypeAdapter(ResponseStreamEvent)
_ITEM = TypeAdapter(ResponseItem)
RESPONSES_PARAMS: TypeAdapter[Any] = TypeAdapter(ResponseCreateParams)
CHAT_PARAMS: TypeAdapter[Any] = TypeAdapter(CompletionCreateParams)
RESPONSES_KEYS = set(typing.get_type_hints(ResponseCreateParamsBase)) | {"stream"}
CHAT_KEYS = set(typing.get_type_hints(CompletionCreateParamsBase)) | {"stream"}


def valid_responses(request: dict[str, Any]) -> None:
    """Valid ``ResponseCreateParams``, and no key the TypedDict lacks (pydantic would ignore it)."""
    RESPONSES_PARAMS.validate_python(request)
    assert set(request) <= RESPONSES_KEYS, set(request) - RESPONSES_KEYS


def valid_chat(request: dict[str, Any]) -> None:
    """Valid ``CompletionCreateParams``, and no key the TypedDict lacks."""
    CHAT_PARAMS.validate_python(request)
    assert set(request) <= CHAT_KEYS, set(request) - CHAT_KEYS


def validate_responses_events(events: list[dict[str, Any]]) -> list[Any]:
    """Every event validates as a ResponseStreamEvent (strictly: no unknown type, required fields present)."""
    parsed = []
    for n, event in enumerate(events):
        try:
            parsed.append(_EVENT.validate_python(event))
        except Exception as exc:  # pragma: no cover - the message is the point
            raise AssertionError(f"event {n} ({event.get('type')}) does not validate: {exc}") from exc
    return parsed


def accumulate_with_sdk(events: list[dict[str, Any]]) -> Response | None:
    """Feed the events to the SDK's ResponseStreamState; the Response of its terminal event (or None)."""
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=omit, text_format=omit)
    final = None
    for event in validate_responses_events(events):
        for out in state.handle_event(event):
            if out.type in ("response.completed", "response.incomplete", "response.failed"):
                final = out.response
    return final


def without_parsed(value: Any) -> Any:
    """The SDK's parsed models add ``parsed`` fields; drop them to compare with plain wire objects."""
    if isinstance(value, dict):
        return {k: without_parsed(v) for k, v in value.items() if k not in ("parsed", "parsed_arguments")}
    if isinstance(value, list):
        return [without_parsed(v) for v in value]
    return value


def check_response(response: Any) -> dict[str, Any]:
    """A stored/retrieved ``Response`` object validates as the SDK's ``Response``; returns it unchanged."""
    assert isinstance(response, dict), f"expected a Response object, got {response!r}"
    Response.model_validate(response)
    return response


def check_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every item validates as a ``ResponseItem`` (what input items lists and conversations hold)."""
    for n, item in enumerate(items):
        try:
            _ITEM.validate_python(item)
        except Exception as exc:  # pragma: no cover - the message is the point
            raise AssertionError(f"item {n} ({item.get('type')}) is not a ResponseItem: {exc}") from exc
    return items


def check_list(page: Any) -> dict[str, Any]:
    """An input-items page validates as ``ResponseItemList``; an empty one has its shape with null ids."""
    assert isinstance(page, dict), f"expected a list object, got {page!r}"
    if page["data"]:
        ResponseItemList.model_validate(page)
    else:
        assert page == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}
    return page


def check_failed_stream(events: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A stream that ends ``response.failed`` in the shape a client can retry safely: every event is an
    SDK event, the SDK's ``ResponseStreamState`` accepts it, our validator finds nothing (its
    ``unfinished.*`` rules: no item announced done with status ``incomplete``), and an item that never
    finished has no done event at all (no ``*.done``, no ``output_item.done``) and is listed in the
    failed response's output with status ``incomplete``.

    Returns the failed response and the items it lists that never finished.
    """
    from translator.testing.validate import validate_responses_stream

    assert events[-1]["type"] == "response.failed", events[-1]["type"]
    assert accumulate_with_sdk(events) is not None
    assert validate_responses_stream(events) == []
    final: dict[str, Any] = events[-1]["response"]
    done = {e["output_index"] for e in events if e["type"] == "response.output_item.done"}
    assert all(
        item.get("status") != "incomplete"
        for e in events
        if e["type"] == "response.output_item.done"
        for item in [e["item"]]
    )
    unfinished = [item for oi, item in enumerate(final["output"]) if oi not in done]
    for item in unfinished:
        assert item.get("status", "incomplete") == "incomplete", item
        finished_events = [
            e["type"] for e in events if e.get("item_id") == item["id"] and e["type"].endswith(".done")
        ]
        assert finished_events == [], finished_events
    return final, unfinished
