"""Background responses streamed and resumed: ``background: true, stream: true`` and
``GET /v1/responses/{id}?stream=true&starting_after=N``, on every store backend, with the official SDK;
two ``translator serve`` processes on one Redis (and one SQLite file) for a resume on another instance.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from support.corpus import CORPUS, SKIP_REASON
from support.fake_upstream import FakeUpstream
from support.gateway import RunningGateway, ServeProcess
from support.sdk import accumulate_with_sdk, validate_responses_events, without_parsed
from support.state_client import AUTH, client_of, gateway_store
from support.store_helpers import (
    PREFIXES,
    REDIS_URL,
    RUN_PREFIX,
    Backend,
    delete_redis_keys,
    redis_unavailable,
)

from translator.gateway.app import Gateway
from translator.gateway.config import load_config

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=SKIP_REASON)

#: A long recorded Chat stream, one frame every 20 ms: long enough to leave in the middle of.
SLOW = "replay:chat/openai__text_long_include_usage.sse@8"
TERMINAL = ("response.completed", "response.incomplete", "response.failed")


@pytest.fixture
def gateway(store_backend: Backend, upstream: FakeUpstream) -> Iterator[RunningGateway]:
    config = load_config(upstream=upstream.url, store=gateway_store(store_backend))
    running = RunningGateway(Gateway(config)).start()
    yield running
    running.stop()


@pytest.fixture
def client(gateway: RunningGateway) -> Iterator[openai.OpenAI]:
    with client_of(gateway) as sdk:
        yield sdk


def dumped(events: list[Any]) -> list[dict[str, Any]]:
    return [without_parsed(event.model_dump(exclude_unset=True)) for event in events]


def finished(client: openai.OpenAI, response_id: str) -> Any:
    deadline = time.monotonic() + 20
    while (current := client.responses.retrieve(response_id)).status in ("queued", "in_progress"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return current


def check_whole(events: list[dict[str, Any]], stored: Any) -> None:
    """A stream numbered from 0 to its terminal event, accepted by the SDK, ending in the stored one."""
    validate_responses_events(events)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[-1]["type"] in TERMINAL
    final = accumulate_with_sdk(events)
    assert final is not None
    assert without_parsed(final.model_dump(exclude_unset=True)) == stored.model_dump(exclude_unset=True)


def test_background_stream_then_resume_after_a_drop(client: openai.OpenAI, gateway: RunningGateway) -> None:
    received: list[Any] = []
    with client.responses.create(model=SLOW, input="x", background=True, stream=True) as stream:
        for event in stream:
            received.append(event)
            if len(received) == 6:
                break  # the client drops mid-stream; the run goes on
    response_id = received[0].response.id
    assert received[0].response.background is True
    last_seen = received[-1].sequence_number
    resumed = list(client.responses.retrieve(response_id, stream=True, starting_after=last_seen))
    assert resumed and resumed[0].sequence_number == last_seen + 1
    stored = finished(client, response_id)
    assert stored.status == "completed" and stored.output_text
    check_whole(dumped(received) + dumped(resumed), stored)
    # from the start, once finished: every event again, the same
    again = dumped(list(client.responses.retrieve(response_id, stream=True)))
    assert again == dumped(received) + dumped(resumed)
    # the SDK's stream helper resumes too
    with client.responses.stream(response_id=response_id, starting_after=last_seen) as helper:
        assert [e.sequence_number for e in helper][-1] == again[-1]["sequence_number"]


def test_a_background_response_without_stream_can_be_streamed(client: openai.OpenAI) -> None:
    queued = client.responses.create(model=SLOW, input="x", background=True)
    live = dumped(list(client.responses.retrieve(queued.id, stream=True)))  # joins while it runs
    stored = finished(client, queued.id)
    check_whole(live, stored)
    assert live[0]["response"]["id"] == queued.id


def test_streams_of_other_responses_and_bad_starting_after(
    client: openai.OpenAI, gateway: RunningGateway
) -> None:
    plain = client.responses.create(model="m", input="x")
    with pytest.raises(openai.BadRequestError) as refused:
        list(client.responses.retrieve(plain.id, stream=True))
    assert refused.value.body["param"] == "stream"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        list(client.responses.retrieve("resp_unknown", stream=True))
    done = client.responses.create(model="m", input="x", background=True)
    stored = finished(client, done.id)
    events = dumped(list(client.responses.retrieve(done.id, stream=True)))
    check_whole(events, stored)
    last = events[-1]["sequence_number"]
    assert list(client.responses.retrieve(done.id, stream=True, starting_after=last)) == []
    with pytest.raises(openai.BadRequestError) as beyond:
        list(client.responses.retrieve(done.id, stream=True, starting_after=last + 1))
    assert beyond.value.body["param"] == "starting_after"  # type: ignore[index]
    raw = httpx.get(f"{gateway.url}/v1/responses/{done.id}?stream=true&starting_after=x", headers=AUTH)
    assert raw.status_code == 400 and raw.json()["error"]["param"] == "starting_after"


def test_a_cancelled_background_stream_ends(client: openai.OpenAI) -> None:
    seen: list[Any] = []
    with client.responses.create(
        model="replay:chat/openai__text_long_include_usage.sse@200", input="x", background=True, stream=True
    ) as stream:
        for event in stream:
            seen.append(event)
            if len(seen) == 3:
                client.responses.cancel(
                    event.response.id if hasattr(event, "response") else seen[0].response.id
                )
    assert seen[-1].type not in TERMINAL  # the stream ended after its last event, without a terminal one
    assert client.responses.retrieve(seen[0].response.id).status == "cancelled"


def test_a_run_that_fails_before_answering_ends_its_stream_with_failed(client: openai.OpenAI) -> None:
    with client.responses.create(
        model="status:500:=" + '{"error": {"message": "boom", "type": "server_error"}}',
        input="x",
        background=True,
        stream=True,
    ) as stream:
        events = list(stream)
    assert [e.type for e in events] == ["response.failed"]
    assert events[0].response.status == "failed" and "boom" in events[0].response.error.message  # type: ignore[union-attr]


# -- another instance -------------------------------------------------------------------------------


def shared_stores(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:{tmp_path / 'shared.sqlite3'}"
    if redis_unavailable() is None:
        yield f"{REDIS_URL}?key_prefix={RUN_PREFIX}{next(PREFIXES)}:"


def test_resume_on_another_instance(upstream: FakeUpstream, tmp_path: Path) -> None:
    for store in shared_stores(tmp_path):
        one = ServeProcess("--upstream", upstream.url, "--store", store)
        two = ServeProcess("--upstream", upstream.url, "--store", store)
        try:
            with client_of(one.url) as first, client_of(two.url) as second:
                received: list[Any] = []
                with first.responses.create(model=SLOW, input="x", background=True, stream=True) as stream:
                    for event in stream:
                        received.append(event)
                        if len(received) == 4:
                            break
                response_id = received[0].response.id
                resumed = list(second.responses.retrieve(response_id, stream=True, starting_after=3))
                check_whole(dumped(received) + dumped(resumed), finished(second, response_id))
        finally:
            one.stop()
            two.stop()
            if store.startswith("redis"):
                delete_redis_keys(store.split("key_prefix=")[1])
