"""Tracing of the gateway's requests with OpenTelemetry, when it is installed (the ``otel`` extra).

One span per request (``POST /v1/responses``, kind server), current while the request runs, and under
it a span for each upstream call (``upstream POST /chat/completions``, kind client: from the request
until its answer has been read or closed) and one for each response store operation (``store
create``, ``store conversation``...).  The request span carries the model asked for
(``gen_ai.request.model``), the upstream and its model (``translator.upstream``,
``translator.upstream_model``), the tokens (``gen_ai.usage.input_tokens``/``output_tokens``), the
status, the error and the request id; a 5xx answer or a failed upstream marks it as an error.

Spans go to the OpenTelemetry API's global tracer provider.  ``translator serve`` sets one up from the
standard variables (:func:`configure_from_env`: ``OTEL_TRACES_EXPORTER``, ``OTEL_SERVICE_NAME``,
``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER``, ``OTEL_EXPORTER_OTLP_*``, ``OTEL_BSP_*``); a
program that embeds :class:`~translator.gateway.app.Gateway` configures its own, or calls
:func:`use_provider`.  Without the packages every function here does nothing.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from .config import ConfigError

try:
    from opentelemetry import trace as _otel
except ImportError:  # pragma: no cover - the otel extra is not installed
    _otel = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider

    from .request_log import Exchange

__all__ = [
    "UpstreamSpan",
    "check_env",
    "configure_from_env",
    "request_span",
    "traced",
    "traced_iteration",
    "upstream_span",
    "use_provider",
]

_NAME = "translator.gateway"
_DEFAULT_SERVICE = "translator-gateway"
P = ParamSpec("P")
R = TypeVar("R")
Y = TypeVar("Y")


class _State:
    #: the tracer, once there is a provider to trace to (until then the API's no-op tracer is not even
    #: called: a request without tracing costs one look at the global provider)
    tracer: Tracer | None = None


def use_provider(provider: TracerProvider | None) -> None:
    """Send the gateway's spans to ``provider`` (``None``: back to the global provider, once one is set)."""
    _State.tracer = None if provider is None else provider.get_tracer(_NAME)


def _tracer() -> Tracer | None:
    tracer = _State.tracer
    if tracer is None and _otel is not None:
        provider = _otel.get_tracer_provider()
        if not isinstance(provider, _otel.ProxyTracerProvider | _otel.NoOpTracerProvider):
            tracer = _State.tracer = provider.get_tracer(_NAME)
    return tracer


def _exporter_names() -> list[str]:
    names = [name.strip() for name in os.environ.get("OTEL_TRACES_EXPORTER", "").split(",") if name.strip()]
    if not names or names == ["none"] or os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return []
    return names


def check_env() -> None:
    """Raise :class:`ConfigError` when ``OTEL_TRACES_EXPORTER`` names an exporter that cannot be had."""
    names = _exporter_names()
    if names:
        _sdk_present()
        for name in names:
            _exporter(name)


def _sdk_present() -> None:
    if _otel is None or importlib.util.find_spec("opentelemetry.sdk") is None:
        raise ConfigError(
            "OTEL_TRACES_EXPORTER",
            "tracing needs the otel extra: pip install 'chat-responses-translator[otel]'",
        )


def configure_from_env() -> bool:
    """Set the global tracer provider up from the ``OTEL_*`` variables; whether tracing is on.

    Tracing is on when ``OTEL_TRACES_EXPORTER`` names one or more exporters (``console``, ``otlp``
    with ``opentelemetry-exporter-otlp`` installed, any installed ``opentelemetry_traces_exporter``
    entry point) and ``OTEL_SDK_DISABLED`` is not ``true``.  Spans are batched
    (``BatchSpanProcessor``, ``OTEL_BSP_*``) and flushed when the process exits.
    """
    names = _exporter_names()
    if not names:
        return False
    _sdk_present()
    try:
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:  # pragma: no cover - checked by _sdk_present
        raise ConfigError("OTEL_TRACES_EXPORTER", "the OpenTelemetry SDK cannot be imported") from None
    assert _otel is not None  # the SDK brings the API
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: _DEFAULT_SERVICE}))
    provider = TracerProvider(resource=resource)  # the sampler from OTEL_TRACES_SAMPLER
    for name in names:
        provider.add_span_processor(BatchSpanProcessor(_exporter(name)()))
    _otel.set_tracer_provider(provider)
    use_provider(provider)
    return True


def _exporter(name: str) -> Callable[[], Any]:
    from importlib.metadata import entry_points

    found = list(entry_points(group="opentelemetry_traces_exporter", name=name))
    if not found:
        known = sorted(point.name for point in entry_points(group="opentelemetry_traces_exporter"))
        raise ConfigError(
            "OTEL_TRACES_EXPORTER",
            f"no span exporter named {name!r} is installed (installed: {', '.join(known) or 'none'};"
            " otlp needs opentelemetry-exporter-otlp)",
        )
    exporter: Callable[[], Any] = found[0].load()
    return exporter


# -- the request span ------------------------------------------------------------------------------------


@contextlib.contextmanager
def request_span(exchange: Exchange) -> Iterator[None]:
    """The span of one request, current while the block runs; its attributes are read from the
    exchange when the block ends (after :meth:`Exchange.finish`)."""
    tracer = _tracer()
    if tracer is None:
        yield
        return
    assert _otel is not None
    attributes = {
        "http.request.method": exchange.method,
        "url.path": exchange.path,
        "translator.request_id": exchange.request_id,
    }
    with tracer.start_as_current_span(
        f"{exchange.method} {exchange.route}",
        kind=_otel.SpanKind.SERVER,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield
        finally:
            if span.is_recording():
                _describe(span, exchange)


def _describe(span: Span, exchange: Exchange) -> None:
    assert _otel is not None
    values: dict[str, Any] = {
        "http.response.status_code": exchange.status,
        "gen_ai.request.model": exchange.model,
        "translator.upstream": exchange.upstream,
        "translator.upstream_model": exchange.upstream_model,
        "translator.stream": exchange.stream,
        "gen_ai.usage.input_tokens": exchange.input_tokens,
        "gen_ai.usage.output_tokens": exchange.output_tokens,
        "error.type": exchange.error,
        "translator.client_disconnected": exchange.disconnected or None,
        "translator.dropped": exchange.dropped or None,
    }
    span.set_attributes({key: value for key, value in values.items() if value is not None})
    if exchange.status >= 500 or exchange.upstream_error is not None:
        span.set_status(_otel.Status(_otel.StatusCode.ERROR, exchange.error or str(exchange.status)))


# -- upstream calls --------------------------------------------------------------------------------------


class UpstreamSpan:
    """The span of one upstream call: open from the request until the answer is read or closed."""

    __slots__ = ("_span",)

    def __init__(self, span: Span | None) -> None:
        self._span = span

    def answered(self, status: int) -> None:
        if self._span is not None:
            self._span.set_attribute("http.response.status_code", status)

    def failed(self, error: BaseException) -> None:
        """The call failed before an answer could be read; the span ends."""
        span = self._span
        if span is not None and _otel is not None:
            code = getattr(error, "code", None) or type(error).__name__
            span.set_attribute("error.type", str(code))
            span.set_status(_otel.Status(_otel.StatusCode.ERROR, str(error)[:200]))
            span.end()
            self._span = None

    def end(self, *, complete: bool) -> None:
        """The answer was read to its end (``complete``) or closed before."""
        span = self._span
        if span is not None:
            span.set_attribute("translator.upstream.complete", complete)
            span.end()
            self._span = None


_NO_SPAN = UpstreamSpan(None)


def upstream_span(upstream: str, method: str, path: str) -> UpstreamSpan:
    """A child span of the current one for a call to ``upstream``."""
    tracer = _tracer()
    if tracer is None:
        return _NO_SPAN
    assert _otel is not None
    span = tracer.start_span(
        f"upstream {method} {path}",
        kind=_otel.SpanKind.CLIENT,
        attributes={"translator.upstream": upstream, "http.request.method": method, "url.path": path},
    )
    return UpstreamSpan(span) if span.is_recording() else _NO_SPAN


# -- store operations ------------------------------------------------------------------------------------


def _store_span(name: str, store: object) -> Span | None:
    tracer = _tracer()
    if tracer is None:
        return None
    span = tracer.start_span(f"store {name}", attributes={"translator.store": type(store).__name__})
    return span if span.is_recording() else None


def _failed(span: Span, error: BaseException) -> None:
    assert _otel is not None
    span.set_attribute("error.type", type(error).__name__)
    span.set_status(_otel.Status(_otel.StatusCode.ERROR, str(error)[:200]))


def traced(name: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """A store method (``async def``) in a span ``store <name>``, a child of the current span."""

    def wrap(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(method)
        async def run(*args: P.args, **kwargs: P.kwargs) -> R:
            span = _store_span(name, args[0] if args else None)
            if span is None:
                return await method(*args, **kwargs)
            try:
                return await method(*args, **kwargs)
            except BaseException as exc:
                _failed(span, exc)
                raise
            finally:
                span.end()

        return run

    return wrap


def traced_iteration(
    name: str,
) -> Callable[[Callable[P, AsyncIterator[Y]]], Callable[P, AsyncIterator[Y]]]:
    """A store method that is an async generator, in a span from its first item to its last."""

    def wrap(method: Callable[P, AsyncIterator[Y]]) -> Callable[P, AsyncIterator[Y]]:
        @functools.wraps(method)
        async def run(*args: P.args, **kwargs: P.kwargs) -> AsyncIterator[Y]:
            span = _store_span(name, args[0] if args else None)
            if span is None:
                async for item in method(*args, **kwargs):
                    yield item
                return
            count = 0
            try:
                async for item in method(*args, **kwargs):
                    count += 1
                    yield item
            except GeneratorExit:  # the reader stopped early
                raise
            except BaseException as exc:
                _failed(span, exc)
                raise
            finally:
                span.set_attribute("translator.items", count)
                span.end()

        return run

    return wrap
