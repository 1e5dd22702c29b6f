"""One request through the gateway, as the log sees it: one JSON line when it ends.

The line holds the request id, the transport (``http``, or ``websocket``: one line per response made on a
socket), the client protocol, the model asked for, the upstream, the status, the time to the first byte
sent to the client, the duration, the token counts, the dropped parameters, and each try of an upstream
when there were retries or fallbacks.  Keys and message contents are never logged.

The outcome (``status``, ``error``, ``disconnected``) is set only through the methods below: the status by
the client writer when it sends the answer's status line (:meth:`Exchange.answered`), the error by
whoever learns of the failure (:meth:`Exchange.failed`), the disconnect by the client writer
(:meth:`Exchange.client_left`), which counts only before the end of the answer went out (the stream's
source says when it did: :meth:`Exchange.end_sent`).  A test checks that no other module assigns them.

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

__all__ = ["Exchange", "ExchangeObserver", "logger"]

logger = logging.getLogger("translator.gateway")


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
    transport: str = "http"
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
    #: the route table's name for the endpoint (``create_response``...; ``other`` when no route took
    #: the request) and its route (``/v1/responses/{response_id}``): bounded, for metrics and spans
    endpoint: str = "other"
    route: str = "other"
    #: how the upstream failed this exchange (an error answer, a broken, silent or unreadable stream)
    upstream_error: str | None = None
    #: the response store failed during this exchange (503, or a finished response not kept)
    store_error: bool = False
    observer: ExchangeObserver | None = None
    finished_at: float | None = None  #: when the exchange ended (:meth:`finish`)
    ended: bool = False  #: the end of the answer (terminal event, ``[DONE]``, error frame) went out
    #: every try of an upstream, when there was more than one to make (retries, fallbacks)
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def routed(self, endpoint: str, route: str) -> None:
        """The route table's endpoint and route for this request."""
        self.endpoint = endpoint
        self.route = route

    # -- the outcome ----------------------------------------------------------------------------------

    def answered(self, status: int) -> None:
        """The status line sent to the client (called by the client writer alone)."""
        self.status = status

    def failed(
        self, code: str | None, *, first: bool = False, upstream: bool = False, store: bool = False
    ) -> None:
        """The request failed with ``code``; with ``first``, only if no failure was noted before
        (a transport failure names it better than what the translator made of it).  ``upstream``: the
        upstream failed it (its first such code is kept in ``upstream_error``); ``store``: the response
        store did."""
        if not (first and self.error is not None):
            self.error = code
        if upstream and self.upstream_error is None:
            self.upstream_error = code or "server_error"
        if store:
            self.store_error = True

    def client_left(self) -> None:
        """The client went away (disconnected, or stopped reading): ``client_disconnected`` in the log
        line when it left before the end of its answer went out (a client that closes the connection
        once it has its terminal event, as Codex does, did not leave early)."""
        if not self.ended:
            self.disconnected = True

    def end_sent(self) -> None:
        """The end of the client's answer (its terminal event, ``[DONE]`` or error frame) was written:
        called by the stream's source when the client writer asks for what follows it."""
        self.ended = True

    def attempted(self, upstream: str, model: str, status: int, error: str | None, seconds: float) -> None:
        """One try of an upstream (:mod:`.attempts`): the status it answered with (200: it answered and
        was used), the error code when it failed before answering, and how long the try took."""
        attempt = {"upstream": upstream, "model": model, "status": status, "error": error}
        self.attempts.append({**attempt, "ms": round(seconds * 1000, 2)})

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
    def duration(self) -> float:
        """Seconds from the start to the end (to now while it runs)."""
        return (self.finished_at or time.perf_counter()) - self.started

    @property
    def ttfb(self) -> float | None:
        """Seconds to the first byte sent to the client, when one was sent."""
        return None if self.first_byte is None else self.first_byte - self.started

    def record(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "transport": self.transport,
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
            "attempts": self.attempts,
            "error": self.error,
            "client_disconnected": self.disconnected,
        }

    def finish(self) -> None:
        """The exchange is over: the observer is told, then the line is logged."""
        self.finished_at = time.perf_counter()
        if self.observer is not None:
            try:
                self.observer.ended(self)
            except Exception:  # a metrics bug must not fail the request (nor hide its log line)
                logger.exception("observer failed on %s", self.request_id)
        self.log()

    def log(self) -> None:
        if logger.isEnabledFor(logging.INFO):
            logger.info(orjson.dumps(self.record()).decode())
