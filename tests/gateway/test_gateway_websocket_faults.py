"""The Responses WebSocket under faults: a client that closes mid-response (the upstream request is closed
within a second), a message over the size limit (close 1009 with a reason), the idle timeout, keepalive
pings (a client that answers stays, one that does not is dropped), refused upgrades (401 without the
key, 404 on paths that serve no WebSocket, never a 500)."""

from __future__ import annotations

import base64
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
import websockets.sync.client
from support.fake_upstream import FakeUpstream
from support.gateway import RunningGateway
from support.websocket import read_response, validate_server_event
from websockets.exceptions import ConnectionClosed, InvalidStatus

from translator.gateway.app import Gateway
from translator.gateway.config import load_config


@pytest.fixture(scope="module")
def gateway(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    path: Path = tmp_path_factory.mktemp("ws") / "gateway.toml"
    path.write_text(
        "[server]\n"
        "websocket_max_message_bytes = 4096\n"
        "websocket_idle_timeout = 2\n"
        "websocket_ping_interval = 0.3\n"
        "websocket_ping_timeout = 0.6\n"
        'api_keys_env = ["WS_TEST_KEY"]\n'
    )
    os.environ["WS_TEST_KEY"] = "sk-gateway"
    running = RunningGateway(Gateway(load_config(path, upstream=upstream.url, store="memory"))).start()
    yield running
    running.stop()


def ws_url(gateway: RunningGateway, path: str = "/v1/responses") -> str:
    return gateway.url.replace("http://", "ws://") + path


AUTH = {"Authorization": "Bearer sk-gateway"}


def test_a_client_closing_mid_response_closes_the_upstream_request_within_a_second(
    gateway: RunningGateway, upstream: FakeUpstream
) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="sk-gateway", max_retries=0)
    with client.responses.connect() as connection:
        connection.response.create(model="stall-3", input="x")
        while validate_server_event(connection.recv_bytes())["type"] != "response.output_text.delta":
            pass
        seen = upstream.last()
        closed = time.monotonic()
    deadline = closed + 5
    while seen.closed_at is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen.closed_at is not None, "the upstream request was not closed"
    assert seen.closed_at - closed < 1.0


def test_a_message_over_the_limit_closes_with_1009_and_a_reason(gateway: RunningGateway) -> None:
    with websockets.sync.client.connect(ws_url(gateway), additional_headers=AUTH, max_size=None) as ws:
        ws.send('{"type": "response.create", "input": "' + "x" * 5000 + '"}')
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009
    assert closed.value.rcvd.reason


def test_an_idle_socket_is_closed_and_a_busy_one_is_not(gateway: RunningGateway) -> None:
    with websockets.sync.client.connect(ws_url(gateway), additional_headers=AUTH) as ws:
        ws.send('{"type": "response.create", "model": "paced-20-150", "input": "slow"}')  # 3 s > idle
        types = []
        while not types or types[-1] != "response.completed":
            types.append(validate_server_event(ws.recv(timeout=10))["type"])
        started = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert 1.5 < time.monotonic() - started < 6.0
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
    assert closed.value.rcvd.reason == "idle timeout"


def test_keepalive_a_client_answering_pings_stays_and_a_silent_one_is_dropped(
    gateway: RunningGateway,
) -> None:
    with websockets.sync.client.connect(ws_url(gateway), additional_headers=AUTH, ping_interval=None) as ws:
        time.sleep(1.2)  # several pings answered by the client library
        ws.send('{"type": "response.create", "model": "m", "input": "still there?"}')
        while validate_server_event(ws.recv(timeout=5))["type"] != "response.completed":
            pass
    host, port = gateway.url.removeprefix("http://").split(":")
    silent = socket.create_connection((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    silent.sendall(
        (
            f"GET /v1/responses HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Authorization: Bearer sk-gateway\r\n\r\n"
        ).encode()
    )
    silent.settimeout(10)
    assert silent.recv(4096).startswith(b"HTTP/1.1 101")
    started = time.monotonic()
    received = b""
    while True:  # pings arrive and are never answered; then the gateway drops the connection
        data = silent.recv(4096)
        if not data:
            break
        received += data
    silent.close()
    assert time.monotonic() - started < 5
    assert b"\x89" in received[:2] or received[:1] == b"\x89"  # a ping frame came first


def test_an_upgrade_without_the_key_is_refused_with_401(gateway: RunningGateway) -> None:
    with pytest.raises(InvalidStatus) as refused:
        websockets.sync.client.connect(ws_url(gateway), open_timeout=5)
    assert refused.value.response.status_code == 401
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(InvalidStatus) as by_sdk, client.responses.connect():
        pass
    assert by_sdk.value.response.status_code == 401
    assert b"invalid_api_key" in by_sdk.value.response.body


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/models", "/anything", "/health"])
def test_paths_that_serve_no_websocket_refuse_with_404(gateway: RunningGateway, path: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        websockets.sync.client.connect(ws_url(gateway, path), additional_headers=AUTH, open_timeout=5)
    assert refused.value.response.status_code == 404


def test_the_socket_works_after_faults_of_other_sockets(gateway: RunningGateway) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="sk-gateway", max_retries=0)
    with client.responses.connect() as connection:
        connection.response.create(model="m1", input="fine")
        assert read_response(connection).check().types[-1] == "response.completed"
