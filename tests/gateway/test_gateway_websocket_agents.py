"""The Agents SDK (openai-agents) with its websocket transport through the gateway: a run with a function
tool, both model calls on the socket (the second continuing with previous_response_id)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator

import pytest
from support.fake_upstream import FakeUpstream
from support.gateway import RunningGateway

from translator.gateway.app import Gateway
from translator.gateway.config import load_config


@pytest.fixture(scope="module")
def gateway(upstream: FakeUpstream) -> Iterator[RunningGateway]:
    running = RunningGateway(Gateway(load_config(upstream=upstream.url, store="memory"))).start()
    yield running
    running.stop()


def test_an_agent_run_with_a_function_tool_over_the_websocket_transport(
    gateway: RunningGateway, upstream: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    from agents import (
        Agent,
        OpenAIProvider,
        RunConfig,
        Runner,
        function_tool,
        set_default_openai_responses_transport,
        set_tracing_disabled,
    )
    from openai import AsyncOpenAI

    called: list[str] = []

    @function_tool
    def get_weather() -> str:
        """The weather here."""
        called.append("get_weather")
        return "sunny, 21 C"

    async def run() -> str:
        set_tracing_disabled(True)
        set_default_openai_responses_transport("websocket")
        try:
            client = AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key="sk-test", max_retries=0)
            provider = OpenAIProvider(openai_client=client, use_responses=True)
            agent = Agent(
                name="weather",
                instructions="use the tool",
                model="think-say-call",
                tools=[get_weather],
            )
            try:
                result = await Runner.run(agent, "weather?", run_config=RunConfig(model_provider=provider))
            finally:
                await provider.aclose()  # closes the websocket it kept open
                await client.close()
            return str(result.final_output)
        finally:
            set_default_openai_responses_transport("http")

    with caplog.at_level(logging.INFO, logger="translator.gateway"):
        output = asyncio.run(run())
    assert called == ["get_weather"]
    assert output == "Done: sunny, 21 C"
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith("{")]
    assert [line["transport"] for line in lines] == ["websocket", "websocket"]
    assert all(line["status"] == 200 and line["error"] is None for line in lines)
    roles = [m["role"] for m in upstream.last().body["messages"]]
    assert roles == ["system", "user", "assistant", "tool"]
