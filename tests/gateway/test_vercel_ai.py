"""The Vercel AI SDK (``ai`` 6 with ``@ai-sdk/openai``, default settings) against the gateway over a chat
upstream: it sends earlier output back as ``item_reference`` items, and the upstream must receive what
they name (the earlier assistant text, the reasoning, the tool call), on every store backend.

What the SDK sent is recorded by a pass-through ASGI wrapper around the real gateway (it only copies the
request bodies), so the tests also check that references were indeed sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from support.fake_upstream import FakeUpstream
from support.gateway import RunningGateway
from support.state_client import gateway_store, sent_messages
from support.store_helpers import Backend
from support.vercel_ai import require_vercel_ai, run_scenario

from translator.gateway.app import Gateway
from translator.gateway.config import load_config


class Recording:
    """The gateway app, with the body of every ``POST /v1/responses`` copied aside as it passes."""

    def __init__(self, app: Gateway) -> None:
        self.app = app
        self.bodies: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/responses":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def copying() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    self.bodies.append(orjson.loads(b"".join(chunks)))
            return message

        await self.app(scope, copying, send)


@pytest.fixture
def gateway(store_backend: Backend, upstream: FakeUpstream) -> Iterator[tuple[RunningGateway, Recording]]:
    require_vercel_ai()
    recording = Recording(Gateway(load_config(upstream=upstream.url, store=gateway_store(store_backend))))
    running = RunningGateway(recording).start()
    yield running, recording
    running.stop()


def references(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body.get("input") or [] if item.get("type") == "item_reference"]


def test_two_turns_by_reference(gateway: tuple[RunningGateway, Recording], upstream: FakeUpstream) -> None:
    running, recording = gateway
    answer = run_scenario("two-turns", f"{running.url}/v1", "m1")
    assert answer["first"] == "Hello from m1"
    second = recording.bodies[-1]
    assert len(references(second)) == 1  # the earlier answer went back as a reference
    assert sent_messages(upstream) == [
        ("user", "My name is Ada."),
        ("assistant", "Hello from m1"),
        ("user", "What is my name?"),
    ]


def test_a_two_step_tool_loop_by_reference(
    gateway: tuple[RunningGateway, Recording], upstream: FakeUpstream
) -> None:
    running, recording = gateway
    answer = run_scenario("tool-loop", f"{running.url}/v1", "think-say-call")
    assert answer["steps"][0] == {
        "text": "I will look it up.",
        "reasoning": "Let me think.",
        "calls": ["lookup"],
    }
    assert answer["text"] == "Done: Ada: a mathematician"
    assert len(references(recording.bodies[-1])) >= 2  # reasoning, text and call by reference
    messages = upstream.last().body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool"]
    assert messages[1]["reasoning_content"] == "Let me think."
    assert messages[1]["content"] == "I will look it up."
    assert [c["function"]["name"] for c in messages[1]["tool_calls"]] == ["lookup"]
    assert messages[2]["content"] == "Ada: a mathematician"
