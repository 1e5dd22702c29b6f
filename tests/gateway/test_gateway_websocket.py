"""The Responses WebSocket (``ws://HOST/v1/responses``) with the official SDK's ``client.responses.connect()``
against a real uvicorn gateway and the fake upstream: turns, previous_response_id (stored and
connection-local), tool calls, one response at a time, bad messages, the log line per response.

Every message is validated as the SDK's ``ResponsesServerEvent`` (support.websocket).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator

import openai
import pytest
from support.fake_upstream import FakeUpstream
from support.gateway import RunningGateway, running
from support.websocket import read_response, validate_server_event

from translator.gateway.app import Gateway
from translator.gateway.config import load_config


@pytest.fixture(scope="module")
def gateway(upstream: FakeUpstream) -> Iterator[RunningGateway]:
    running = RunningGateway(Gateway(load_config(upstream=upstream.url, store="memory"))).start()
    yield running
    running.stop()


def client_of(gateway: RunningGateway, prefix: str = "/v1") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}{prefix}", api_key="sk-test", max_retries=0)


def user_texts(upstream: FakeUpstream) -> list[tuple[str, str]]:
    out = []
    for message in upstream.last().body["messages"]:
        content = message.get("content")
        text = content if isinstance(content, str) else "".join(p.get("text", "") for p in content or [])
        out.append((message["role"], text))
    return out


@pytest.mark.parametrize("prefix", ["/v1", ""])
def test_two_turns_on_one_socket_continue_with_previous_response_id(
    gateway: RunningGateway, upstream: FakeUpstream, prefix: str
) -> None:
    with client_of(gateway, prefix).responses.connect() as connection:
        connection.response.create(model="m1", input="first question")
        first = read_response(connection).check()
        assert first.types[:2] == ["response.created", "response.in_progress"]
        assert first.types[-1] == "response.completed"
        assert first.events[0]["sequence_number"] == 0
        connection.response.create(model="m2", input="second", previous_response_id=first.final["id"])
        second = read_response(connection).check()
        assert second.events[0]["sequence_number"] == 0  # each response numbers from 0
        assert second.final["previous_response_id"] == first.final["id"]
    assert user_texts(upstream) == [
        ("user", "first question"),
        ("assistant", "Hello from m1"),
        ("user", "second"),
    ]
    stored = client_of(gateway).responses.retrieve(second.final["id"])
    assert stored.previous_response_id == first.final["id"]


def test_store_false_continues_within_the_connection_only(
    gateway: RunningGateway, upstream: FakeUpstream
) -> None:
    client = client_of(gateway)
    with client.responses.connect() as connection:
        connection.response.create(model="m1", input="kept on the socket", store=False)
        first = read_response(connection).check()
        connection.response.create(
            model="m1", input="next", previous_response_id=first.final["id"], store=False
        )
        second = read_response(connection).check()
        assert second.types[-1] == "response.completed"
        assert user_texts(upstream)[0] == ("user", "kept on the socket")
    with client.responses.connect() as other:  # another socket does not have it, nor the store
        other.response.create(model="m1", input="x", previous_response_id=second.final["id"])
        refused = read_response(other)
        assert refused.events == []
        error = refused.others[0]
        assert error["status"] == 404
        assert error["error"]["code"] == "previous_response_not_found"


def test_a_streamed_tool_call_over_the_socket(gateway: RunningGateway) -> None:
    tools = [{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}]
    with client_of(gateway).responses.connect() as connection:
        connection.response.create(
            model="replay:chat/openai__parallel_tool_calls_with_usage.sse", input="x", tools=tools
        )  # type: ignore[list-item]
        read = read_response(connection).check()
    calls = [item for item in read.final["output"] if item["type"] == "function_call"]
    assert calls and all(call["status"] == "completed" for call in calls)
    assert "response.function_call_arguments.delta" in read.types
    assert read.final["usage"]["input_tokens"] > 0


def test_a_second_create_while_one_runs_gets_an_error_and_the_first_goes_on(gateway: RunningGateway) -> None:
    with client_of(gateway).responses.connect() as connection:
        connection.response.create(model="paced-20-20", input="slow")
        connection.response.create(model="m1", input="too soon")
        read = read_response(connection, stop_at_error=False).check()
        assert read.types[-1] == "response.completed"
        assert [e["error"]["code"] for e in read.others] == ["response_in_progress"]
        connection.response.create(model="m1", input="now")  # and the socket goes on
        assert read_response(connection).check().types[-1] == "response.completed"


def test_bad_messages_get_an_error_event_and_the_socket_stays_usable(gateway: RunningGateway) -> None:
    with client_of(gateway).responses.connect() as connection:
        for raw, code in [
            ("{not json", "invalid_json"),
            ('{"type": "response.dance"}', "unknown_event_type"),
            ("[1, 2]", "invalid_json"),
            ('{"type": "response.create", "input": "no model"}', None),
        ]:
            connection.send_raw(raw)  # type: ignore[attr-defined]
            error = validate_server_event(connection.recv_bytes())
            assert error["type"] == "error" and error["status"] == 400, error
            assert error["error"]["code"] == code
            if code == "unknown_event_type":
                assert "response.dance" in error["error"]["message"] or "type" in error["error"]["message"]
        connection.response.create(model="m1", input="still here")
        assert read_response(connection).check().types[-1] == "response.completed"


def test_an_upstream_refusal_is_an_error_event_with_its_status(gateway: RunningGateway) -> None:
    with client_of(gateway).responses.connect() as connection:
        connection.response.create(
            model="status:429:=" + json.dumps({"error": {"message": "slow down"}}), input="x"
        )
        read = read_response(connection)
        assert read.events == [] and read.others[0]["status"] == 429


def test_stream_id_is_echoed_on_every_event(gateway: RunningGateway) -> None:
    with client_of(gateway).responses.connect() as connection:
        connection.response.create(model="m1", input="x", stream_id="lane-1")
        read = read_response(connection).check()
    assert {event.get("stream_id") for event in read.events} == {"lane-1"}


def test_generate_false_warms_up_without_calling_the_upstream(
    gateway: RunningGateway, upstream: FakeUpstream
) -> None:
    before = len(upstream.seen)
    with client_of(gateway).responses.connect() as connection:
        connection.response.create(model="m1", input="context only", generate=False)
        warm = read_response(connection).check()
        assert warm.final["status"] == "completed" and warm.final["output"] == []
        assert len(upstream.seen) == before
        connection.response.create(model="m1", input="now answer", previous_response_id=warm.final["id"])
        read_response(connection).check()
    assert user_texts(upstream) == [("user", "context only"), ("user", "now answer")]


def test_the_async_sdk_over_the_socket(gateway: RunningGateway) -> None:
    async def run() -> list[str]:
        client = openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key="sk-test", max_retries=0)
        types = []
        async with client.responses.connect() as connection:
            await connection.response.create(model="m1", input="async")
            while True:
                event = validate_server_event(await connection.recv_bytes())
                types.append(event["type"])
                if event["type"] == "response.completed":
                    break
        await client.close()
        return types

    types = asyncio.run(run())
    assert types[0] == "response.created" and types[-1] == "response.completed"


def test_one_log_line_per_response_with_the_websocket_transport(
    gateway: RunningGateway, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.INFO, logger="translator.gateway"),
        client_of(gateway).responses.connect() as connection,
    ):
        for text in ("one", "two"):
            connection.response.create(model="m1", input=text)
            read_response(connection)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith("{")]
    socket_lines = [line for line in lines if line.get("transport") == "websocket"]
    assert len(socket_lines) == 2
    assert all(line["status"] == 200 and line["client_protocol"] == "responses" for line in socket_lines)


def test_the_next_create_may_follow_the_terminal_event_at_once(gateway: RunningGateway) -> None:
    """The socket is free the moment the terminal event leaves (clients answer at once)."""
    with client_of(gateway).responses.connect() as connection:
        for n in range(30):
            connection.response.create(model="fast-3", input=f"turn {n}")
            read = read_response(connection)
            assert read.others == [] and read.types[-1] == "response.completed", read.others


def test_over_a_responses_upstream_the_events_are_relayed_and_steering_is_not_offered(
    upstream: FakeUpstream,
) -> None:
    config = load_config(upstream=upstream.url, upstream_protocol="responses", store="memory")
    with running(Gateway(config)) as relay, client_of(relay).responses.connect() as connection:
        connection.response.create(model="r1", input="hi")
        first = read_response(connection).check()
        assert first.final["output"][0]["content"][0]["text"] == "Hello from r1"
        assert upstream.last().path == "/v1/responses" and upstream.last().body["stream"] is True
        connection.response.create(model="r1", input="again", previous_response_id=first.final["id"])
        second = read_response(connection).check()
        assert upstream.last().body["previous_response_id"] == first.final["id"]  # the upstream's own state
        assert second.types[-1] == "response.completed"


def test_an_upstream_cut_mid_stream_ends_the_response_failed_with_an_error_event(
    gateway: RunningGateway,
) -> None:
    with client_of(gateway).responses.connect() as connection:
        connection.response.create(model="cut:chat/openai__text_long_include_usage.sse:5", input="x")
        read = read_response(connection).check()
        assert read.types[-2:] == ["error", "response.failed"]
        error = read.events[-2]
        assert error["error"]["code"] and error["error"]["message"]  # the WebSocket shape of the error event
        connection.response.create(model="m1", input="after")
        assert read_response(connection).check().types[-1] == "response.completed"


def test_responses_made_on_a_socket_belong_to_the_upgrades_owner(gateway: RunningGateway) -> None:
    """The owner model: a socket's responses are stored under the owner of its upgrade's key; another
    client's key finds nothing (HTTP or another socket), the same key finds them."""
    mine = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="sk-alice", max_retries=0)
    theirs = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="sk-bob", max_retries=0)
    with mine.responses.connect() as connection:
        connection.response.create(model="m1", input="mine")
        made = read_response(connection).check().final["id"]
    assert mine.responses.retrieve(made).id == made
    with pytest.raises(openai.NotFoundError):
        theirs.responses.retrieve(made)
    with theirs.responses.connect() as connection:
        connection.response.create(model="m1", input="x", previous_response_id=made)
        refused = read_response(connection)
        assert refused.events == [] and refused.others[0]["error"]["code"] == "previous_response_not_found"
    with mine.responses.connect() as connection:
        connection.response.create(model="m1", input="on", previous_response_id=made)
        assert read_response(connection).check().final["previous_response_id"] == made
