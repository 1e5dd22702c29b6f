"""Generated hostile bodies posted to the gateway in-process (its ASGI app through ``httpx.ASGITransport``,
the fake upstream on loopback): every answer is a 2xx, or a 4xx in OpenAI's error shape naming what was
wrong; never a 5xx.  A stream that starts ends with its protocol's terminal event."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.fake_upstream import FakeUpstream
from support.request_strategies import CHAT_FIELDS, RESPONSES_FIELDS, any_json, bodies

from translator.engine.sse import Done, iter_sse
from translator.gateway.app import Gateway
from translator.gateway.config import load_config

AUTH = {"authorization": "Bearer sk-fuzz-client"}
#: Models the fake upstream answers with a short stream (none of its scripted fault models), or not a model.
MODELS = st.sampled_from([*["fuzz-a", "fuzz-b"] * 4, ""]).flatmap(
    lambda name: st.just(name) if name else st.one_of(st.none(), any_json)
)
TERMINAL = {"response.completed", "response.incomplete", "response.failed", "error"}
FAST = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]


class InProcess:
    """The gateway app and one event loop kept for the module, so its upstream pool lives across examples."""

    def __init__(self, upstream: FakeUpstream) -> None:
        self.runner = asyncio.Runner()
        self.app = Gateway(load_config(upstream=upstream.url, store="memory"))
        self.runner.run(self.app.start())
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://gateway", timeout=30
        )

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        content = orjson.dumps(body)
        return self.runner.run(self.client.post(path, content=content, headers=AUTH))

    def close(self) -> None:
        self.runner.run(self.client.aclose())
        self.runner.run(self.app.aclose())
        self.runner.close()


@pytest.fixture(scope="module")
def gateway() -> Iterator[InProcess]:
    upstream = FakeUpstream().start()
    made = InProcess(upstream)
    yield made
    made.close()
    upstream.stop()


def check_answer(answer: httpx.Response, body: dict[str, Any]) -> None:
    shown = f"{answer.status_code} {answer.text[:400]!r} for {orjson.dumps(body)[:400]!r}"
    assert 200 <= answer.status_code < 300 or 400 <= answer.status_code < 500, shown
    if answer.status_code >= 400:
        error = answer.json()["error"]
        assert isinstance(error["message"], str) and error["message"], shown
        assert error["type"] == "invalid_request_error" and set(error) >= {"code", "param"}, shown
        return
    if answer.headers.get("content-type", "").startswith("text/event-stream"):
        frames = list(iter_sse([answer.content]))
        assert frames, shown
        last = frames[-1]
        if isinstance(last, Done):  # a Chat stream: [DONE] after its chunks
            assert all(not isinstance(frame, Done) and "error" not in frame for frame in frames[:-1]), shown
        else:
            assert last.get("type") in TERMINAL, shown
            assert last.get("type") != "response.failed" and last.get("type") != "error", shown


@settings(max_examples=400, deadline=None, suppress_health_check=FAST)
@given(bodies(RESPONSES_FIELDS, MODELS, "input"))
def test_generated_responses_requests_never_get_a_5xx(gateway: InProcess, body: dict[str, Any]) -> None:
    check_answer(gateway.post("/v1/responses", body), body)


@settings(max_examples=400, deadline=None, suppress_health_check=FAST)
@given(bodies(CHAT_FIELDS, MODELS, "messages"))
def test_generated_chat_requests_never_get_a_5xx(gateway: InProcess, body: dict[str, Any]) -> None:
    check_answer(gateway.post("/v1/chat/completions", body), body)


@settings(max_examples=60, deadline=None, suppress_health_check=FAST)
@given(
    st.sampled_from(["/v1/responses/input_tokens", "/v1/responses/compact", "/v1/conversations"]),
    bodies([*RESPONSES_FIELDS, "items"], MODELS),
)
def test_generated_bodies_on_the_other_routes_never_get_a_5xx(
    gateway: InProcess, path: str, body: dict[str, Any]
) -> None:
    check_answer(gateway.post(path, body), body)
