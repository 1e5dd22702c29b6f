"""How a translated Chat stream ends: the final response for a finish_reason, an error or a cut.

The translator (:class:`~translator.streams.chat_to_responses.ChatToResponses`) knows *when* the
response ends (:mod:`.chat_phases`); these pure functions say *how*: which terminal event, with which
status, ``incomplete_details`` or ``error``.  Mapping reference: ``docs/mapping.md`` §4e.
"""

from __future__ import annotations

from typing import Any

from ..protocol.mapping import abnormal_finish_error, chat_usage_to_responses, finish_outcome
from ..protocol.provider_errors import classify_error

__all__ = ["FAILED_CODES", "broken_off", "cut_error", "final_response", "stopped_error", "upstream_failure"]

#: The codes a ``response.failed`` carries (what clients act on: Codex stops retrying on the first two
#: and ``invalid_prompt``); anything else is ``server_error``.  The provider's own code is kept on the
#: ``error`` event and in ``response.error.type``.  The SDK's ``ResponseError.code`` list lacks the first
#: two, which the API sends and Codex reads.
FAILED_CODES = frozenset(
    {"context_length_exceeded", "insufficient_quota", "rate_limit_exceeded", "invalid_prompt", "server_error"}
)


def upstream_failure(error: Any) -> tuple[str | None, str, Any, dict[str, Any]]:
    """An upstream error (the ``error`` of a chunk, or one of ours below) as what the ``error`` event
    carries (code, message, param) and the ``response.error`` of ``response.failed``."""
    if not isinstance(error, dict):
        error = {"message": str(error)}
    message = str(error.get("message") or "upstream error")
    raw_code = error.get("code")
    code = None if raw_code is None else str(raw_code)
    canonical = classify_error(error).code
    failure = {
        "code": canonical if canonical in FAILED_CODES else "server_error",
        "message": message,
        "param": error.get("param"),
        "type": error.get("type") if isinstance(error.get("type"), str) else code,
    }
    return code, message, error.get("param"), failure


def broken_off(finish_reason: str | None) -> bool:
    """Whether ``finish_reason`` is an abnormal one (``error``, ``abort``...): the answer was broken off,
    the response fails (and nothing open is announced done)."""
    return finish_reason is not None and finish_outcome(finish_reason)[0] == "failed"


def stopped_error(cause: Exception) -> dict[str, Any]:
    """The error that ends a response whose input stopped at a typed error (``cause``) before any
    finish_reason."""
    message = f"translation stopped at a bad upstream chunk: {cause}"
    return {"message": message, "type": "invalid_chunk", "code": "invalid_chunk"}


def cut_error(chunks: int, inside_frame: bool) -> dict[str, Any]:
    """The error that ends a response whose input ended without a finish_reason or ``[DONE]``."""
    inside = " inside a frame (the cut frame was discarded)" if inside_frame else ""
    message = f"upstream chat stream ended{inside} after {chunks} chunk(s) without a finish_reason or [DONE]"
    return {"message": message, "type": "stream_cut", "code": "stream_cut"}


def final_response(
    shell: dict[str, Any],
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    service_tier: str | None,
    finish_reason: str | None,
    failed: dict[str, Any] | None,
) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    """The terminal event's type and response, and the error an abnormal finish_reason broke the answer
    off with (``None`` otherwise: then no ``error`` event goes before it).

    ``failed`` (the ``response.error`` of an upstream error) makes it ``response.failed``; else the
    finish_reason decides (none at all counts as ``stop``).
    """
    response = dict(shell)
    response["output"] = output
    if usage is not None:
        response["usage"] = chat_usage_to_responses(usage)
    if service_tier is not None:
        response["service_tier"] = service_tier
    outcome, detail = finish_outcome(finish_reason or "stop")
    broken = None
    if failed is None and outcome == "failed":  # an abnormal finish_reason: the answer was broken off
        failed = broken = abnormal_finish_error(finish_reason or "", detail)
    if failed is not None:
        response["status"] = "failed"
        response["error"] = failed
        return "response.failed", response, broken
    if outcome == "incomplete":
        response["status"] = "incomplete"
        response["incomplete_details"] = {"reason": detail}
        return "response.incomplete", response, None
    response["status"] = "completed"
    return "response.completed", response, None
