"""Tracing (``translator/gateway/tracing.py``) with the OpenTelemetry SDK's in-memory exporter.

A real uvicorn gateway on loopback, the fake upstream, the openai SDK as client.  The gateway's spans go to
a provider of the test's own (``tracing.use_provider``), so nothing global is changed: one span per
request, a child for the upstream call and one for each store operation, with the model, the upstream and
the tokens on the request's span.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from support.fake_upstream import FakeUpstream
from support.gateway import RunningGateway, running

from translator.gateway import tracing
from translator.gateway.app import Gateway
from translator.gateway.config import ConfigError, load_config


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    yield exporter
    tracing.use_provider(None)
    provider.shutdown()


@pytest.fixture
def gateway(upstream: FakeUpstream, exporter: InMemorySpanExporter) -> Iterator[RunningGateway]:
    with running(Gateway(load_config(upstream=upstream.url, store="memory"))) as served:
        yield served


def finished(exporter: InMemorySpanExporter, requests: int) -> list[ReadableSpan]:
    """The spans once ``requests`` request spans have ended (a request's span ends just after its answer)."""
    deadline = time.monotonic() + 5
    while True:
        spans = list(exporter.get_finished_spans())
        if sum(span.kind is SpanKind.SERVER for span in spans) >= requests or time.monotonic() > deadline:
            return spans
        time.sleep(0.02)


def children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    assert parent.context is not None
    span_id = parent.context.span_id
    return [span for span in spans if span.parent is not None and span.parent.span_id == span_id]


def test_a_request_span_with_its_upstream_call_and_store_operations(
    gateway: RunningGateway, exporter: InMemorySpanExporter
) -> None:
    sdk = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="sk-test", max_retries=0)
    with sdk.responses.create(model="fast-5", input="hi", stream=True) as stream:
        events = list(stream)
    assert events[-1].type == "response.completed"
    first = events[-1].response
    second = sdk.responses.create(model="fast-3", input="again", previous_response_id=first.id)
    assert second.status == "completed"
    spans = finished(exporter, 2)
    requests = [span for span in spans if span.kind is SpanKind.SERVER]
    assert [span.name for span in requests] == ["POST /v1/responses", "POST /v1/responses"]
    streamed, continued = requests
    assert streamed.context is not None and continued.context is not None
    assert streamed.context.trace_id != continued.context.trace_id  # one trace per request
    attributes = dict(streamed.attributes or {})
    assert attributes["gen_ai.request.model"] == "fast-5"
    assert attributes["translator.upstream"] == "default"
    assert attributes["translator.upstream_model"] == "fast-5"
    assert attributes["gen_ai.usage.input_tokens"] == 12
    assert attributes["gen_ai.usage.output_tokens"] == 5
    assert attributes["http.response.status_code"] == 200
    assert attributes["translator.stream"] is True
    assert str(attributes["translator.request_id"]).startswith("req_")
    assert streamed.status.status_code is StatusCode.UNSET
    # its children: the upstream call (from the request until its stream was read) and the store
    names = sorted(span.name for span in children(spans, streamed))
    assert names == ["store create", "upstream POST /chat/completions"]
    (call,) = [span for span in children(spans, streamed) if span.kind is SpanKind.CLIENT]
    assert dict(call.attributes or {}) == {
        "translator.upstream": "default",
        "http.request.method": "POST",
        "url.path": "/chat/completions",
        "http.response.status_code": 200,
        "translator.upstream.complete": True,
    }
    assert streamed.start_time is not None and call.start_time is not None and call.end_time is not None
    assert streamed.end_time is not None and streamed.start_time <= call.start_time <= call.end_time
    assert call.end_time <= streamed.end_time
    # continuing a response reads the conversation from the store first
    names = [span.name for span in children(spans, continued)]
    assert names[0] == "store conversation" and "store create" in names
    (conversation,) = [span for span in spans if span.name == "store conversation"]
    assert dict(conversation.attributes or {})["translator.items"] == 2  # the first turn's input and output
    assert dict(conversation.attributes or {})["translator.store"] == "MemoryResponseStore"


def test_failures_mark_the_spans_as_errors(gateway: RunningGateway, exporter: InMemorySpanExporter) -> None:
    sdk = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="sk-test", max_retries=0)
    with pytest.raises(openai.APIStatusError):
        sdk.chat.completions.create(model="html", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve("resp_unknown")
    spans = finished(exporter, 2)
    failed, missing = [span for span in spans if span.kind is SpanKind.SERVER]
    assert failed.name == "POST /v1/chat/completions"
    assert failed.status.status_code is StatusCode.ERROR
    assert dict(failed.attributes or {})["error.type"] == "bad_gateway"
    assert dict(failed.attributes or {})["http.response.status_code"] == 502
    (call,) = children(spans, failed)
    assert call.status.status_code is StatusCode.ERROR
    assert dict(call.attributes or {})["error.type"] == "bad_gateway"
    assert missing.name == "GET /v1/responses/{response_id}"  # the route, not the id
    assert missing.status.status_code is StatusCode.UNSET  # a 404 is the client's, not a failure
    assert [span.name for span in children(spans, missing)] == ["store get"]


def test_serve_sets_tracing_up_from_the_otel_variables() -> None:
    code = (
        "from opentelemetry import trace;"
        "from translator.gateway import tracing;"
        "print(tracing.configure_from_env());"
        "provider = trace.get_tracer_provider();"
        "print(provider.resource.attributes['service.name']);"
        "tracer = tracing._State.tracer;"
        "tracer.start_span('probe').end();"
        "provider.shutdown()"
    )
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "gw-test"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == ["True", "gw-test"]
    assert '"name": "probe"' in result.stdout  # the console exporter wrote the span


def test_an_exporter_that_is_not_installed_stops_serve_before_it_listens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "no_such_exporter")
    with pytest.raises(ConfigError, match="no span exporter named 'no_such_exporter'"):
        tracing.check_env()
    command = [sys.executable, "-m", "translator", "serve", "--upstream", "http://127.0.0.1:9", "--port", "0"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "OTEL_TRACES_EXPORTER: no span exporter named 'no_such_exporter'" in result.stderr
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    tracing.check_env()  # "none" turns tracing off


def test_without_a_provider_nothing_is_traced_and_a_global_one_set_later_is_used() -> None:
    code = (
        "from opentelemetry import trace;"
        "from opentelemetry.sdk.trace import TracerProvider;"
        "from opentelemetry.sdk.trace.export import SimpleSpanProcessor;"
        "from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter;"
        "from translator.gateway import tracing;"
        "from translator.gateway.request_log import Exchange;"
        "exchange = Exchange('GET', '/health');"
        "span = tracing.request_span(exchange); span.__enter__(); span.__exit__(None, None, None);"
        "print(tracing._State.tracer is None);"
        "exporter = InMemorySpanExporter(); provider = TracerProvider();"
        "provider.add_span_processor(SimpleSpanProcessor(exporter));"
        "trace.set_tracer_provider(provider);"
        "exchange.routed('health', '/health');"
        "span = tracing.request_span(exchange); span.__enter__(); span.__exit__(None, None, None);"
        "print([s.name for s in exporter.get_finished_spans()])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["True", "['GET /health']"]
