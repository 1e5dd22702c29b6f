"""A final object replayed as the stream that would have produced it.

Some upstreams stream badly (tool calls split wrongly by local servers) and are better called without
streaming; a streaming client still wants its events.  Instead of a second event writer, the final
object is cut back into the stream of its own protocol, and that stream goes through the ordinary
translator (:class:`~translator.streams.chat_to_responses.ChatToResponses` or
:class:`~translator.streams.responses_to_chat.ResponsesToChat`), which writes the events as it always does.

* :func:`completion_as_chunks`: a ``chat.completion`` -> ``chat.completion.chunk`` dicts (reasoning,
  content, refusal, each tool call, the finish chunk, then the usage chunk).
* :func:`response_as_events`: a ``response`` -> Responses events (``response.created``, each output
  item added and done, then the terminal event).
"""

from __future__ import annotations

from typing import Any

from ..errors import ConversionError

__all__ = ["completion_as_chunks", "response_as_events"]

#: Assistant message fields replayed as one delta each, in the order a provider sends them; the
#: reasoning fields travel together (``reasoning_details`` text counts only when no plain field has it).
_DELTA_FIELDS = (
    ("reasoning_content", "reasoning", "reasoning_details"),
    ("content",),
    ("refusal",),
    ("audio",),
)
_TERMINAL_EVENT = {
    "completed": "response.completed",
    "incomplete": "response.incomplete",
    "failed": "response.failed",
}


def completion_as_chunks(completion: dict[str, Any], *, choice: int = 0) -> list[dict[str, Any]]:
    """The chunks of a stream that accumulates to ``completion`` (one choice: ``choice``)."""
    if not isinstance(completion, dict):
        raise ConversionError(
            f"expected a chat.completion object, got {type(completion).__name__}", path="completion"
        )
    choices = completion.get("choices")
    if not isinstance(choices, list):
        raise ConversionError("expected a list", path="completion.choices")
    picked = next(
        (c for c in choices if isinstance(c, dict) and c.get("index", 0) == choice),
        None,
    )
    head: dict[str, Any] = {
        "id": completion.get("id") or "",
        "object": "chat.completion.chunk",
        "created": completion.get("created") or 0,
        "model": completion.get("model") or "",
    }
    for key in ("service_tier", "system_fingerprint"):
        if completion.get(key) is not None:
            head[key] = completion[key]
    out = [] if picked is None else [{**head, "choices": [c]} for c in _choice_chunks(picked, choice)]
    usage = completion.get("usage")
    if isinstance(usage, dict):
        out.append({**head, "choices": [], "usage": usage})
    return out


def _choice_chunks(picked: dict[str, Any], choice: int) -> list[dict[str, Any]]:
    """The ``choices[0]`` of each chunk that replays one choice: its message's fields, then its finish."""
    message = picked.get("message")
    if not isinstance(message, dict):
        raise ConversionError("expected an object", path=f"completion.choices[{choice}].message")

    def piece(delta: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"index": 0, "delta": delta, **extra}

    out = [piece({"role": "assistant"})]
    for names in _DELTA_FIELDS:
        delta = {name: message[name] for name in names if message.get(name)}
        if not delta:
            continue
        extra: dict[str, Any] = {}
        if "content" in delta:
            if picked.get("logprobs"):
                extra["logprobs"] = picked["logprobs"]
            if message.get("annotations"):
                delta["annotations"] = message["annotations"]
        out.append(piece(delta, **extra))
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        raise ConversionError("expected a list", path=f"completion.choices[{choice}].message.tool_calls")
    for position, call in enumerate(calls):
        if not isinstance(call, dict):
            raise ConversionError(
                "expected an object", path=f"completion.choices[{choice}].message.tool_calls[{position}]"
            )
        out.append(piece({"tool_calls": [{"index": position, **call}]}))
    legacy = message.get("function_call")
    if isinstance(legacy, dict) and not calls:
        out.append(piece({"function_call": legacy}))
    out.append(piece({}, finish_reason=picked.get("finish_reason") or "stop"))
    return out


def response_as_events(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of a stream whose terminal event carries ``response``."""
    if not isinstance(response, dict):
        raise ConversionError(f"expected a response object, got {type(response).__name__}", path="response")
    status = response.get("status")
    terminal = _TERMINAL_EVENT.get(status if isinstance(status, str) else "")
    if terminal is None:
        raise ConversionError(f"a {status!r} response has no final stream to replay", path="response.status")
    output = response.get("output") or []
    if not isinstance(output, list):
        raise ConversionError("expected a list", path="response.output")
    shell = {
        **response,
        "status": "in_progress",
        "output": [],
        "usage": None,
        "error": None,
        "incomplete_details": None,
    }
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": shell},
        {"type": "response.in_progress", "response": shell},
    ]
    for position, item in enumerate(output):
        if not isinstance(item, dict):
            raise ConversionError("expected an object", path=f"response.output[{position}]")
        events.append({"type": "response.output_item.added", "output_index": position, "item": item})
        events.append({"type": "response.output_item.done", "output_index": position, "item": item})
    events.append({"type": terminal, "response": response})
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events
