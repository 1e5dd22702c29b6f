"""``item_reference`` items over a chat upstream: resolved from the gateway's store, on every backend.

The official SDK is the client; the fake chat upstream records what it received, so each test checks
that the referenced items (assistant text, reasoning, tool calls, earlier input) reached it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseReasoningItem
from support.fake_upstream import FakeUpstream
from support.gateway import RunningGateway
from support.state_client import AUTH, client_of, gateway_store, sent_messages
from support.store_helpers import Backend

from translator.gateway.app import Gateway
from translator.gateway.config import load_config

LOOKUP = {
    "type": "function",
    "name": "lookup",
    "description": "Look a name up.",
    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
}


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


def ref(item_id: str) -> dict[str, Any]:
    return {"type": "item_reference", "id": item_id}


def test_a_reference_to_earlier_output_sends_it_upstream(
    client: openai.OpenAI, gateway: RunningGateway, upstream: FakeUpstream
) -> None:
    first = client.responses.create(model="m1", input="My name is Ada.")
    answer = first.output[0]
    assert isinstance(answer, ResponseOutputMessage)
    second = client.responses.create(
        model="m2",
        input=[
            {"role": "user", "content": "My name is Ada."},
            ref(answer.id),  # type: ignore[list-item]
            {"role": "user", "content": "What is my name?"},
        ],
    )
    assert sent_messages(upstream) == [
        ("user", "My name is Ada."),
        ("assistant", "Hello from m1"),
        ("user", "What is my name?"),
    ]
    # the stored input holds the item itself, not the reference
    listed = client.responses.input_items.list(second.id, order="asc").data
    assert [item.id for item in listed][1] == answer.id
    assert [item.type for item in listed] == ["message"] * 3
    # a reference to an earlier *input* item, streaming this time
    first_input = client.responses.input_items.list(first.id).data[0]
    with client.responses.stream(model="m3", input=[ref(first_input.id), ref(answer.id)]) as stream:  # type: ignore[list-item]
        stream.get_final_response()
    assert sent_messages(upstream) == [("user", "My name is Ada."), ("assistant", "Hello from m1")]


def test_a_tool_loop_by_reference_keeps_reasoning_text_and_call(
    client: openai.OpenAI, gateway: RunningGateway, upstream: FakeUpstream
) -> None:
    step = client.responses.create(model="think-say-call", input="Who is Ada?", tools=[LOOKUP])  # type: ignore[list-item]
    reasoning, message, call = step.output
    assert isinstance(reasoning, ResponseReasoningItem) and isinstance(message, ResponseOutputMessage)
    assert isinstance(call, ResponseFunctionToolCall) and call.name == "lookup"
    client.responses.create(
        model="think-say-call",
        tools=[LOOKUP],  # type: ignore[list-item]
        input=[
            {"role": "user", "content": "Who is Ada?"},
            ref(reasoning.id),  # type: ignore[list-item]
            ref(message.id),  # type: ignore[list-item]
            ref(call.id),  # type: ignore[list-item]
            {"type": "function_call_output", "call_id": call.call_id, "output": "a mathematician"},
        ],
    )
    messages = upstream.last().body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool"]
    assistant = messages[1]
    assert assistant["reasoning_content"] == "Let me think."
    assert assistant["content"] == "I will look it up."
    assert [c["function"]["name"] for c in assistant["tool_calls"]] == ["lookup"]
    assert messages[2] == {"role": "tool", "tool_call_id": call.call_id, "content": "a mathematician"}


def test_unknown_and_malformed_references(
    client: openai.OpenAI, gateway: RunningGateway, upstream: FakeUpstream
) -> None:
    calls = len(upstream.seen)
    with pytest.raises(openai.NotFoundError) as missing:
        client.responses.create(model="m", input=[{"role": "user", "content": "hi"}, ref("msg_nope")])  # type: ignore[list-item]
    assert "msg_nope" in missing.value.message and missing.value.body["param"] == "input[1]"  # type: ignore[index]
    with (
        pytest.raises(openai.NotFoundError),
        client.responses.stream(model="m", input=[ref("msg_nope")]) as stream,  # type: ignore[list-item]
    ):
        stream.get_final_response()
    raw = httpx.post(
        f"{gateway.url}/v1/responses",
        headers=AUTH,
        json={"model": "m", "input": [{"type": "item_reference"}]},
    )
    assert raw.status_code == 400 and raw.json()["error"]["param"] == "input[0].id"
    assert len(upstream.seen) == calls  # the upstream was never called
    # a deleted response's items are gone too
    kept = client.responses.create(model="m", input="x")
    client.responses.delete(kept.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="m", input=[ref(kept.output[0].id)])  # type: ignore[list-item]
