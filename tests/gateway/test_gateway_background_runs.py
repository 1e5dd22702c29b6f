"""Background runs, probed as a hostile client would: cancel closes the upstream request at once (also while
the upstream is silent, and from another instance), one owner cannot take the upstream's connection pool,
and a run that ends while its Redis is away still writes its end.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from support.fake_upstream import FakeUpstream, Seen
from support.gateway import RunningGateway, running
from support.polling import wait
from support.store_helpers import PREFIXES, REDIS_URL, RUN_PREFIX, delete_redis_keys, redis_unavailable
from support.tcp_proxy import TcpProxy

from translator.gateway.app import Gateway
from translator.gateway.config import GatewayConfig, load_config

KEY_A, KEY_B = "sk-background-owner-a", "sk-background-owner-b"


def sdk(gateway: RunningGateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)


def seen_for(upstream: FakeUpstream, model: str, count: int = 1) -> list[Seen]:
    """The upstream requests for ``model`` once there are ``count`` of them."""

    def found() -> list[Seen] | None:
        hits = [seen for seen in list(upstream.seen) if seen.body.get("model") == model]
        return hits if len(hits) >= count else None

    hits: list[Seen] = wait(found, 10, f"{count} upstream requests for {model}")
    return hits


def config_for(upstream: FakeUpstream, store: str = "memory", **fields: Any) -> GatewayConfig:
    config = load_config(upstream=upstream.url, store=store)
    return dataclasses.replace(config, **fields)


def test_cancel_closes_a_silent_upstream_request_at_once(upstream: FakeUpstream) -> None:
    with running(Gateway(config_for(upstream))) as gateway:
        client = sdk(gateway, KEY_A)
        queued = client.responses.create(model="headers-then-stall", input="x", background=True)
        [seen] = seen_for(upstream, "headers-then-stall")  # answered with headers, then silent
        wait(lambda: client.responses.retrieve(queued.id).status == "in_progress", 5, "in progress")
        asked = time.monotonic()
        assert client.responses.cancel(queued.id).status == "cancelled"
        wait(lambda: seen.closed_at is not None, 2, "the upstream request closed")
        assert seen.closed_at is not None and seen.closed_at - asked < 1.0  # a stalled upstream: never
        assert client.responses.retrieve(queued.id).status == "cancelled"
        client.close()


def test_a_cancel_asked_of_another_instance_closes_the_upstream_request(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    store = f"sqlite:{tmp_path / 'shared.sqlite3'}"
    with (
        running(Gateway(config_for(upstream, store))) as runner,
        running(Gateway(config_for(upstream, store))) as other,
    ):
        model = "slow-headers:30000"  # the upstream has not even answered
        queued = sdk(runner, KEY_A).responses.create(model=model, input="x", background=True)
        [seen] = seen_for(upstream, model)
        asked = time.monotonic()
        assert sdk(other, KEY_A).responses.cancel(queued.id).status == "cancelled"
        wait(lambda: seen.closed_at is not None, 3, "the upstream request closed")
        assert seen.closed_at is not None and seen.closed_at - asked < 1.0  # the watcher polls every 0.25 s
        assert sdk(runner, KEY_A).responses.retrieve(queued.id).status == "cancelled"


def test_one_owner_cannot_take_the_upstream_pool_and_cancel_frees_it(upstream: FakeUpstream) -> None:
    config = config_for(upstream, max_background_per_owner=3)
    small_pool = dataclasses.replace(config.upstreams["default"], max_connections=4, connect_timeout=1.0)
    config = dataclasses.replace(config, upstreams={"default": small_pool})
    gateway_app = Gateway(config)
    pool = gateway_app.upstreams["default"]
    with running(gateway_app) as gateway:
        alice, bob = sdk(gateway, KEY_A), sdk(gateway, KEY_B)
        model = "slow-headers:30000"
        runs = [alice.responses.create(model=model, input="x", background=True) for _ in range(3)]
        with pytest.raises(openai.RateLimitError) as capped:
            alice.responses.create(model=model, input="x", background=True)
        assert "max_background_per_owner" in capped.value.message
        seen_for(upstream, model, 3)
        assert pool.connection_counts()[0] == 3
        assert bob.responses.create(model="m", input="still served").status == "completed"
        freed = time.monotonic()
        for run in runs:
            assert alice.responses.cancel(run.id).status == "cancelled"
        wait(lambda: pool.connection_counts()[0] == 0, 2, "the pool's connections freed")
        assert time.monotonic() - freed < 1.0
        wait(
            lambda: gateway_app.state.runs.running(gateway_app.endpoints.authorize(_scope(KEY_A))) == 0, 2, ""
        )
        again = alice.responses.create(model="m", input="x", background=True)  # room again
        wait(lambda: alice.responses.retrieve(again.id).status == "completed", 5, "completed")


def _scope(key: str) -> dict[str, Any]:
    return {"headers": [(b"authorization", f"Bearer {key}".encode())]}


@pytest.fixture
def redis_behind_a_proxy() -> Iterator[tuple[TcpProxy, str, str]]:
    reason = redis_unavailable()
    if reason:
        pytest.skip(reason)
    port = int(REDIS_URL.rsplit(":", 1)[1].split("/")[0])
    proxy = TcpProxy(port).start()
    prefix = f"{RUN_PREFIX}{next(PREFIXES)}:"
    try:
        yield proxy, f"redis://127.0.0.1:{proxy.port}/0?key_prefix={prefix}", prefix
    finally:
        proxy.stop()
        delete_redis_keys(prefix)


def test_a_run_that_ends_while_redis_is_away_writes_its_end_when_it_is_back(
    upstream: FakeUpstream, redis_behind_a_proxy: tuple[TcpProxy, str, str]
) -> None:
    proxy, store, _ = redis_behind_a_proxy
    with running(Gateway(config_for(upstream, store))) as gateway:
        client = sdk(gateway, KEY_A)
        queued = client.responses.create(model="paced-10-80", input="x", background=True)
        wait(lambda: client.responses.retrieve(queued.id).status == "in_progress", 5, "in progress")
        proxy.cut()  # Redis is away while the run goes on, and when it ends (after about 0.8 s)
        time.sleep(2.0)
        proxy.restore()

        def finished() -> str | None:
            try:
                status = client.responses.retrieve(queued.id).status
            except openai.APIStatusError:  # (a connection of the pool cut meanwhile)
                return None
            return status if status not in ("queued", "in_progress") else None

        assert wait(finished, 15, "the run's end written") == "completed"
        done = client.responses.retrieve(queued.id)
        assert done.output_text
        events = list(client.responses.retrieve(queued.id, stream=True, starting_after=0))
        numbers = [event.sequence_number for event in events]
        assert numbers == list(range(1, len(numbers) + 1))  # the log kept every event, in order
        assert events[-1].type == "response.completed"
        client.close()
