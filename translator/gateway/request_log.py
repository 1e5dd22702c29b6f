"""One request through the gateway, as the log sees it: one JSON line when it ends.

The line holds the request id, the client protocol, the model asked for, the upstream, the status,
the time to the first byte sent to the client, the duration, the token counts and the dropped
parameters.  Keys and message contents are never logged.

:class:`Exchange` is also the one place where a request's outcome is known when it ends: an
:class:`ExchangeObserver` (the metrics, :mod:`translator.gateway.metrics`) is told when a streamed
answer opens and closes and when the exchange ends (:meth:`Exchange.finish`), once per request,
never per chunk.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

__all__ = ["Exchange", "ExchangeObserver", "endpoint_of", "logger"]

logger = logging.getLogger("translator.gateway")


#: Endpoint names (the ``endpoint`` label of the metrics) and routes (in span names), by path without
#: the optional ``/v1`` prefix.
_ENDPOINTS = {
    "/responses": ("responses", "/v1/responses"),
    "/chat/completions": ("chat_completions", "/v1/chat/completions"),
    "/models": ("models", "/v1/models"),
}
_OWN_PATHS = {
    "/health": ("health", "/health"),
    "/metrics": ("metrics", "/metrics"),
    "/status": ("status", "/status"),
    "/status/feed": ("status", "/status/feed"),
}
_STORED = {
    ("", "GET"): ("responses_get", "/v1/responses/{id}"),
    ("", "DELETE"): ("responses_delete", "/v1/responses/{id}"),
    ("input_items", "GET"): ("responses_input_items", "/v1/responses/{id}/input_items"),
    ("cancel", "POST"): ("responses_cancel", "/v1/responses/{id}/cancel"),
}
_OTHER = ("other", "other")


def endpoint_of(method: str, path: str) -> tuple[str, str]:
    """The endpoint's name and route for a request: a few fixed values, whatever the client sends."""
    own = _OWN_PATHS.get(path)
    if own is not None:
        return own
    if path.startswith("/v1/"):
        path = path[3:]
    known = _ENDPOINTS.get(path)
    if known is not None:
        return known
    if path.startswith("/responses/"):
        action = path[len("/responses/") :].partition("/")[2]
        return _STORED.get((action, method), _OTHER)
    return _OTHER


class ExchangeObserver(Protocol):
    """Told of an exchange's streamed answer and of its end (the metrics)."""

    def stream_opened(self, exchange: Exchange) -> None: ...

    def stream_closed(self, exchange: Exchange) -> None: ...

    def ended(self, exchange: Exchange) -> None: ...


@dataclass(slots=True)
class Exchange:
    method: str
    path: str
    request_id: str = field(default_factory=lambda: f"req_{secrets.token_hex(12)}")
    started: float = field(default_factory=time.perf_counter)
    client_protocol: str | None = None
    model: str | None = None
    upstream: str | None = None
    upstream_model: str | None = None
    stream: bool | None = None
    status: int = 0
    first_byte: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    dropped: list[str] = field(default_factory=list)
    error: str | None = None
    disconnected: bool = False
    #: the code of the upstream's failure, when the upstream failed this exchange (an error answer, a
    #: broken, silent or unreadable stream); ``error`` holds it too unless something else came later
    upstream_error: str | None = None
    #: the response store failed during this exchange (503, or a finished response not kept)
    store_failed: bool = False
    observer: ExchangeObserver | None = None
    ended: float | None = None

    def upstream_failed(self, code: str) -> None:
        """The upstream failed this exchange; ``code`` names how."""
        self.error = code
        if self.upstream_error is None:
            self.upstream_error = code

    @contextlib.contextmanager
    def streaming(self) -> Iterator[None]:
        """Around a streamed answer: the observer counts it open until it ends, however it ends."""
        observer = self.observer
        if observer is None:
            yield
            return
        observer.stream_opened(self)
        try:
            yield
        finally:
            observer.stream_closed(self)

    def sent_first_byte(self) -> None:
        if self.first_byte is None:
            self.first_byte = time.perf_counter()

    def note_usage(self, usage: Any, input_key: str, output_key: str) -> None:
        if isinstance(usage, dict):
            tokens_in, tokens_out = usage.get(input_key), usage.get(output_key)
            if isinstance(tokens_in, int):
                self.input_tokens = tokens_in
            if isinstance(tokens_out, int):
                self.output_tokens = tokens_out

    @property
    def endpoint(self) -> str:
        """The endpoint's name (``responses``, ``chat_completions``, ``responses_get``..., ``other``)."""
        return endpoint_of(self.method, self.path)[0]

    @property
    def route(self) -> str:
        """The endpoint's route (``/v1/responses/{id}``...), ``other`` for unknown paths."""
        return endpoint_of(self.method, self.path)[1]

    @property
    def duration(self) -> float:
        """Seconds from the start to the end (to now while it runs)."""
        return (self.ended or time.perf_counter()) - self.started

    @property
    def ttfb(self) -> float | None:
        """Seconds to the first byte sent to the client, when one was sent."""
        return None if self.first_byte is None else self.first_byte - self.started

    def record(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "method": self.method,
            "path": self.path,
            "client_protocol": self.client_protocol,
            "model": self.model,
            "upstream": self.upstream,
            "upstream_model": self.upstream_model,
            "stream": self.stream,
            "status": self.status,
            "ttfb_ms": None if self.first_byte is None else round((self.first_byte - self.started) * 1000, 2),
            "duration_ms": round(self.duration * 1000, 2),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "dropped": self.dropped,
            "error": self.error,
            "client_disconnected": self.disconnected,
        }

    def finish(self) -> None:
        """The exchange is over: the observer is told, then the line is logged."""
        self.ended = time.perf_counter()
        if self.observer is not None:
            try:
                self.observer.ended(self)
            except Exception:  # a metrics bug must not fail the request (nor hide its log line)
                logger.exception("observer failed on %s", self.request_id)
        self.log()

    def log(self) -> None:
        if logger.isEnabledFor(logging.INFO):
            logger.info(orjson.dumps(self.record()).decode())
