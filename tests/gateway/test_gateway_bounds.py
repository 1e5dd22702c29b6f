"""Bounded work per request, probed as a hostile client would: huge tool lists, huge inputs, a stored
conversation of 800,000 items; meanwhile ``/health`` keeps answering within half a second, and what is
over a cap is refused (413 naming it) before the upstream is called.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from support.fake_upstream import FakeUpstream, UpstreamProcess
from support.gateway import RunningGateway, running
from support.sdk import validate_responses_events

from translator.convert.requests import convert_responses_request
from translator.engine.sse import Done, iter_sse
from translator.gateway.app import Gateway
from translator.gateway.config import load_config
from translator.gateway.owners import Owners
from translator.gateway.store import SQLiteResponseStore

CLIENT_AUTH = {"authorization": "Bearer sk-bounds-client"}


class HealthWatch:
    """``GET /health`` every 20 ms from a thread; the slowest answer is what a request made others wait."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                assert client.get(f"{self.url}/health").status_code == 200
                self.latencies.append(time.perf_counter() - started)
                time.sleep(0.02)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        time.sleep(0.1)
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)

    @property
    def worst(self) -> float:
        return max(self.latencies)


def post(gateway: RunningGateway, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{gateway.url}/v1/responses", json=body, headers=CLIENT_AUTH, timeout=120)


def events_of(answer: httpx.Response) -> list[dict[str, Any]]:
    return [p for p in iter_sse([answer.content]) if not isinstance(p, Done)]


@pytest.fixture
def gateway(upstream: FakeUpstream) -> Iterator[RunningGateway]:
    with running(Gateway(load_config(upstream=upstream.url, store="memory"))) as started:
        yield started


def test_20000_tools_convert_while_health_answers() -> None:
    """The upstream runs as its own process and the body is encoded beforehand, so ``/health`` waits only
    for the gateway (parsing a 2 MB body in this process would hold its GIL for a quarter second)."""
    tools = [
        {"type": "function", "name": f"tool_{n}", "parameters": {"type": "object", "properties": {}}}
        for n in range(20_000)
    ]
    body = orjson.dumps({"model": "m", "input": "x", "tools": tools, "stream": True})
    upstream = UpstreamProcess()
    try:
        with running(Gateway(load_config(upstream=upstream.url, store="memory"))) as gateway:
            headers = {**CLIENT_AUTH, "content-type": "application/json"}
            with HealthWatch(gateway.url) as health:
                started = time.perf_counter()
                answer = httpx.post(f"{gateway.url}/v1/responses", content=body, headers=headers, timeout=120)
                took = time.perf_counter() - started
        assert upstream.stats()["requests"] == 1
    finally:
        upstream.kill()
    assert answer.status_code == 200
    events = events_of(answer)
    validate_responses_events(events)
    assert events[-1]["type"] == "response.completed"
    assert len(events[-1]["response"]["tools"]) == 20_000
    assert health.worst < 0.5, (health.worst, took)


def test_20000_tools_all_reach_a_chat_upstream() -> None:
    tools = [{"type": "function", "name": f"tool_{n}"} for n in range(20_000)]
    converted = convert_responses_request({"model": "m", "input": "x", "tools": tools})
    sent = converted.params["tools"]
    assert [tool["function"]["name"] for tool in sent] == [f"tool_{n}" for n in range(20_000)]


def test_a_large_input_converts_off_the_loop_and_a_larger_one_is_refused_at_once(
    upstream: FakeUpstream,
) -> None:
    config = load_config(upstream=upstream.url, store="memory")
    # 100,000 items: over a second of conversion, which must not hold the event loop
    roomy = dataclasses.replace(config, max_input_items=100_000, max_conversation_items=100_000)
    items = [{"role": "user", "content": f"item {n}"} for n in range(100_000)]
    with running(Gateway(roomy)) as gateway, HealthWatch(gateway.url) as health:
        started = time.perf_counter()
        answer = post(gateway, {"model": "m", "input": items, "store": False})
        took = time.perf_counter() - started
    assert answer.status_code == 200 and len(upstream.last().body["messages"]) == 100_000
    assert health.worst < 0.5, (health.worst, took)
    with running(Gateway(config)) as gateway:  # the default cap: 20,000
        calls = len(upstream.seen)
        started = time.perf_counter()
        refused = post(gateway, {"model": "m", "input": items[:20_001]})
        assert time.perf_counter() - started < 2
        error = refused.json()["error"]
        assert (
            refused.status_code == 413 and error["param"] == "input" and "max_input_items" in error["message"]
        )
        chat = httpx.post(
            f"{gateway.url}/v1/chat/completions",
            json={"model": "m", "messages": items[:20_001]},
            headers=CLIENT_AUTH,
            timeout=60,
        )
        assert chat.status_code == 413 and chat.json()["error"]["param"] == "messages"
        assert len(upstream.seen) == calls


def _fill(path: Path, owner: str, turns: int, items: int, text: str) -> str:
    """``turns`` stored responses of ``items`` input items each, chained; the last one's id."""

    async def fill() -> str:
        async with SQLiteResponseStore(path) as store:
            parent = None
            for turn in range(turns):
                rid = f"resp_big_{turn}"
                own = [
                    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
                ] * items
                response = {
                    "id": rid,
                    "object": "response",
                    "created_at": 1,
                    "status": "completed",
                    "model": "m",
                    "output": [],
                    "previous_response_id": parent,
                    "store": True,
                }
                await store.create(response, own, owner=owner)
                parent = rid
            return rid

    return asyncio.run(fill())


def _owner_of(path: Path, authorization: str) -> str:
    """The owner the gateway makes for ``authorization`` on this store (its own secret)."""

    async def secret() -> bytes:
        async with SQLiteResponseStore(path) as store:
            return await store.owner_secret()

    return Owners(secret=asyncio.run(secret())).of(b"authorization", authorization.encode())


def test_an_800000_item_conversation_is_refused_before_it_is_loaded(
    tmp_path: Path, upstream: FakeUpstream
) -> None:
    path = tmp_path / "big.sqlite3"
    owner = _owner_of(path, CLIENT_AUTH["authorization"])
    last = _fill(path, owner, turns=8, items=100_000, text="x")
    config = load_config(upstream=upstream.url, store=f"sqlite:{path}")
    with running(Gateway(config)) as gateway:
        calls = len(upstream.seen)
        with HealthWatch(gateway.url) as health:
            started = time.perf_counter()
            answer = post(gateway, {"model": "m", "input": "and now?", "previous_response_id": last})
            took = time.perf_counter() - started
        error = answer.json()["error"]
        assert answer.status_code == 413 and error["code"] == "conversation_too_large"
        assert error["param"] == "previous_response_id" and "max_conversation_items" in error["message"]
        assert "800,001 items" in error["message"]
        assert took < 1.0 and health.worst < 0.5, (took, health.worst)
        assert len(upstream.seen) == calls


def test_a_conversation_over_the_byte_cap_is_refused_naming_it(
    tmp_path: Path, upstream: FakeUpstream
) -> None:
    path = tmp_path / "bytes.sqlite3"
    owner = _owner_of(path, CLIENT_AUTH["authorization"])
    last = _fill(path, owner, turns=3, items=10, text="y" * 100_000)  # about 3 MB
    config = load_config(upstream=upstream.url, store=f"sqlite:{path}")
    with running(Gateway(dataclasses.replace(config, max_conversation_bytes=2_000_000))) as gateway:
        answer = post(gateway, {"model": "m", "input": "more", "previous_response_id": last})
        error = answer.json()["error"]
        assert answer.status_code == 413 and "max_conversation_bytes" in error["message"]
        assert "2,000,000" in error["message"]
        roomy = dataclasses.replace(config, max_conversation_bytes=4_000_000)
    with running(Gateway(roomy)) as gateway:
        assert post(gateway, {"model": "m", "input": "more", "previous_response_id": last}).status_code == 200


def test_a_conversations_api_conversation_is_read_no_further_than_the_cap(
    upstream: FakeUpstream,
) -> None:
    config = dataclasses.replace(
        load_config(upstream=upstream.url, store="memory"), max_conversation_items=250
    )
    with running(Gateway(config)) as gateway:
        created = httpx.post(f"{gateway.url}/v1/conversations", json={}, headers=CLIENT_AUTH, timeout=30)
        conversation = created.json()["id"]
        for _ in range(13):  # 260 items, 20 per request (the API's limit)
            items = [{"type": "message", "role": "user", "content": "z"}] * 20
            added = httpx.post(
                f"{gateway.url}/v1/conversations/{conversation}/items",
                json={"items": items},
                headers=CLIENT_AUTH,
                timeout=30,
            )
            assert added.status_code == 200
        calls = len(upstream.seen)
        answer = post(gateway, {"model": "m", "input": "x", "conversation": conversation})
        error = answer.json()["error"]
        assert answer.status_code == 413 and error["param"] == "conversation"
        assert "max_conversation_items" in error["message"]
        assert len(upstream.seen) == calls
