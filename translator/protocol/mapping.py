"""Field mappings shared by the stream translators, the accumulators and the object converters.

Pure functions over plain dicts (see ``docs/mapping.md`` §3 and §4 for the sources).
"""

from __future__ import annotations

from typing import Any

from ..errors import ConversionError, InvalidChunkError

__all__ = [
    "COMPLETED_FINISH_REASONS",
    "FAILED_FINISH_REASONS",
    "FINISH_REASON_BY_INCOMPLETE_REASON",
    "INCOMPLETE_REASON_BY_FINISH_REASON",
    "RESPONSE_DEFAULTS",
    "RESPONSE_OPTIONAL",
    "abnormal_finish_error",
    "chat_annotation_to_responses",
    "chat_logprob_to_responses",
    "chat_usage_to_responses",
    "finish_outcome",
    "finish_reason_for_response",
    "response_shell",
    "responses_logprob_to_chat",
    "responses_usage_to_chat",
]

#: Chat ``finish_reason`` values (lower-cased) of an answer the model finished.
COMPLETED_FINISH_REASONS = frozenset(
    {"stop", "tool_calls", "function_call", "eos", "eos_token", "end_turn", "stop_sequence", "tool_use"}
)

#: Chat ``finish_reason`` (lower-cased) -> Responses ``incomplete_details.reason``: the answer was cut
#: short by a limit or a filter (OpenAI's, and the names other providers use for the same thing).
INCOMPLETE_REASON_BY_FINISH_REASON: dict[str, str] = {
    "length": "max_output_tokens",
    "max_tokens": "max_output_tokens",
    "model_length": "max_output_tokens",
    "content_filter": "content_filter",
    "safety": "content_filter",
    "recitation": "content_filter",
    "blocklist": "content_filter",
    "prohibited_content": "content_filter",
    "spii": "content_filter",
    "refusal": "content_filter",
}

#: Chat ``finish_reason`` (lower-cased) of an answer the provider broke off, with what it means.  These,
#: and any reason in none of the three tables, end the Responses stream as ``failed``.
FAILED_FINISH_REASONS: dict[str, str] = {
    "insufficient_system_resource": "the provider ran out of inference resources (DeepSeek)",
    "abort": "the provider aborted the request (vLLM, SGLang)",
    "error": "the provider reported an error",
    "cancelled": "the request was cancelled",
    "canceled": "the request was cancelled",
    "timeout": "the provider timed out",
    "malformed_function_call": "the model produced a malformed function call (Gemini)",
}


def finish_outcome(finish_reason: str) -> tuple[str, str | None]:
    """How a Chat ``finish_reason`` ends a response: ``("completed", None)``, ``("incomplete", reason)``
    with the ``incomplete_details.reason``, or ``("failed", description)`` for an abnormal or unknown one.
    """
    reason = finish_reason.lower()
    if reason in COMPLETED_FINISH_REASONS:
        return "completed", None
    incomplete = INCOMPLETE_REASON_BY_FINISH_REASON.get(reason)
    if incomplete is not None:
        return "incomplete", incomplete
    return "failed", FAILED_FINISH_REASONS.get(reason, "a finish_reason this translator does not know")


def abnormal_finish_error(finish_reason: str, detail: str | None) -> dict[str, Any]:
    """The ``response.error`` of a response an abnormal ``finish_reason`` broke off (streams and objects)."""
    message = f"upstream finish_reason {finish_reason!r}: {detail}; the answer may be cut short"
    return {"code": "server_error", "message": message, "param": None, "type": "finish_reason"}


#: Responses ``incomplete_details.reason`` -> Chat ``finish_reason``.  ``max_messages`` and ``steered``
#: have no Chat equivalent; ``length`` is the closest ("the model stopped before it was done").
FINISH_REASON_BY_INCOMPLETE_REASON: dict[str, str] = {
    "max_output_tokens": "length",
    "content_filter": "content_filter",
    "max_messages": "length",
    "steered": "length",
}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _details(value: Any) -> dict[str, Any]:
    """A usage details object; anything but an object (null, a string...) counts as absent."""
    return value if isinstance(value, dict) else {}


def chat_usage_to_responses(usage: dict[str, Any]) -> dict[str, Any]:
    """Chat ``CompletionUsage`` -> Responses ``ResponseUsage``.

    ``cache_write_tokens`` is always written (the SDK requires it); provider extras are dropped.
    """
    prompt_details = _details(usage.get("prompt_tokens_details"))
    completion_details = _details(usage.get("completion_tokens_details"))
    input_tokens = _int(usage.get("prompt_tokens"))
    output_tokens = _int(usage.get("completion_tokens"))
    total = usage.get("total_tokens")
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {
            "cached_tokens": _int(prompt_details.get("cached_tokens")),
            "cache_write_tokens": _int(
                prompt_details.get("cache_write_tokens", usage.get("cache_creation_input_tokens"))
            ),
        },
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": _int(completion_details.get("reasoning_tokens"))},
        "total_tokens": total if isinstance(total, int) else input_tokens + output_tokens,
    }


def responses_usage_to_chat(usage: dict[str, Any]) -> dict[str, Any]:
    """Responses ``ResponseUsage`` -> Chat ``CompletionUsage`` (cached, reasoning tokens kept)."""
    input_details = _details(usage.get("input_tokens_details"))
    output_details = _details(usage.get("output_tokens_details"))
    input_tokens = _int(usage.get("input_tokens"))
    output_tokens = _int(usage.get("output_tokens"))
    total = usage.get("total_tokens")
    prompt_details: dict[str, Any] = {"cached_tokens": _int(input_details.get("cached_tokens"))}
    if "cache_write_tokens" in input_details:
        prompt_details["cache_write_tokens"] = _int(input_details.get("cache_write_tokens"))
    return {
        "prompt_tokens": input_tokens,
        "completion_tokens": output_tokens,
        "total_tokens": total if isinstance(total, int) else input_tokens + output_tokens,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": {"reasoning_tokens": _int(output_details.get("reasoning_tokens"))},
    }


def _token_ok(entry: Any) -> bool:
    """A token entry: string ``token``, number ``logprob``, ``bytes`` null or a list of integers."""
    if entry.__class__ is not dict:
        return False
    raw = entry.get("bytes")
    return (
        entry.get("token", "").__class__ is str
        and isinstance(entry.get("logprob", 0.0), (int, float))
        and (raw is None or (raw.__class__ is list and all(b.__class__ is int for b in raw)))
    )


def _checked_logprob(entry: Any) -> dict[str, Any]:
    """A logprob entry (and its ``top_logprobs``) of the right shape, or :class:`InvalidChunkError`."""
    tops = entry.get("top_logprobs") if entry.__class__ is dict else None
    if (
        not _token_ok(entry)
        or (tops is not None and tops.__class__ is not list)
        or not all(_token_ok(top) for top in tops or ())
    ):
        raise InvalidChunkError(
            "each logprob must be an object with a string 'token', a number 'logprob', 'bytes' null or"
            " a list of integers, and 'top_logprobs' entries of the same shape",
            field="logprobs",
        )
    result: dict[str, Any] = entry
    return result


def chat_logprob_to_responses(entry: Any) -> dict[str, Any]:
    """One Chat ``ChatCompletionTokenLogprob`` -> Responses ``Logprob`` (``bytes: null`` becomes ``[]``)."""
    entry = _checked_logprob(entry)
    return {
        "token": entry.get("token", ""),
        "logprob": entry.get("logprob", 0.0),
        "bytes": entry.get("bytes") or [],
        "top_logprobs": [
            {
                "token": top.get("token", ""),
                "logprob": top.get("logprob", 0.0),
                "bytes": top.get("bytes") or [],
            }
            for top in entry.get("top_logprobs") or ()
        ],
    }


def responses_logprob_to_chat(entry: Any) -> dict[str, Any]:
    """One Responses ``Logprob`` -> Chat ``ChatCompletionTokenLogprob``."""
    entry = _checked_logprob(entry)
    return {
        "token": entry.get("token", ""),
        "logprob": entry.get("logprob", 0.0),
        "bytes": entry.get("bytes"),
        "top_logprobs": [
            {"token": top.get("token", ""), "logprob": top.get("logprob", 0.0), "bytes": top.get("bytes")}
            for top in entry.get("top_logprobs") or ()
        ],
    }


def finish_reason_for_response(response: dict[str, Any]) -> str:
    """The Chat ``finish_reason`` a Responses ``Response`` corresponds to."""
    if response.get("status") == "incomplete":
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        return FINISH_REASON_BY_INCOMPLETE_REASON.get(reason if isinstance(reason, str) else "", "length")
    output = response.get("output")
    for item in output if isinstance(output, list) else ():
        if isinstance(item, dict) and item.get("type") in ("function_call", "custom_tool_call"):
            return "tool_calls"
    return "stop"


#: The ``Response`` fields (in OpenAI's order) that a synthesized response carries, with the values
#: OpenAI uses when the request did not set them.
RESPONSE_DEFAULTS: dict[str, Any] = {
    "instructions": None,
    "max_output_tokens": None,
    "parallel_tool_calls": True,
    "previous_response_id": None,
    "reasoning": {"effort": None, "summary": None},
    "service_tier": "auto",
    "store": False,
    "temperature": 1.0,
    "text": {"format": {"type": "text"}},
    "tool_choice": "auto",
    "tools": [],
    "top_p": 1.0,
    "truncation": "disabled",
    "user": None,
    "metadata": {},
}


#: ``Response`` fields a shell carries only when ``params`` gives them: ``background`` (a background run),
#: ``conversation`` (``{"id": ...}``, a response that belongs to a conversation).
RESPONSE_OPTIONAL = ("background", "conversation")


def response_shell(
    *,
    response_id: str,
    created_at: int,
    model: str,
    status: str,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``Response`` object with empty output, echoing request ``params`` (Responses-shaped) over defaults.

    The key order matches OpenAI's: id, object, created_at, status, error, incomplete_details,
    instructions, max_output_tokens, model, output, parallel_tool_calls, ... usage, user, metadata.
    """
    p = params or {}

    def pick(name: str) -> Any:
        value = p.get(name)
        return RESPONSE_DEFAULTS[name] if value is None else value

    shell = {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": pick("instructions"),
        "max_output_tokens": pick("max_output_tokens"),
        "model": model,
        "output": [],
        "parallel_tool_calls": pick("parallel_tool_calls"),
        "previous_response_id": pick("previous_response_id"),
        "reasoning": pick("reasoning"),
        "service_tier": pick("service_tier"),
        "store": pick("store"),
        "temperature": pick("temperature"),
        "text": pick("text"),
        "tool_choice": pick("tool_choice"),
        "tools": pick("tools"),
        "top_p": pick("top_p"),
        "truncation": pick("truncation"),
        "usage": None,
        "user": pick("user"),
        "metadata": pick("metadata"),
    }
    for name in RESPONSE_OPTIONAL:  # only when a response has them (a gateway's state)
        if p.get(name) is not None:
            shell[name] = p[name]
    return shell


def chat_annotation_to_responses(annotation: Any, path: str) -> dict[str, Any] | None:
    """A Chat ``{type: url_citation, url_citation: {...}}`` as the flat Responses annotation.

    ``None`` for another annotation type (the caller decides whether that is a loss worth naming).
    Raises :class:`ConversionError` naming ``path`` for a url_citation that is not an object.
    """
    if not isinstance(annotation, dict):
        raise ConversionError(f"expected an object, got {type(annotation).__name__}", path=path)
    if annotation.get("type") != "url_citation":
        return None
    citation = annotation.get("url_citation")
    if not isinstance(citation, dict):
        got = type(citation).__name__
        raise ConversionError(f"expected an object, got {got}", path=f"{path}.url_citation")
    return {
        "type": "url_citation",
        "start_index": citation.get("start_index", 0),
        "end_index": citation.get("end_index", 0),
        "title": citation.get("title", ""),
        "url": citation.get("url", ""),
    }
