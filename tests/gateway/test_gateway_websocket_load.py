"""The Responses WebSocket under load: 500 sockets at once on one ``translator serve`` worker, each driven
by the async SDK's ``responses.connect()``, two responses per socket (the second continuing the first);
then the memory of 500 open idle sockets, and every socket and upstream stream gone after they close.
Measured from ``/proc`` of the gateway process."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from support.fake_upstream import UpstreamProcess
from support.gateway import ServeProcess
from support.websocket import TERMINAL, validate_server_event

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to measure the gateway process")

SOCKETS = 500


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamProcess]:
    process = UpstreamProcess()
    yield process
    process.kill()


@pytest.fixture(scope="module")
def gateway(upstream: UpstreamProcess) -> Iterator[ServeProcess]:
    process = ServeProcess("--upstream", upstream.url, "--store", "memory", timeout=60)
    yield process
    process.stop()


async def respond(connection: Any, **create: Any) -> dict[str, Any]:
    await connection.response.create(**create)
    numbers = []
    while True:
        event = validate_server_event(await connection.recv_bytes())
        numbers.append(event["sequence_number"])
        if event["type"] in TERMINAL:
            assert numbers == list(range(len(numbers)))
            return dict(event["response"])


def test_500_sockets_at_once_each_two_turns_then_idle_memory_and_nothing_left(
    gateway: ServeProcess, upstream: UpstreamProcess
) -> None:
    async def run() -> tuple[int, int, list[str]]:
        client = openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key="sk-test", max_retries=0)
        before = gateway.rss()
        managers = [client.responses.connect() for _ in range(SOCKETS)]
        connections = await asyncio.gather(*(manager.__aenter__() for manager in managers))

        async def two_turns(connection: Any) -> str:
            first = await respond(connection, model="fast-20", input="one")
            second = await respond(connection, model="fast-20", input="two", previous_response_id=first["id"])
            assert second["previous_response_id"] == first["id"]
            return str(second["status"])

        statuses = await asyncio.gather(*(two_turns(c) for c in connections))
        await asyncio.sleep(1)
        open_rss = gateway.rss()
        for manager in managers:
            await manager.__aexit__(None, None, None)
        await client.close()
        return before, open_rss, statuses

    fds_before = gateway.fds()
    before, open_rss, statuses = asyncio.run(run())
    assert statuses == ["completed"] * SOCKETS
    per_socket = (open_rss - before) / SOCKETS
    print(f"\nRSS per open socket after two responses: {per_socket / 1024:.1f} KiB")
    assert per_socket < 256 * 1024  # each keeps its latest conversation; bounded, not growing per event

    def client_side() -> int:  # descriptors but the upstream pool's kept-alive connections
        return gateway.fds() - gateway.connections_to(upstream.port)

    deadline = time.monotonic() + 10
    while client_side() > fds_before + 5 and time.monotonic() < deadline:  # every socket closed
        time.sleep(0.1)
    assert client_side() <= fds_before + 5
    assert upstream.stats()["open_streams"] == 0
