"""Steering over the Responses WebSocket (``response.steer``) with the SDK's ``client.responses.connect()``:
accepted during a slow stream, the response ends ``incomplete``/``steered`` and the successor carries the
input; pending after a response that waits for tool output, prepended to the client's continuation; the
failures with their codes.  Every message validated as the SDK's ``ResponsesServerEvent``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from support.fake_upstream import FakeUpstream
from support.gateway import RunningGateway
from support.state_client import sent_messages
from support.websocket import read_response, validate_server_event

from translator.gateway.app import Gateway
from translator.gateway.config import load_config

TOOLS: Any = [{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}]


@pytest.fixture(scope="module")
def gateway(upstream: FakeUpstream) -> Iterator[RunningGateway]:
    running = RunningGateway(Gateway(load_config(upstream=upstream.url, store="memory"))).start()
    yield running
    running.stop()


def connect(gateway: RunningGateway) -> Any:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="sk-test", max_retries=0).responses.connect()


def next_event(connection: Any) -> dict[str, Any]:
    return validate_server_event(connection.recv_bytes())


def until(connection: Any, kind: str) -> list[dict[str, Any]]:
    events = []
    while True:
        events.append(next_event(connection))
        if events[-1]["type"] == kind:
            return events


def test_a_steer_during_a_slow_stream_ends_it_steered_and_the_successor_carries_the_input(
    gateway: RunningGateway, upstream: FakeUpstream
) -> None:
    with connect(gateway) as connection:
        connection.response.create(model="paced-200-20", input="write a long story", instructions="be kind")
        created = until(connection, "response.output_text.delta")
        response_id = created[0]["response"]["id"]
        connection.response.steer(input="make it about a cat", previous_response_id=response_id)
        first = []
        while not first or first[-1]["type"] != "response.incomplete":
            first.append(next_event(connection))
        accepted = [e for e in first if e["type"] == "response.steer.accepted"]
        assert len(accepted) == 1 and accepted[0]["steer"]["previous_response_id"] == response_id
        steer_id = accepted[0]["steer"]["id"]
        final = first[-1]["response"]
        assert final["status"] == "incomplete"
        assert final["incomplete_details"] == {"reason": "steered"}
        assert len(created + first) < 200  # stopped early, not at the end of the stream
        numbers = [e["sequence_number"] for e in created + first]
        assert numbers == list(range(len(numbers)))  # the accepted event numbered in the response's sequence
        successor = read_response(connection).check()
        assert successor.final["previous_response_id"] == response_id
        assert successor.final["instructions"] == "be kind"  # the successor inherits the settings
        assert successor.final["status"] == "completed"
    sent = sent_messages(upstream)
    assert sent[0] == ("system", "be kind")
    assert sent[1] == ("user", "write a long story")
    assert sent[2][0] == "assistant" and sent[2][1]  # the partial answer
    assert sent[-1] == ("user", "make it about a cat")
    assert steer_id.startswith("steer_")
    # the steered response was stored incomplete, the successor continues from it
    stored = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="sk-test").responses.retrieve(response_id)
    assert stored.status == "incomplete" and stored.incomplete_details is not None
    assert stored.incomplete_details.reason == "steered"


def test_a_steer_while_tools_are_called_is_pending_then_prepended_to_the_continuation(
    gateway: RunningGateway, upstream: FakeUpstream
) -> None:
    model = "replay:chat/openai__parallel_tool_calls_with_usage.sse@60"
    with connect(gateway) as connection:
        connection.response.create(model=model, input="weather?", tools=TOOLS)
        added = until(connection, "response.output_item.added")
        while added[-1]["item"]["type"] != "function_call":
            added += until(connection, "response.output_item.added")
        response_id = added[0]["response"]["id"]
        connection.response.steer(
            input=[{"role": "user", "content": "in celsius"}], previous_response_id=response_id
        )
        rest = until(connection, "response.completed")
        assert "response.steer.accepted" in [e["type"] for e in rest]
        final = rest[-1]["response"]
        pending = next_event(connection)
        assert pending["type"] == "response.steer.pending"
        assert pending["reason"] == "waiting_for_required_input"
        calls = [item for item in final["output"] if item["type"] == "function_call"]
        assert pending["required_input"] == [
            {"type": "function_call_output", "call_id": call["call_id"], "name": call["name"]}
            for call in calls
        ]
        assert pending["sequence_number"] == rest[-1]["sequence_number"] + 1
        outputs = [{"type": "function_call_output", "call_id": c["call_id"], "output": "21"} for c in calls]
        connection.response.create(model="m1", input=outputs, previous_response_id=response_id, tools=TOOLS)
        continuation = read_response(connection).check()
        assert continuation.final["status"] == "completed"
    sent = upstream.last().body["messages"]
    assert [m["role"] for m in sent[-len(calls) - 1 :]] == ["tool"] * len(calls) + ["user"]
    assert sent[-1]["content"] in ("in celsius", [{"type": "text", "text": "in celsius"}])


@pytest.mark.parametrize(
    ("steer", "code"),
    [
        ({"input": "x", "previous_response_id": "resp_nope"}, "response_not_found"),
        (
            {"input": [{"role": "assistant", "content": "x"}], "previous_response_id": "resp_x"},
            "invalid_input",
        ),
        ({"input": "", "previous_response_id": "resp_x"}, "invalid_input"),
        ({"input": "x", "previous_response_id": "resp_x", "stream_id": "l"}, "invalid_input"),
    ],
)
def test_steering_failures_carry_their_code_and_the_input(
    gateway: RunningGateway, steer: dict[str, Any], code: str
) -> None:
    with connect(gateway) as connection:
        connection.send_raw(json.dumps({"type": "response.steer", **steer}))
        failed = next_event(connection)
        assert failed["type"] == "response.steer.failed"
        assert failed["error"]["code"] == code
        # the input comes back when it is valid steering input; invalid input as "" (the type admits no other)
        valid_input = steer["input"] == "x"
        assert failed["steer"]["input"] == (steer["input"] if valid_input else "")
        assert "id" not in failed["steer"]


def test_steering_a_completed_response_or_a_conversation_bound_one_fails(gateway: RunningGateway) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="sk-test", max_retries=0)
    conversation = client.conversations.create()
    with connect(gateway) as connection:
        connection.response.create(model="m1", input="x")
        done = read_response(connection)
        connection.response.steer(input="late", previous_response_id=done.final["id"])
        failed = next_event(connection)
        assert failed["error"]["code"] == "response_already_completed"
        connection.response.create(model="paced-100-20", input="x", conversation=conversation.id)
        created = until(connection, "response.output_text.delta")
        connection.response.steer(input="no", previous_response_id=created[0]["response"]["id"])
        rest = until(connection, "response.steer.failed")
        assert rest[-1]["error"]["code"] == "steering_not_supported"
        final = until(connection, "response.completed")[-1]["response"]
        assert final["status"] == "completed" and final["conversation"]["id"] == conversation.id
        # automatic compaction is refused over a chat upstream before the response starts, as over HTTP
        connection.response.create(model="m1", input="x", context_management=[{"type": "compaction"}])
        refused = next_event(connection)
        assert refused["type"] == "error" and refused["status"] == 400
        assert refused["error"]["param"] == "context_management"


def test_a_burst_of_steers_is_numbered_in_order_and_the_seventeenth_is_too_many(
    gateway: RunningGateway,
) -> None:
    model = "replay:chat/openai__parallel_tool_calls_with_usage.sse@40"
    with connect(gateway) as connection:
        connection.response.create(model=model, input="weather?", tools=TOOLS)
        events = until(connection, "response.output_item.added")
        while events[-1]["item"]["type"] != "function_call":
            events += until(connection, "response.output_item.added")
        response_id = events[0]["response"]["id"]
        for n in range(17):
            connection.response.steer(input=f"note {n}", previous_response_id=response_id)
        events += until(connection, "response.completed")
        pending = [next_event(connection) for _ in range(16)]
    accepted = [e for e in events if e["type"] == "response.steer.accepted"]
    failed = [e for e in events if e["type"] == "response.steer.failed"]
    assert len(accepted) == 16 and [e["error"]["code"] for e in failed] == ["too_many_pending_steers"]
    assert failed[0]["steer"]["input"] == "note 16"
    assert {e["type"] for e in pending} == {"response.steer.pending"}
    assert [e["steer"]["id"] for e in pending] == [e["steer"]["id"] for e in accepted]
    numbers = [e["sequence_number"] for e in [*events, *pending]]
    assert numbers == list(range(len(numbers)))  # one sequence, in the order sent
