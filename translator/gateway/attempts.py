"""Retries and fallbacks, before anything reaches the client.

A model's route names an upstream and, in order, its ``fallbacks``; each upstream may be tried again
``retries`` times (``[upstreams.NAME]``, default 0).  :meth:`Targets.open` opens the exchange with each
in turn until one answers: it catches only the failures that happen before the upstream's answer starts
(so before anything was sent to the client), and only those another try may cure:

* the upstream could not be reached or did not answer in time (connect error, ``connect_timeout``,
  ``first_byte_timeout``, every pooled connection busy);
* it answered with a 5xx status, or with 429 ``rate_limit_exceeded``.

A ``retry-after`` header (seconds, or an HTTP date) is honoured up to the upstream's
``max_retry_after``; a longer one moves on to the next upstream (or, for the last, passes the answer to
the client with its ``retry-after``).  Without one, a retry waits ``retry_backoff`` seconds, doubling.
Any other failure (a 4xx, a request that cannot be converted) is the same everywhere: it goes to the
client at once.  A failure once the answer has started is never retried here: the client has its
bytes, and its protocol's terminal failure says what happened.

The next upstream gets the request converted for itself (its capability profile), because the caller's
``open_one`` builds the exchange for the :class:`~.upstream_client.Destination` it is given.  Every
attempt is noted in the log record (``attempts``).
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from .config import UpstreamConfig
from .errors import GatewayError
from .request_log import Exchange
from .upstream_client import Destination, Upstream

__all__ = ["Target", "Targets", "retry_delay"]

T = TypeVar("T")

#: A place a request may go: the upstream's configuration, its client, and its name for the model.
Target = tuple[UpstreamConfig, Upstream, str]


def retry_delay(error: GatewayError, retry: int, config: UpstreamConfig) -> float | None:
    """Seconds to wait before trying the upstream again after ``error`` (its ``retry``-th retry, from 0),
    or ``None`` when another try cannot help (the error is not one of those above) or its
    ``retry-after`` is longer than ``max_retry_after``."""
    if not _retryable(error):
        return None
    after = _retry_after(error)
    if after is not None:
        return after if after <= config.max_retry_after else None
    return float(config.retry_backoff * (2**retry))


def _retryable(error: GatewayError) -> bool:
    return error.status >= 500 or (error.status == 429 and error.code == "rate_limit_exceeded")


def _retry_after(error: GatewayError) -> float | None:
    """The error's ``retry-after`` (or ``retry-after-ms``) in seconds, if it has a readable one."""
    headers = dict(error.headers)
    millis = headers.get(b"retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get(b"retry-after")
    if value is None:
        return None
    text = value.decode("latin-1").strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass(frozen=True, slots=True)
class Targets:
    """Where one request may go, in order (the route's upstream, then its fallbacks), and the
    ``Authorization`` to send to an upstream that has no key of its own."""

    targets: tuple[Target, ...]
    authorization: str | None

    @property
    def protocol(self) -> str:
        """What the upstreams speak (fallbacks speak the protocol of the route's upstream)."""
        return self.targets[0][0].protocol

    async def open(self, exchange: Exchange, open_one: Callable[[Destination], Awaitable[T]]) -> T:
        """``open_one`` for each target in turn (each tried ``1 + retries`` times) until one answers;
        the last failure when none does.  ``exchange.upstream`` names the one that answered."""
        last: GatewayError | None = None
        several = len(self.targets) > 1
        for config, upstream, model in self.targets:
            for retry in range(config.retries + 1):
                exchange.upstream, exchange.upstream_model = config.name, model
                started = time.perf_counter()
                try:
                    opened = await open_one(Destination(upstream, model, self.authorization))
                except GatewayError as exc:
                    if several or config.retries:
                        took = time.perf_counter() - started
                        exchange.attempted(config.name, model, exc.status, exc.code, took)
                    if not _retryable(exc):
                        raise
                    last = exc
                    delay = retry_delay(exc, retry, config)
                    if delay is None or retry == config.retries:
                        break  # on to the next upstream
                    await asyncio.sleep(delay)
                    continue
                if several or config.retries:
                    exchange.attempted(config.name, model, 200, None, time.perf_counter() - started)
                return opened
        assert last is not None  # (every target was tried at least once)
        raise last
