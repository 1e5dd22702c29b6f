"""``GET /status``: one small HTML page showing the gateway live; ``GET /status/feed``: the JSON it polls.

The page (``status_page.html``, package data) is self-contained (no CDN, no build step, no cookie):
its script fetches the feed every second and shows the streams open now (``data-testid="in-flight"``),
per upstream the request rate, the time to first byte and the duration percentiles over the last
minute (from the histograms' buckets, as Prometheus' ``histogram_quantile`` does), the upstream
failures and the tokens; the answers by status, the upstream errors by code, the dropped parameters
and the last errors.

The feed is read from the same registry as ``/metrics`` (:class:`~.metrics.Metrics`), so with several
workers it sums all of them, whichever worker answers.  Everything the page shows from a request
(model names, error codes) is written with ``textContent``, never as HTML.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

import orjson

from .metrics import Metrics

__all__ = ["FEED_HEADERS", "PAGE", "PAGE_HEADERS", "feed", "feed_body"]

#: Endpoints of the gateway's own (health checks, scrapes, this page): left out of the per-upstream rates.
_OWN_ENDPOINTS = frozenset({"health", "metrics", "status_page", "status_feed"})
_PREFIX = "translator_"


def feed(metrics: Metrics) -> dict[str, Any]:
    """The numbers the page shows, summed over every label but the upstream (and status, code, parameter)."""
    summed = _Sums()
    for family in metrics.families():
        read = summed.readers.get(family.name.removeprefix(_PREFIX))
        if read is None:
            continue
        for sample in family.samples:
            if not sample.name.endswith("_created"):
                read(sample.name, sample.labels, sample.value)
    return {
        "time": time.time(),
        **{key: int(value) for key, value in summed.totals.items()},
        "upstreams": [
            {"name": name, **row, "ttfb": _buckets(row["ttfb"]), "duration": _buckets(row["duration"])}
            for name, row in sorted(summed.upstreams.items())
        ],
        "statuses": {status: int(count) for status, count in sorted(summed.statuses.items())},
        "upstream_errors": [
            {"upstream": name, "code": code, "count": int(count)}
            for (name, code), count in sorted(summed.errors.items(), key=lambda item: -item[1])
        ],
        "dropped": [
            {"parameter": name, "count": int(count)}
            for name, count in sorted(summed.dropped.items(), key=lambda item: -item[1])
        ],
        "recent_errors": metrics.recent.snapshot()[::-1],
    }


class _Sums:
    """The samples of the gateway's metric families, summed the page's way."""

    def __init__(self) -> None:
        self.upstreams: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, float] = {}
        self.errors: dict[tuple[str, str], float] = {}
        self.dropped: dict[str, float] = {}
        self.totals = {"in_flight": 0.0, "requests": 0.0, "store_errors": 0.0, "disconnects": 0.0}
        self.readers: dict[str, Callable[[str, dict[str, str], float], None]] = {
            "requests": self._requests,
            "streams_in_flight": self._in_flight,
            "time_to_first_byte_seconds": lambda name, labels, value: self._bucket(
                "ttfb", name, labels, value
            ),
            "request_duration_seconds": lambda name, labels, value: self._bucket(
                "duration", name, labels, value
            ),
            "upstream_errors": self._upstream_errors,
            "dropped_parameters": self._dropped,
            "input_tokens": lambda name, labels, value: self._add(labels, "input_tokens", value),
            "output_tokens": lambda name, labels, value: self._add(labels, "output_tokens", value),
            "store_errors": lambda name, labels, value: self._total("store_errors", value),
            "client_disconnects": lambda name, labels, value: self._total("disconnects", value),
        }

    def upstream(self, name: str) -> dict[str, Any]:
        row = self.upstreams.get(name)
        if row is None:
            row = self.upstreams[name] = {
                "requests": 0.0,
                "in_flight": 0.0,
                "errors": 0.0,
                "input_tokens": 0.0,
                "output_tokens": 0.0,
                "ttfb": {},
                "duration": {},
            }
        return row

    def _add(self, labels: dict[str, str], key: str, value: float) -> None:
        self.upstream(labels["upstream"])[key] += value

    def _total(self, key: str, value: float) -> None:
        self.totals[key] += value

    def _requests(self, name: str, labels: dict[str, str], value: float) -> None:
        self.totals["requests"] += value
        self.statuses[labels["status"]] = self.statuses.get(labels["status"], 0.0) + value
        if labels["endpoint"] not in _OWN_ENDPOINTS:
            self._add(labels, "requests", value)

    def _in_flight(self, name: str, labels: dict[str, str], value: float) -> None:
        self.totals["in_flight"] += value
        self._add(labels, "in_flight", value)

    def _bucket(self, key: str, name: str, labels: dict[str, str], value: float) -> None:
        if name.endswith("_bucket") and labels["endpoint"] not in _OWN_ENDPOINTS:
            buckets = self.upstream(labels["upstream"])[key]
            buckets[labels["le"]] = buckets.get(labels["le"], 0.0) + value

    def _upstream_errors(self, name: str, labels: dict[str, str], value: float) -> None:
        self._add(labels, "errors", value)
        where = (labels["upstream"], labels["code"])
        self.errors[where] = self.errors.get(where, 0.0) + value

    def _dropped(self, name: str, labels: dict[str, str], value: float) -> None:
        self.dropped[labels["parameter"]] = self.dropped.get(labels["parameter"], 0.0) + value


def _buckets(cumulative: dict[str, float]) -> list[list[float | None]]:
    """``{"0.1": n, ..., "+Inf": n}`` -> ``[[0.1, n], ..., [None, n]]`` in bound order (None: +Inf)."""
    bounds = sorted((float(le), count) for le, count in cumulative.items())
    return [[None if math.isinf(le) else le, int(count)] for le, count in bounds]


def feed_body(metrics: Metrics) -> bytes:
    """``GET /status/feed``: :func:`feed` as JSON (with :data:`FEED_HEADERS`)."""
    return orjson.dumps(feed(metrics))


FEED_HEADERS = ((b"content-type", b"application/json"), (b"cache-control", b"no-store"))
#: The headers of ``GET /status`` (:data:`PAGE`).
PAGE_HEADERS = (
    (b"content-type", b"text/html; charset=utf-8"),
    (b"cache-control", b"no-store"),
    # nothing but this page's own inline style and script, and the feed on the same origin
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
        b"connect-src 'self'; img-src data:",
    ),
    (b"x-content-type-options", b"nosniff"),
)


#: The page (``status_page.html`` beside this module), read once.
PAGE = (resources.files(__package__) / "status_page.html").read_bytes()
