"""Hand-written Responses API events for unit tests: one item at a time, as OpenAI streams them.

``created()`` opens a stream, ``message``/``function_call``/``custom_call``/``reasoning_summary`` give
the events of one output item at ``output_index`` ``oi`` (added, deltas, done), ``completed()`` ends
it; ``WIRE_ERROR`` is an ``error`` event in its wire form.  Every event is a plain dict, as decoded.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CREATED",
    "PATCH",
    "RESP_ID",
    "USAGE",
    "WIRE_ERROR",
    "completed",
    "created",
    "custom_call",
    "function_call",
    "message",
    "reasoning_summary",
    "response",
]

RESP_ID = "resp_1"
CREATED = 1_750_000_123


def response(status: str = "in_progress", output: list[Any] | None = None, **extra: Any) -> dict[str, Any]:
    """The response object the stream's events carry, in ``status``; ``extra`` adds or overrides fields."""
    return {
        "id": RESP_ID,
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "model": "gpt-test",
        "output": output or [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": None,
        **extra,
    }


def created() -> list[dict[str, Any]]:
    """``response.created`` then ``response.in_progress``: how every stream opens."""
    return [
        {"type": "response.created", "response": response()},
        {"type": "response.in_progress", "response": response()},
    ]


def message(
    oi: int,
    text: str,
    *,
    deltas: list[str] | None = None,
    item_id: str | None = None,
    annotations: list[Any] | None = None,
) -> list[dict[str, Any]]:
    """A message item at ``oi`` whose text streams as ``deltas`` (default: one delta per word)."""
    mid = item_id or f"msg_{oi}"
    where = {"item_id": mid, "output_index": oi, "content_index": 0}
    pieces = deltas if deltas is not None else [w + " " for w in text.split(" ")[:-1]] + [text.split(" ")[-1]]
    part = {"type": "output_text", "text": text, "annotations": annotations or [], "logprobs": []}
    return [
        {
            "type": "response.output_item.added",
            "output_index": oi,
            "item": {
                "id": mid,
                "type": "message",
                "role": "assistant",
                "status": "in_progress",
                "content": [],
            },
        },
        {"type": "response.content_part.added", **where, "part": {**part, "text": "", "annotations": []}},
        *({"type": "response.output_text.delta", **where, "delta": d, "logprobs": []} for d in pieces),
        {"type": "response.output_text.done", **where, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **where, "part": part},
        {
            "type": "response.output_item.done",
            "output_index": oi,
            "item": {
                "id": mid,
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [part],
            },
        },
    ]


def function_call(
    oi: int,
    call_id: str,
    name: str,
    arguments: str,
    *,
    deltas: list[str] | None = None,
    with_done: bool = True,
) -> list[dict[str, Any]]:
    """A function_call item ``fc_<oi>`` whose arguments stream as ``deltas`` (default: two halves)."""
    fid = f"fc_{oi}"
    item = {
        "id": fid,
        "type": "function_call",
        "status": "in_progress",
        "call_id": call_id,
        "name": name,
        "arguments": "",
    }
    pieces = (
        deltas if deltas is not None else [arguments[: len(arguments) // 2], arguments[len(arguments) // 2 :]]
    )
    events: list[dict[str, Any]] = [{"type": "response.output_item.added", "output_index": oi, "item": item}]
    events += [
        {"type": "response.function_call_arguments.delta", "item_id": fid, "output_index": oi, "delta": d}
        for d in pieces
    ]
    if with_done:
        events.append(
            {
                "type": "response.function_call_arguments.done",
                "item_id": fid,
                "output_index": oi,
                "arguments": arguments,
            }
        )
    events.append(
        {
            "type": "response.output_item.done",
            "output_index": oi,
            "item": {**item, "status": "completed", "arguments": arguments},
        }
    )
    return events


def reasoning_summary(oi: int, parts: list[str]) -> list[dict[str, Any]]:
    """A reasoning item ``rs_<oi>`` with one summary part per text in ``parts``, each in one delta."""
    rid = f"rs_{oi}"
    where = {"item_id": rid, "output_index": oi}
    events: list[dict[str, Any]] = [
        {
            "type": "response.output_item.added",
            "output_index": oi,
            "item": {"id": rid, "type": "reasoning", "summary": []},
        }
    ]
    for si, text in enumerate(parts):
        part = {"type": "summary_text", "text": text}
        events += [
            {
                "type": "response.reasoning_summary_part.added",
                **where,
                "summary_index": si,
                "part": {**part, "text": ""},
            },
            {"type": "response.reasoning_summary_text.delta", **where, "summary_index": si, "delta": text},
            {"type": "response.reasoning_summary_text.done", **where, "summary_index": si, "text": text},
            {"type": "response.reasoning_summary_part.done", **where, "summary_index": si, "part": part},
        ]
    events.append(
        {
            "type": "response.output_item.done",
            "output_index": oi,
            "item": {
                "id": rid,
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": t} for t in parts],
            },
        }
    )
    return events


USAGE = {
    "input_tokens": 100,
    "input_tokens_details": {"cached_tokens": 40, "cache_write_tokens": 8},
    "output_tokens": 30,
    "output_tokens_details": {"reasoning_tokens": 12},
    "total_tokens": 130,
}


def completed(
    output: list[Any] | None = None, usage: dict[str, Any] | None = USAGE, **extra: Any
) -> dict[str, Any]:
    """The ``response.completed`` event, with ``output`` and ``usage`` (default :data:`USAGE`)."""
    return {"type": "response.completed", "response": response("completed", output, usage=usage, **extra)}


PATCH = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch"


def custom_call(
    oi: int, call_id: str, name: str, text: str, *, pieces: list[str] | None = None
) -> list[dict[str, Any]]:
    """A custom_tool_call as OpenAI streams it (freeform input, e.g. Codex's apply_patch)."""
    item = {
        "id": f"ctc_{oi}",
        "type": "custom_tool_call",
        "status": "in_progress",
        "call_id": call_id,
        "name": name,
        "input": "",
    }
    where = {"item_id": item["id"], "output_index": oi}
    parts = pieces if pieces is not None else [text[:10], text[10:]]
    return [
        {"type": "response.output_item.added", "output_index": oi, "item": item},
        *({"type": "response.custom_tool_call_input.delta", **where, "delta": d} for d in parts),
        {"type": "response.custom_tool_call_input.done", **where, "input": text},
        {
            "type": "response.output_item.done",
            "output_index": oi,
            "item": {**item, "status": "completed", "input": text},
        },
    ]


WIRE_ERROR = {
    "type": "error",
    "sequence_number": 2,
    "error": {"type": "insufficient_quota", "code": "insufficient_quota", "message": "quota", "param": None},
}
