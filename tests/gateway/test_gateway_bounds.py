"""Bounded work per request, probed as a hostile client would: huge tool lists, huge inputs, a stored
conversation of 800,000 items; meanwhile ``/health`` keeps answering within half a second, and what is
over a cap is refused (413 naming it) before the upstream is called.

Where ``/health`` is timed, the gateway and the upstream run as processes of their own (``translator
serve``, the fake upstream's script): in this process, parsing a body of megabytes (the upstream's, or the
client's reading of a 5 MB answer) holds the GIL the watching thread needs, so its latency would measure
the test, not the gateway (it reached 0.57 s on a loaded CI machine that way).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest
from support.fake_upstream import FakeUpstream, UpstreamProcess
from support.gateway import RunningGateway, ServeProcess, running
from support.sdk import validate_responses_events
from support.websocket import read_response, validate_server_event

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


@contextlib.contextmanager
def served(tmp_path: Path, *args: str, server: str = "") -> Iterator[tuple[ServeProcess, UpstreamProcess]]:
    """``translator serve`` over the fake upstream, both as processes of their own; ``server`` is the
    ``[server]`` table of its configuration file."""
    config = tmp_path / "gateway.toml"
    config.write_text(f"[server]\n{server}")
    upstream = UpstreamProcess()
    try:
        gateway = ServeProcess("--config", str(config), "--upstream", upstream.url, *args)
        try:
            yield gateway, upstream
        finally:
            gateway.stop()
    finally:
        upstream.kill()


def post_encoded(url: str, body: dict[str, Any]) -> tuple[httpx.Response, float]:
    """The body encoded before the clock starts; the answer and how long it took."""
    content = orjson.dumps(body)
    headers = {**CLIENT_AUTH, "content-type": "application/json"}
    started = time.perf_counter()
    answer = httpx.post(f"{url}/v1/responses", content=content, headers=headers, timeout=120)
    return answer, time.perf_counter() - started


def test_20000_tools_convert_while_health_answers(tmp_path: Path) -> None:
    tools = [
        {"type": "function", "name": f"tool_{n}", "parameters": {"type": "object", "properties": {}}}
        for n in range(20_000)
    ]
    with served(tmp_path, "--store", "memory") as (gateway, upstream):
        with HealthWatch(gateway.url) as health:
            answer, took = post_encoded(
                gateway.url, {"model": "m", "input": "x", "tools": tools, "stream": True}
            )
        stats = upstream.stats()
    assert stats["requests"] == 1 and stats["last_tools"] == 20_000
    assert answer.status_code == 200
    events = events_of(answer)
    echoed = events[-1]["response"]["tools"]
    assert events[-1]["type"] == "response.completed"
    assert [tool["name"] for tool in echoed] == [f"tool_{n}" for n in range(20_000)]
    # The SDK's models take 8 s for the 60,000 tools of the three snapshots: every snapshot carries the
    # same list, so each event is validated whole but for the middle of that list (the same code made it).
    for event in events:
        if "response" in event:
            assert event["response"]["tools"] == echoed, event["type"]
            event["response"]["tools"] = echoed[:50] + echoed[-50:]
    validate_responses_events(events)
    assert health.worst < 0.5, (health.worst, took)


def test_20000_tools_all_reach_a_chat_upstream() -> None:
    tools = [{"type": "function", "name": f"tool_{n}"} for n in range(20_000)]
    converted = convert_responses_request({"model": "m", "input": "x", "tools": tools})
    sent = converted.params["tools"]
    assert [tool["function"]["name"] for tool in sent] == [f"tool_{n}" for n in range(20_000)]


def test_a_large_input_converts_off_the_loop_and_a_larger_one_is_refused_at_once(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    # 100,000 items: over a second of conversion, which must not hold the event loop
    roomy = "max_input_items = 100000\nmax_conversation_items = 100000\n"
    items = [{"role": "user", "content": f"item {n}"} for n in range(100_000)]
    with served(tmp_path, "--store", "memory", server=roomy) as (gateway, upstream_process):
        with HealthWatch(gateway.url) as health:
            answer, took = post_encoded(gateway.url, {"model": "m", "input": items, "store": False})
        assert answer.status_code == 200 and upstream_process.stats()["last_items"] == 100_000
    assert health.worst < 0.5, (health.worst, took)
    config = load_config(upstream=upstream.url, store="memory")
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


def peak_rss(pid: int) -> int:
    """The most memory ``pid`` has held (``VmHWM``, bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_30_mib_of_tiny_items_are_refused_before_parsing(tmp_path: Path) -> None:
    """Parsed, these ten million items took 1.5 GB and 9.7 s (and /health 0.87 s) before their 413."""
    items = b",".join([b"{}"] * 10_000_000)  # 30 MB
    with served(tmp_path, "--store", "memory") as (gateway, upstream):
        before = peak_rss(gateway.pid)
        headers = {**CLIENT_AUTH, "content-type": "application/json"}
        body = b'{"model": "m", "input": [' + items + b"]}"
        with HealthWatch(gateway.url) as health:
            started = time.perf_counter()
            answer = httpx.post(f"{gateway.url}/v1/responses", content=body, headers=headers, timeout=120)
            took = time.perf_counter() - started
            conversation = httpx.post(
                f"{gateway.url}/v1/conversations",
                content=b'{"items": [' + items + b"]}",
                headers=headers,
                timeout=120,
            )
        grown = peak_rss(gateway.pid) - before
        assert upstream.stats()["requests"] == 0
    error = answer.json()["error"]
    assert answer.status_code == 413 and error["code"] == "request_too_large"
    assert "max_json_values" in error["message"] and "2,000,000" in error["message"]
    assert conversation.status_code == 413 and "max_json_values" in conversation.json()["error"]["message"]
    assert grown < 300 * 1024 * 1024, (grown, took)  # the body itself, a few times over: not its objects
    assert health.worst < 0.5, (health.worst, took)


def test_the_value_cap_counts_values_not_commas_in_text(upstream: FakeUpstream) -> None:
    config = dataclasses.replace(load_config(upstream=upstream.url, store="memory"), max_json_values=1_000)
    with running(Gateway(config)) as gateway:
        prose = "words, [more words], {and more}, " * 2_000  # 6,000 commas and brackets, all in a string
        assert post(gateway, {"model": "m", "input": prose, "store": False}).status_code == 200
        items = [{"role": "user", "content": "x"}] * 400  # 1,201 values
        calls = len(upstream.seen)
        refused = post(gateway, {"model": "m", "input": items})
        assert refused.status_code == 413 and "1,000 JSON values" in refused.json()["error"]["message"]
        assert len(upstream.seen) == calls
        sdk = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="sk-bounds-client", max_retries=0)
        with sdk, sdk.responses.connect() as connection:  # a WebSocket message: an error event, then on
            connection.send_raw(
                orjson.dumps({"type": "response.create", "model": "m", "input": items}).decode()
            )  # type: ignore[attr-defined]
            error = validate_server_event(connection.recv_bytes())
            assert error["type"] == "error" and error["status"] == 413
            assert "max_json_values" in error["error"]["message"]
            connection.response.create(model="m", input="still here")
            assert read_response(connection).check().types[-1] == "response.completed"


def test_a_stored_item_named_many_times_is_refused_before_it_is_multiplied(upstream: FakeUpstream) -> None:
    """An ``item_reference`` is a few bytes; the item it names may be megabytes: 20,000 references to one
    stored item were 20,000 copies to serialize and send upstream.  Each time it is named counts."""
    config = dataclasses.replace(
        load_config(upstream=upstream.url, store="memory"), max_conversation_bytes=1_000_000
    )
    with running(Gateway(config)) as gateway:
        sdk = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="sk-bounds-client", max_retries=0)
        with sdk:
            kept = sdk.responses.create(model="m", input=[{"role": "user", "content": "x" * 200_000}])
            [item] = sdk.responses.input_items.list(kept.id).data
            named = [{"type": "item_reference", "id": item.id}]
            calls = len(upstream.seen)
            for store in (True, False):
                with pytest.raises(openai.APIStatusError) as refused:
                    sdk.responses.create(model="m", input=named * 10, store=store)  # type: ignore[arg-type]
                error: Any = refused.value.body
                assert refused.value.status_code == 413 and error["code"] == "conversation_too_large"
                assert error["param"] == "input" and "max_conversation_bytes" in error["message"]
            conversation = sdk.conversations.create()
            with pytest.raises(openai.APIStatusError) as added:
                sdk.conversations.items.create(conversation.id, items=named * 10)  # type: ignore[arg-type]
            assert added.value.status_code == 413
            assert len(upstream.seen) == calls
            assert sdk.responses.create(model="m", input=named * 4, store=False).status == "completed"  # type: ignore[arg-type]
            assert [len(m["content"]) for m in upstream.last().body["messages"]] == [200_000] * 4


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


def test_an_800000_item_conversation_is_refused_before_it_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "big.sqlite3"
    owner = _owner_of(path, CLIENT_AUTH["authorization"])
    last = _fill(path, owner, turns=8, items=100_000, text="x")
    with served(tmp_path, "--store", f"sqlite:{path}") as (gateway, upstream):
        with HealthWatch(gateway.url) as health:
            answer, took = post_encoded(
                gateway.url, {"model": "m", "input": "and now?", "previous_response_id": last}
            )
        error = answer.json()["error"]
        assert answer.status_code == 413 and error["code"] == "conversation_too_large"
        assert error["param"] == "previous_response_id" and "max_conversation_items" in error["message"]
        assert "800,001 items" in error["message"]
        assert took < 1.0 and health.worst < 0.5, (took, health.worst)
        assert upstream.stats()["requests"] == 0


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
