"""Provider error bodies -> OpenAI's error shape, with the codes clients act on.

Providers report errors in many shapes (``{"error": {...}}``, ``{"error": "text"}``, vLLM's
``{"object": "error", "message": ...}``, FastAPI's ``{"detail": ...}``, an HTML page) and name the
same condition in many ways.  Responses clients branch on a few codes (the Codex CLI stops retrying on
``context_length_exceeded`` and ``insufficient_quota``; every OpenAI client backs off on
``rate_limit_exceeded``), so :func:`classify_error` reads any of those shapes and gives one
:class:`ProviderError` with a canonical ``code`` when the condition is recognised, the provider's own
code otherwise.

=====================================  ==========================  =====================================
condition                              code                        recognised by
=====================================  ==========================  =====================================
prompt longer than the context window  ``context_length_exceeded`` the code, or messages such as
                                                                   "maximum context length",
                                                                   "exceeds the available context size"
                                                                   (llama.cpp), "prompt is too long",
                                                                   "exceeded model token limit" (Kimi)
out of credit or quota                 ``insufficient_quota``      HTTP 402, "insufficient balance"
                                                                   (DeepSeek), "exceeded your current
                                                                   quota", "insufficient credits"
too many requests                      ``rate_limit_exceeded``     HTTP 429 (when not quota)
prompt refused by a content filter     ``invalid_prompt``          ``content_filter``/``content_policy``
                                                                   codes or messages
bad or missing key                     ``invalid_api_key``         HTTP 401
unknown model                          ``model_not_found``         HTTP 404 naming a model, or the code
upstream failure                       ``server_error``            HTTP 5xx
=====================================  ==========================  =====================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["ProviderError", "classify_error", "error_body"]

#: How much of a non-JSON error body is quoted in the message.
_TEXT_LIMIT = 500

_CONTEXT = re.compile(
    r"context[ _-]?(length|window|size)|maximum context|model token limit|prompt is too long"
    r"|prompt exceeds max length|exceeds the maximum number of tokens|input is too long"
    r"|reduce the length of the messages|exceed_context_size",
    re.IGNORECASE,
)
_QUOTA = re.compile(
    r"insufficient[ _](quota|balance|credits?|funds)|exceeded your current quota|quota exceeded"
    r"|billing|out of credits",
    re.IGNORECASE,
)
_CONTENT_POLICY = re.compile(r"content[ _-]?(filter|policy|management)|safety system|flagged", re.IGNORECASE)
_MODEL_MISSING = re.compile(
    r"model.*(not found|does not exist|not exist|unknown)|no such model", re.IGNORECASE
)

_TYPE_BY_CODE = {
    "context_length_exceeded": "invalid_request_error",
    "insufficient_quota": "insufficient_quota",
    "rate_limit_exceeded": "rate_limit_error",
    "invalid_prompt": "invalid_request_error",
    "invalid_api_key": "authentication_error",
    "model_not_found": "invalid_request_error",
    "server_error": "server_error",
}


@dataclass(frozen=True, slots=True)
class ProviderError:
    """One error in OpenAI's terms.  ``provider_code`` keeps what the provider itself said."""

    message: str
    type: str
    code: str | None
    param: str | None = None
    provider_code: str | None = None

    def body(self) -> dict[str, Any]:
        """``{"error": {"message", "type", "code", "param"}}``: the shape of both APIs."""
        return error_body(self.message, self.type, self.code, self.param)


def error_body(message: str, type: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    """OpenAI's error body, the same for Chat Completions and Responses."""
    return {"error": {"message": message, "type": type, "code": code, "param": param}}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _fields(payload: Any) -> tuple[str | None, str | None, str | None, str | None]:
    """message, type, code, param from any known error shape (missing ones are ``None``)."""
    if not isinstance(payload, dict):
        return _text(payload), None, None, None
    inner = payload.get("error", payload)
    if isinstance(inner, str):
        return inner, _text(payload.get("type")), _text(payload.get("code")), None
    if not isinstance(inner, dict):
        inner = payload
    message = inner.get("message")
    if message is None:
        message = inner.get("detail", inner.get("msg"))
    if isinstance(message, dict | list):
        message = orjson.dumps(message).decode()
    code = inner.get("code")
    return (
        _text(message),
        _text(inner.get("type")),
        None if code is None else str(code),
        _text(inner.get("param")),
    )


def _canonical(status: int | None, message: str, kind: str | None, code: str | None) -> str | None:
    said = f"{code or ''} {kind or ''} {message}"
    if _CONTEXT.search(said):
        return "context_length_exceeded"
    if status == 402 or _QUOTA.search(said):
        return "insufficient_quota"
    if status == 429 or code == "rate_limit_exceeded":
        return "rate_limit_exceeded"
    if code == "invalid_prompt" or _CONTENT_POLICY.search(f"{code or ''} {kind or ''}"):
        return "invalid_prompt"
    if status == 401:
        return "invalid_api_key"
    if code == "model_not_found" or (status == 404 and _MODEL_MISSING.search(message)):
        return "model_not_found"
    if status is not None and status >= 500 and code is None:
        return "server_error"
    return None


def classify_error(payload: Any, *, status: int | None = None, body: bytes | None = None) -> ProviderError:
    """A provider's error as a :class:`ProviderError`.

    ``payload`` is the parsed error (a dict in any of the known shapes, or a string); pass ``body``
    instead for raw HTTP response bytes (JSON or not).  ``status`` is the HTTP status, when there is one.
    """
    if body is not None:
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            text = body[:_TEXT_LIMIT].decode("utf-8", "replace").strip()
            payload = text or None
    message, kind, code, param = _fields(payload)
    if not message:
        message = f"upstream error (HTTP {status})" if status is not None else "upstream error"
    canonical = _canonical(status, message, kind, code)
    final_type = _TYPE_BY_CODE[canonical] if canonical else (kind or "upstream_error")
    return ProviderError(
        message=message, type=final_type, code=canonical or code, param=param, provider_code=code
    )
