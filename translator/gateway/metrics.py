"""The gateway's Prometheus metrics: counted once per request, when its :class:`Exchange` ends.

:class:`Metrics` is the exchange observer (:class:`~.request_log.ExchangeObserver`): it is told when a
streamed answer opens and closes (the in-flight gauge) and when an exchange ends (everything else),
never per chunk.  ``GET /metrics`` (:func:`metrics_answer`) serves the text format.

Labels are bounded whatever clients send: ``endpoint`` is one of a few names
(:func:`~.request_log.endpoint_of`), ``transport`` is ``http``, ``upstream`` a configured upstream's
name (empty when none served the request), ``model`` a routed model's name (``[models."NAME"]``; empty
without routes, so client-chosen names never become labels), ``status`` the HTTP status sent (``499``
when the client left before any answer), ``code`` one of the gateway's and the provider errors'
canonical codes (``other`` beyond), ``parameter`` a dropped parameter's path with its indices
removed (at most :data:`MAX_PARAMETERS` distinct ones per process, ``other`` beyond).

With several worker processes (``translator serve --workers N``) the values live in
prometheus-client's multiprocess files, in the folder ``PROMETHEUS_MULTIPROC_DIR`` names (``serve``
makes one per run and removes it at exit); every worker's ``/metrics`` then sums all of them.  The last
errors (:class:`RecentErrors`, for the status page) are shared through the same folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Generic, TypeVar

import orjson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from .config import GatewayConfig
from .request_log import Exchange

__all__ = ["MAX_PARAMETERS", "MULTIPROC_ENV", "TEXT_FORMAT", "Metrics", "RecentErrors"]

#: The variable naming prometheus-client's multiprocess folder (read when prometheus_client is imported).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Distinct ``parameter`` label values per process; further ones are counted as ``other``.
MAX_PARAMETERS = 64
TRANSPORT = "http"
TTFB_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
#: Status label of an exchange whose client left before any answer (nginx's "client closed request").
CLIENT_CLOSED = "499"
_WHERE = ("endpoint", "transport", "upstream")
#: Upstream failure codes kept as they are in the ``code`` label.
_CODES = frozenset(
    {
        # the gateway's own, for failures before and during a stream
        "bad_gateway",
        "gateway_timeout",
        "upstream_busy",
        "upstream_timeout",
        "upstream_disconnected",
        "bad_upstream",
        "stream_incomplete",
        # the provider errors' canonical codes (translator.protocol.provider_errors)
        "context_length_exceeded",
        "insufficient_quota",
        "rate_limit_exceeded",
        "invalid_prompt",
        "invalid_api_key",
        "model_not_found",
        "server_error",
    }
)
_INDEX = re.compile(r"\[\d+\]")
_JSON = [(b"content-type", b"application/json")]

M = TypeVar("M", bound=MetricWrapperBase)


class _Children(Generic[M]):
    """A labelled metric's children, cached by label values (``labels()`` takes a lock and builds keys)."""

    __slots__ = ("children", "metric")

    def __init__(self, metric: M) -> None:
        self.metric = metric
        self.children: dict[tuple[str, ...], M] = {}

    def __call__(self, *values: str) -> M:
        child = self.children.get(values)
        if child is None:
            child = self.children[values] = self.metric.labels(*values)
        return child


class Metrics:
    """The gateway's metrics and the exchange observer that feeds them."""

    def __init__(self, config: GatewayConfig) -> None:
        folder = os.environ.get(MULTIPROC_ENV) or None
        self.folder = Path(folder) if folder else None
        self._routed = frozenset(config.routes)
        self._parameters: set[str] = set()
        if self.folder is not None:
            _forget_dead_workers(self.folder)
            registry = None  # values go to the folder's files; read back by a MultiProcessCollector
        else:
            registry = CollectorRegistry()
        self._registry = registry
        self.requests = _Children(
            Counter(
                "translator_requests",
                "Requests served, by endpoint, transport, upstream, routed model and HTTP status"
                " (499: the client left before any answer)",
                (*_WHERE, "model", "status"),
                registry=registry,
            )
        )
        self.ttfb = _Children(
            Histogram(
                "translator_time_to_first_byte_seconds",
                "Seconds from the request's arrival to the first byte of its answer",
                _WHERE,
                buckets=TTFB_BUCKETS,
                registry=registry,
            )
        )
        self.duration = _Children(
            Histogram(
                "translator_request_duration_seconds",
                "Seconds from the request's arrival to the end of its answer",
                _WHERE,
                buckets=DURATION_BUCKETS,
                registry=registry,
            )
        )
        self.in_flight = _Children(
            Gauge(
                "translator_streams_in_flight",
                "Streamed answers being written now",
                _WHERE,
                registry=registry,
                multiprocess_mode="livesum",
            )
        )
        self.upstream_errors = _Children(
            Counter(
                "translator_upstream_errors",
                "Requests an upstream failed (an error answer; unreachable, silent, broken or unreadable)",
                ("upstream", "code"),
                registry=registry,
            )
        )
        self.dropped = _Children(
            Counter(
                "translator_dropped_parameters",
                "Request parameters dropped because the upstream's protocol has no equivalent",
                ("parameter",),
                registry=registry,
            )
        )
        self.input_tokens = _Children(
            Counter(
                "translator_input_tokens",
                "Input (prompt) tokens the upstreams reported",
                ("upstream", "model"),
                registry=registry,
            )
        )
        self.output_tokens = _Children(
            Counter(
                "translator_output_tokens",
                "Output (completion) tokens the upstreams reported",
                ("upstream", "model"),
                registry=registry,
            )
        )
        self.disconnects = _Children(
            Counter(
                "translator_client_disconnects",
                "Requests whose client left (or stopped reading) before the end of the answer",
                _WHERE,
                registry=registry,
            )
        )
        self.store_errors = Counter(
            "translator_store_errors",
            "Requests the response store failed (503 store_unavailable, or a finished response not kept)",
            registry=registry,
        )
        self.recent = RecentErrors(self.folder)

    # -- the observer ---------------------------------------------------------------------------------

    def stream_opened(self, exchange: Exchange) -> None:
        self.in_flight(exchange.endpoint, TRANSPORT, exchange.upstream or "").inc()

    def stream_closed(self, exchange: Exchange) -> None:
        self.in_flight(exchange.endpoint, TRANSPORT, exchange.upstream or "").dec()

    def ended(self, exchange: Exchange) -> None:
        endpoint = exchange.endpoint
        upstream = exchange.upstream or ""
        model = exchange.model if exchange.model in self._routed else ""
        assert model is not None
        status = str(exchange.status) if exchange.status else CLIENT_CLOSED
        self.requests(endpoint, TRANSPORT, upstream, model, status).inc()
        self.duration(endpoint, TRANSPORT, upstream).observe(exchange.duration)
        ttfb = exchange.ttfb
        if ttfb is not None:
            self.ttfb(endpoint, TRANSPORT, upstream).observe(ttfb)
        if exchange.disconnected:
            self.disconnects(endpoint, TRANSPORT, upstream).inc()
        if exchange.upstream_error is not None:
            self.upstream_errors(upstream, _code(exchange.upstream_error)).inc()
        for dropped in exchange.dropped:
            self.dropped(self._parameter(dropped)).inc()
        if exchange.input_tokens:
            self.input_tokens(upstream, model).inc(exchange.input_tokens)
        if exchange.output_tokens:
            self.output_tokens(upstream, model).inc(exchange.output_tokens)
        if exchange.store_error:
            self.store_errors.inc()
        if exchange.error is not None or exchange.status >= 400:
            self.recent.add(
                {
                    "time": time.time(),
                    "request_id": exchange.request_id,
                    "endpoint": endpoint,
                    "upstream": upstream,
                    "model": exchange.model,
                    "status": int(status),
                    "error": exchange.error,
                }
            )

    def _parameter(self, dropped: str) -> str:
        """``request.input[3].content[0].type: why`` -> ``input[].content[].type`` (bounded in number)."""
        name = _INDEX.sub("[]", dropped.partition(": ")[0].removeprefix("request."))
        if name not in self._parameters:
            if len(self._parameters) >= MAX_PARAMETERS:
                return "other"
            self._parameters.add(name)
        return name

    # -- reading ---------------------------------------------------------------------------------------

    def registry(self) -> CollectorRegistry:
        """The registry to read: this process's, or every worker's summed from the multiprocess files."""
        if self._registry is not None:
            return self._registry
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self.folder))  # type: ignore[no-untyped-call]
        return registry

    def families(self) -> Iterable[Metric]:
        return self.registry().collect()

    def exposition(self) -> bytes:
        return generate_latest(self.registry())


#: The headers of ``GET /metrics`` (:meth:`Metrics.exposition`): the Prometheus text format.
TEXT_FORMAT = ((b"content-type", CONTENT_TYPE_LATEST.encode()),)


def _code(code: str) -> str:
    if code in _CODES or (code.startswith("http_") and code[5:].isdigit()):
        return code
    return "other"


# -- the last errors, for the status page ----------------------------------------------------------------


class RecentErrors:
    """The last :attr:`size` failed requests (status >= 400 or an error), newest last.

    With a multiprocess folder each worker also writes its own to ``recent_errors_<pid>.json`` there (at
    most every :attr:`flush_delay` seconds, off the request path), and :meth:`snapshot` merges them all.
    """

    size = 20
    flush_delay = 0.25

    def __init__(self, folder: Path | None) -> None:
        self._items: deque[dict[str, Any]] = deque(maxlen=self.size)
        self._folder = folder
        self._path = None if folder is None else folder / f"recent_errors_{os.getpid()}.json"
        self._flush_pending = False

    def add(self, entry: dict[str, Any]) -> None:
        self._items.append(entry)
        if self._path is None or self._flush_pending:
            return
        self._flush_pending = True
        try:
            asyncio.get_running_loop().call_later(self.flush_delay, self._flush)
        except RuntimeError:  # no event loop (called outside the server): write at once
            self._flush()

    def _flush(self) -> None:
        self._flush_pending = False
        assert self._path is not None
        temporary = self._path.with_suffix(".tmp")
        with contextlib.suppress(OSError):
            temporary.write_bytes(orjson.dumps(list(self._items)))
            os.replace(temporary, self._path)

    def snapshot(self) -> list[dict[str, Any]]:
        """The last errors of every worker, oldest first."""
        if self._folder is None:
            return list(self._items)
        merged = list(self._items)
        for path in self._folder.glob("recent_errors_*.json"):
            if path == self._path:
                continue
            with contextlib.suppress(OSError, orjson.JSONDecodeError):
                merged += orjson.loads(path.read_bytes())
        merged.sort(key=lambda entry: entry.get("time", 0))
        return merged[-self.size :]


def _forget_dead_workers(folder: Path) -> None:
    """A worker that died (and was replaced) leaves its in-flight gauge behind: drop those files."""
    for path in folder.glob("gauge_live*_*.db"):
        pid = path.stem.rpartition("_")[2]
        if pid.isdigit() and not _alive(int(pid)):
            mark_process_dead(int(pid), str(folder))  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
