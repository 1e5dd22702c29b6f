"""Responses state through the gateway, on every store backend, with the official SDK as the client.

``store``, ``previous_response_id`` (the chat upstream receives the whole conversation), retrieval,
input items, delete, forks, background runs and cancel; the SQLite gateway restarted between turns; two
gateway processes sharing one Redis.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from openai.types.responses import Response
from support.corpus import CORPUS, SKIP_REASON
from support.fake_upstream import FakeUpstream
from support.gateway import RunningGateway, ServeProcess
from support.net import free_port
from support.sdk import without_parsed
from support.state_client import sent_messages
from support.store_helpers import Backend

from translator.gateway.app import Gateway
from translator.gateway.config import load_config


def gateway_store(backend: Backend) -> str:
    return f"{backend.spec}?key_prefix={backend.prefix}" if backend.prefix else backend.spec


@pytest.fixture
def gateway(store_backend: Backend, upstream: FakeUpstream) -> Iterator[RunningGateway]:
    config = load_config(upstream=upstream.url, store=gateway_store(store_backend))
    running = RunningGateway(Gateway(config)).start()
    yield running
    running.stop()


_CLIENTS: list[openai.OpenAI] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    """The clients a test made are closed when it ends (not left to the garbage collector, whose order
    may finalize a pooled socket before the client that would close it)."""
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()


def client_of(gateway: RunningGateway | str) -> openai.OpenAI:
    url = gateway if isinstance(gateway, str) else gateway.url
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-test", max_retries=0)
    _CLIENTS.append(client)
    return client


def test_continuing_sends_the_whole_conversation_upstream(
    gateway: RunningGateway, upstream: FakeUpstream
) -> None:
    client = client_of(gateway)
    first = client.responses.create(model="m1", input="first question", instructions="be brief")
    assert first.store is True
    second = client.responses.create(model="m2", input="second question", previous_response_id=first.id)
    assert second.previous_response_id == first.id
    # instructions are not inherited; the earlier turn's input and output are
    assert sent_messages(upstream) == [
        ("user", "first question"),
        ("assistant", "Hello from m1"),
        ("user", "second question"),
    ]
    with client.responses.stream(
        model="m3", input=[{"role": "user", "content": "third"}], previous_response_id=second.id
    ) as stream:
        third = stream.get_final_response()
    assert [m for m in sent_messages(upstream)] == [
        ("user", "first question"),
        ("assistant", "Hello from m1"),
        ("user", "second question"),
        ("assistant", "Hello from m2"),
        ("user", "third"),
    ]
    retrieved = client.responses.retrieve(third.id)
    assert isinstance(retrieved, Response) and retrieved.output_text == "Hello from m3"
    assert retrieved.model_dump(exclude_unset=True) == without_parsed(third.model_dump(exclude_unset=True))
    items = client.responses.input_items.list(third.id, order="asc")
    assert [item.type for item in items.data] == ["message"] * 5
    texts = [part.text for item in items.data for part in item.content]  # type: ignore[union-attr]
    assert texts == ["first question", "Hello from m1", "second question", "Hello from m2", "third"]
    page = client.responses.input_items.list(third.id, limit=2)
    assert [part.text for item in page.data for part in item.content] == ["third", "Hello from m2"]  # type: ignore[union-attr]
    assert page.has_more is True


def test_store_false_unknown_ids_and_delete(gateway: RunningGateway) -> None:
    client = client_of(gateway)
    unstored = client.responses.create(model="m", input="x", store=False)
    assert unstored.store is False
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(unstored.id)
    with pytest.raises(openai.NotFoundError) as missing:
        client.responses.create(model="m", input="x", previous_response_id=unstored.id)
    assert missing.value.code == "previous_response_not_found"
    assert missing.value.body["param"] == "previous_response_id"
    kept = client.responses.create(model="m", input="keep me")
    child = client.responses.create(model="m", input="child", previous_response_id=kept.id)
    deleted = client.responses.delete(kept.id)
    assert deleted is None or getattr(deleted, "deleted", True)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(kept.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(kept.id)
    # the child continued from it before the delete and keeps its conversation
    assert [i.type for i in client.responses.input_items.list(child.id)] == ["message"] * 3
    raw = httpx.get(
        f"{gateway.url}/v1/responses/{child.id}/input_items?limit=abc",
        headers={"authorization": "Bearer sk-test"},
    )
    assert raw.status_code == 400 and raw.json()["error"]["param"] == "limit"


def test_two_continuations_of_one_response_fork(gateway: RunningGateway, upstream: FakeUpstream) -> None:
    client = client_of(gateway)
    root = client.responses.create(model="root", input="root question")
    results: dict[str, Response] = {}

    def branch(name: str) -> None:
        results[name] = client_of(gateway).responses.create(
            model=name, input=f"{name} question", previous_response_id=root.id
        )

    threads = [threading.Thread(target=branch, args=(name,)) for name in ("left", "right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for name in ("left", "right"):
        texts = [
            p.text
            for i in client.responses.input_items.list(results[name].id, order="asc").data
            for p in i.content
        ]  # type: ignore[union-attr]
        assert texts == ["root question", "Hello from root", f"{name} question"]


@pytest.mark.skipif(not CORPUS.is_dir(), reason=SKIP_REASON)
def test_background_response_runs_and_can_be_cancelled(gateway: RunningGateway) -> None:
    client = client_of(gateway)
    queued = client.responses.create(model="replay:chat/openai__text_plain.sse", input="x", background=True)
    assert queued.status in ("queued", "in_progress") and queued.background is True
    deadline = time.monotonic() + 10
    while (current := client.responses.retrieve(queued.id)).status in ("queued", "in_progress"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert current.status == "completed" and current.output_text
    slow = client.responses.create(
        model="replay:chat/openai__text_long_include_usage.sse@200", input="x", background=True
    )
    time.sleep(0.3)
    cancelled = client.responses.cancel(slow.id)
    assert cancelled.status == "cancelled"
    time.sleep(0.6)  # the run notices within its poll interval and stops
    assert client.responses.retrieve(slow.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError):
        client.responses.cancel(client.responses.create(model="m", input="x").id)
    with pytest.raises(openai.BadRequestError):  # (background with stream: test_gateway_background_stream.py)
        client.responses.create(model="m", input="x", background=True, store=False)


# -- processes: restart, and two instances on one Redis ------------------------------------------------------


def test_sqlite_state_survives_a_restart(tmp_path: Path, upstream: FakeUpstream) -> None:
    store = f"sqlite:{tmp_path / 'state.sqlite3'}"
    first = ServeProcess("--upstream", upstream.url, "--store", store)
    try:
        turn = client_of(first.url).responses.create(model="before", input="before the restart")
    finally:
        first.stop()
    second = ServeProcess("--upstream", upstream.url, "--store", store)
    try:
        client = client_of(second.url)
        assert client.responses.retrieve(turn.id).output_text == "Hello from before"
        client.responses.create(model="after", input="after the restart", previous_response_id=turn.id)
    finally:
        second.stop()
    assert sent_messages(upstream) == [
        ("user", "before the restart"),
        ("assistant", "Hello from before"),
        ("user", "after the restart"),
    ]


def test_two_gateway_processes_share_one_redis(upstream: FakeUpstream) -> None:
    from support.store_helpers import PREFIXES, REDIS_URL, RUN_PREFIX, delete_redis_keys, redis_unavailable

    reason = redis_unavailable()
    if reason:
        pytest.skip(reason)
    prefix = f"{RUN_PREFIX}{next(PREFIXES)}:"
    store = f"{REDIS_URL}?key_prefix={prefix}"
    serve = ("--upstream", upstream.url, "--store", store)
    one, two = ServeProcess(*serve), ServeProcess(*serve)
    try:
        first = client_of(one.url).responses.create(model="one", input="asked of one")
        second = client_of(two.url).responses.create(
            model="two", input="asked of two", previous_response_id=first.id
        )
        assert sent_messages(upstream) == [
            ("user", "asked of one"),
            ("assistant", "Hello from one"),
            ("user", "asked of two"),
        ]
        assert client_of(one.url).responses.retrieve(second.id).output_text == "Hello from two"
        listed = client_of(one.url).responses.input_items.list(second.id)
        assert len(listed.data) == 3
        client_of(two.url).responses.delete(first.id)
        with pytest.raises(openai.NotFoundError):
            client_of(one.url).responses.retrieve(first.id)
    finally:
        one.stop()
        two.stop()
        delete_redis_keys(prefix)


def test_a_store_that_cannot_be_reached_fails_the_start(upstream: FakeUpstream) -> None:
    port = free_port()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "translator",
            "serve",
            "--upstream",
            upstream.url,
            "--port",
            str(free_port()),
            "--store",
            f"redis://127.0.0.1:{port}/0",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "response store" in result.stderr and str(port) in result.stderr
