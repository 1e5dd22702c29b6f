"""Steering a response on a WebSocket (``response.steer``), as the SDK's types describe it.

A client queues user input into the response running on its socket.  The gateway owns accepted input
(``response.steer.accepted``, with an id), stops the running response at the next upstream read that is
a safe boundary (no tool call has started: a response that calls tools completes, then waits for their
results), ends it ``incomplete`` with ``incomplete_details.reason = "steered"``, and starts the successor
that continues from it with the queued input (its ``response.created`` is the commit point).  A response
that stops for client-owned tool output keeps the input queued: ``response.steer.pending`` (with the
``required_input`` stubs) follows ``response.completed``, and the client's explicit continuation gets the
queued input prepended.  Input that cannot be committed comes back in ``response.steer.failed``.

This module holds the steering submissions and the events about them; the socket session
(:mod:`translator.gateway.socket_session`) decides when they apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..ids import random_id

__all__ = [
    "MAX_PENDING_STEERS",
    "Steer",
    "as_items",
    "invalid_input",
    "invalid_steer",
    "normalized",
    "required_input",
    "steer_failed",
    "unsteerable",
    "with_steering",
]

#: Accepted, uncommitted submissions a response may hold (one more: ``too_many_pending_steers``).
MAX_PENDING_STEERS = 16

_STEER_KEYS = frozenset({"type", "previous_response_id", "input"})
_MESSAGE_KEYS = frozenset({"type", "role", "content", "id", "status"})
_PART_TYPES = frozenset({"input_text", "input_image", "input_file"})


@dataclass(slots=True)
class Steer:
    """One accepted steering submission: its id, the response it steers, its input as sent."""

    previous_response_id: str
    input: Any
    id: str = ""

    def __post_init__(self) -> None:
        self.input = normalized(self.input)
        if not self.id:
            self.id = random_id("steer")

    def items(self) -> list[dict[str, Any]]:
        """The input as input items (a string is one user message)."""
        return as_items(self.input)

    def accepted(self) -> dict[str, Any]:
        return {
            "type": "response.steer.accepted",
            "steer": {"id": self.id, "previous_response_id": self.previous_response_id},
        }

    def pending(self, required: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "type": "response.steer.pending",
            "reason": "waiting_for_required_input",
            "required_input": required,
            "steer": {"id": self.id, "previous_response_id": self.previous_response_id},
        }

    def failed(self, code: str, message: str) -> dict[str, Any]:
        return steer_failed(code, message, self.previous_response_id, self.input, self.id)


def steer_failed(
    code: str, message: str, previous_response_id: Any, steer_input: Any, steer_id: str | None = None
) -> dict[str, Any]:
    """``response.steer.failed``, returning the input (``steer_id`` once one was allocated).

    Input that is not valid steering input comes back as ``""``: the event's type admits only valid
    input, and the message names what was wrong with it."""
    valid = invalid_input(steer_input) is None
    steer: dict[str, Any] = {
        "previous_response_id": previous_response_id if isinstance(previous_response_id, str) else "",
        "input": normalized(steer_input) if valid else "",
    }
    if steer_id is not None:
        steer["id"] = steer_id
    return {
        "type": "response.steer.failed",
        "error": {"code": code, "message": message, "type": "invalid_request_error"},
        "steer": steer,
    }


def as_items(value: Any) -> list[dict[str, Any]]:
    """A create or steer ``input`` as a list of items (a string is one user message)."""
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    if isinstance(value, list):
        return list(value)
    return []


#: Input item types that answer a previous response's tool calls (a Chat upstream needs them right after
#: the calls: steering input goes after them).
_TOOL_RESULTS = frozenset(
    {
        "function_call_output",
        "custom_tool_call_output",
        "computer_call_output",
        "shell_call_output",
        "apply_patch_call_output",
        "tool_search_output",
        "mcp_approval_response",
    }
)


def with_steering(steers: list[Steer], request_input: Any) -> list[dict[str, Any]]:
    """A continuation's input with the queued steering input in submission order before its own items,
    but after the tool results it opens with (a Chat upstream refuses a message between tool calls and
    their results; the model sees the same order of turns)."""
    items = as_items(request_input)
    split = 0
    while split < len(items) and isinstance(items[split], dict) and items[split].get("type") in _TOOL_RESULTS:
        split += 1
    return items[:split] + [item for steer in steers for item in steer.items()] + items[split:]


def invalid_steer(event: dict[str, Any]) -> str | None:
    """Why a ``response.steer`` event is not valid (``None`` when it is): only ``type``,
    ``previous_response_id`` and ``input``; the input a non-empty string, or a non-empty list of user
    messages whose content is a string or ``input_text``/``input_image``/``input_file`` parts."""
    extra = sorted(set(event) - _STEER_KEYS)
    if extra:
        return f"response.steer accepts only type, previous_response_id and input, not {', '.join(extra)}"
    target = event.get("previous_response_id")
    if not isinstance(target, str) or not target:
        return "'previous_response_id' must be the id of the response to steer"
    return invalid_input(event.get("input"))


def invalid_input(value: Any) -> str | None:
    """Why ``value`` is not valid steering input (``None`` when it is)."""
    if isinstance(value, str):
        return None if value else "'input' must not be empty"
    if not isinstance(value, list) or not value:
        return "'input' must be a non-empty string or a non-empty list of user messages"
    for n, item in enumerate(value):
        problem = _invalid_message(item)
        if problem is not None:
            return f"input[{n}]: {problem}"
    return None


def _invalid_message(item: Any) -> str | None:
    if not isinstance(item, dict) or item.get("type", "message") != "message":
        return "steering accepts only messages (no tool outputs or other items)"
    if item.get("role") != "user":
        return "steering accepts only messages with the user role"
    extra = sorted(set(item) - _MESSAGE_KEYS)
    if extra:
        return f"a steering message has only type, role and content, not {', '.join(extra)}"
    content = item.get("content")
    if isinstance(content, str):
        return None
    if not isinstance(content, list) or not content:
        return "'content' must be a string or a non-empty list of input parts"
    for part in content:
        if not isinstance(part, dict) or part.get("type") not in _PART_TYPES:
            return "content parts must be input_text, input_image or input_file"
    return None


def normalized(value: Any) -> Any:
    """Valid steering input as the SDK's type has it: each message with its ``type``."""
    if isinstance(value, list):
        return [{"type": "message", **item} for item in value]
    return value


def unsteerable(body: dict[str, Any]) -> str | None:
    """Why a response made from ``body`` cannot be steered (``None`` when it can), as the API says: one
    bound to a conversation, or using automatic compaction."""
    if body.get("conversation") is not None:
        return "a response bound to a conversation cannot be steered"
    if body.get("context_management"):
        return "a response using automatic compaction cannot be steered"
    return None


#: Output item type -> the stub of the input that answers it (``ResponseSteerRequiredInput``).
_REQUIRED = {
    "function_call": ("function_call_output", ("call_id", "name")),
    "custom_tool_call": ("custom_tool_call_output", ("call_id",)),
    "computer_call": ("computer_call_output", ("call_id",)),
    "shell_call": ("shell_call_output", ("call_id",)),
    "apply_patch_call": ("apply_patch_call_output", ("call_id",)),
}


def required_input(output: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The client-owned tool results a response's ``output`` waits for, as identifying stubs."""
    stubs: list[dict[str, Any]] = []
    for item in output:
        kind = item.get("type")
        if kind in _REQUIRED:
            stub_type, keys = _REQUIRED[kind]
            stubs.append({"type": stub_type, **{key: item.get(key, "") for key in keys}})
        elif kind == "tool_search_call" and item.get("execution") == "client":
            stubs.append(
                {"type": "tool_search_output", "call_id": item.get("call_id", ""), "execution": "client"}
            )
        elif kind == "mcp_approval_request":
            stubs.append({"type": "mcp_approval_response", "approval_request_id": item.get("id", "")})
    return stubs
