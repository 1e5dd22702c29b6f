"""Bad input never gets a 500, probed as a hostile client would, through a real gateway: JSON nested too
deep, body keys no header can hold, continuing a response still running, a store file left readable by
others or deleted under the gateway; each gets an answer in the client's protocol's shape naming what was
wrong, and what is refused never reaches the upstream.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import httpx
import openai
import pytest
from support.fake_upstream import FakeUpstream
from support.gateway import RunningGateway, running
from support.sdk import validate_responses_events
from support.websocket import read_response, validate_server_event

from translator.engine.sse import Done, iter_sse
from translator.gateway.app import Gateway
from translator.gateway.config import load_config
from translator.gateway.json_body import MAX_DEPTH

CLIENT_AUTH = {"authorization": "Bearer sk-bad-input-client"}


@pytest.fixture(scope="module")
def gateway(upstream: FakeUpstream) -> Iterator[RunningGateway]:
    with running(Gateway(load_config(upstream=upstream.url, store="memory"))) as started:
        yield started


def nested(depth: int) -> str:
    """A JSON value of ``depth`` arrays, one inside the other (written by hand: no encoder recurses)."""
    return "[" * depth + '"deep"' + "]" * depth


def tool_with_schema_nested(depth: int) -> bytes:
    """A request whose tool's ``parameters`` reach ``depth`` levels of nesting from the body."""
    # body(1) > tools(2) > tool(3) > parameters(4) > properties(5) > x(6) > default: arrays from 7
    arrays = depth - 6
    return (
        '{"model": "m", "input": "hi", "tools": [{"type": "function", "name": "f", "parameters": {"type":'
        f' "object", "properties": {{"x": {{"type": "array", "default": {nested(arrays)}}}}}}}}}]}}'
    ).encode()


def post_raw(gateway: RunningGateway, path: str, content: bytes, stream: bool = False) -> httpx.Response:
    if stream:
        content = content[:-1] + b', "stream": true}'
    headers = {**CLIENT_AUTH, "content-type": "application/json"}
    return httpx.post(f"{gateway.url}{path}", content=content, headers=headers, timeout=30)


@pytest.mark.parametrize("stream", [False, True], ids=["object", "stream"])
def test_nesting_past_the_limit_is_a_400_naming_where(
    gateway: RunningGateway, upstream: FakeUpstream, stream: bool
) -> None:
    calls = upstream.stats()["requests"]
    for depth in (MAX_DEPTH + 1, 254, 600, 1_024):
        answer = post_raw(gateway, "/v1/responses", tool_with_schema_nested(depth), stream)
        assert answer.status_code == 400, (depth, answer.text[:300])
        error = answer.json()["error"]
        assert error["type"] == "invalid_request_error" and error["param"] == "tools"
        assert f"limit of {MAX_DEPTH} levels" in error["message"]
        assert "at tools[0].parameters.properties.x.default" in error["message"]
    deeper = post_raw(gateway, "/v1/responses", b"[" * 2_000 + b"]" * 2_000, stream)
    assert deeper.status_code == 400 and "not valid JSON" in deeper.json()["error"]["message"]
    assert upstream.stats()["requests"] == calls  # nothing refused reached the upstream
    # at the limit, the request is served whole
    answer = post_raw(gateway, "/v1/responses", tool_with_schema_nested(MAX_DEPTH), stream)
    assert answer.status_code == 200, answer.text[:300]
    if stream:
        events = [p for p in iter_sse([answer.content]) if not isinstance(p, Done)]
        validate_responses_events(events)
        assert events[-1]["type"] == "response.completed"
    sent = upstream.seen[-1].body
    assert sent["tools"][0]["function"]["parameters"]["properties"]["x"]["default"] is not None


def test_nesting_is_refused_on_every_json_route(gateway: RunningGateway) -> None:
    deep = nested(MAX_DEPTH + 5).encode()
    chat = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "metadata": ' + deep + b"}"
    conversation = b'{"metadata": {"a": "b"}, "items": ' + deep + b"}"
    count = b'{"model": "m", "input": ' + deep + b"}"
    for path, body, param in (
        ("/v1/chat/completions", chat, "metadata"),
        ("/v1/conversations", conversation, "items"),
        ("/v1/responses/input_tokens", count, "input"),
    ):
        answer = post_raw(gateway, path, body)
        assert answer.status_code == 400, (path, answer.text[:300])
        assert answer.json()["error"]["param"] == param
        assert f"limit of {MAX_DEPTH} levels" in answer.json()["error"]["message"]


def test_a_deep_websocket_message_gets_an_error_event_and_the_socket_stays_usable(
    gateway: RunningGateway,
) -> None:
    deep = '{"type": "response.create", "model": "m", "input": "hi", "metadata": ' + nested(300) + "}"
    sdk = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="sk-bad-input-client", max_retries=0)
    with sdk, sdk.responses.connect() as connection:
        connection.send_raw(deep)  # type: ignore[attr-defined]
        error = validate_server_event(connection.recv_bytes())
        assert error["type"] == "error" and error["status"] == 400
        assert error["error"]["param"] == "metadata" and "limit of" in error["error"]["message"]
        connection.response.create(model="m", input="still here")
        assert read_response(connection).check().types[-1] == "response.completed"


@pytest.mark.parametrize("key", ["x\x01y", "line\nbreak", "tab\there", "é-ü", "100%", "\x7f", "emoji 🙂"])
def test_body_keys_no_header_can_hold_come_back_percent_encoded(gateway: RunningGateway, key: str) -> None:
    body = {"model": "m", "input": "hi", key: 1}
    for stream in (False, True):
        answer = httpx.post(
            f"{gateway.url}/v1/responses", json={**body, "stream": stream}, headers=CLIENT_AUTH, timeout=30
        )
        assert answer.status_code == 200, answer.text[:300]
        header = answer.headers["x-translator-dropped"]
        assert header.isascii() and header.isprintable()
        assert f"request.{key}: {key!r} has no equivalent" in unquote(header)


def test_continuing_a_response_still_running_is_a_400_before_the_upstream_is_called(
    gateway: RunningGateway, upstream: FakeUpstream
) -> None:
    sdk = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="sk-bad-input-client", max_retries=0)
    with sdk:
        before = len(upstream.seen)
        running = sdk.responses.create(model="paced-30-100", input="a long one", background=True)
        with pytest.raises(openai.BadRequestError) as refused:
            sdk.responses.create(model="m", input="next", previous_response_id=running.id)
        assert refused.value.param == "previous_response_id"
        assert "still in progress" in refused.value.message and running.id in refused.value.message
        with pytest.raises(openai.BadRequestError):
            sdk.responses.input_tokens.count(model="m", input="next", previous_response_id=running.id)
        assert [seen.body["model"] for seen in upstream.seen[before:]] == ["paced-30-100"]  # its run only
        sdk.responses.cancel(running.id)
        deadline = time.monotonic() + 10
        while sdk.responses.retrieve(running.id).status not in ("cancelled", "completed"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # once it has finished, it can be continued
        assert (
            sdk.responses.create(model="m", input="next", previous_response_id=running.id).status
            == "completed"
        )


def test_a_store_file_readable_by_others_is_made_private(
    upstream: FakeUpstream, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "loose.sqlite3"
    store = f"sqlite:{path}"
    with running(Gateway(load_config(upstream=upstream.url, store=store))) as first:
        assert httpx.post(
            f"{first.url}/v1/responses", json={"model": "m", "input": "hi"}, headers=CLIENT_AUTH
        )
    for file in (path, path.with_name(path.name + "-wal")):
        if file.exists():
            os.chmod(file, 0o644)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    with (
        caplog.at_level(logging.WARNING, logger="translator.gateway"),
        running(Gateway(load_config(upstream=upstream.url, store=store))) as second,
    ):
        answer = httpx.post(
            f"{second.url}/v1/responses", json={"model": "m", "input": "hi"}, headers=CLIENT_AUTH
        )
        assert answer.status_code == 200
        for file in path.parent.glob("loose.sqlite3*"):
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    assert any(
        "made it 0600" in record.getMessage() and str(path) in record.getMessage()
        for record in caplog.records
    )


def test_a_store_file_deleted_under_the_gateway_is_a_503_naming_it(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    path = tmp_path / "deleted.sqlite3"
    with running(Gateway(load_config(upstream=upstream.url, store=f"sqlite:{path}"))) as gateway:
        sdk = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="sk-bad-input-client", max_retries=0)
        with sdk:
            first = sdk.responses.create(model="m", input="hi")
            for file in path.parent.glob("deleted.sqlite3*"):
                file.unlink()
            calls = upstream.stats()["requests"]
            for attempt in (
                lambda: sdk.responses.retrieve(first.id),
                lambda: sdk.responses.create(model="m", input="next", previous_response_id=first.id),
            ):
                with pytest.raises(openai.InternalServerError) as failed:
                    attempt()
                assert failed.value.status_code == 503
                assert "deleted or replaced" in failed.value.message and str(path) in failed.value.message
            assert upstream.stats()["requests"] == calls
            # a file put back in its place is another file: still refused, nothing written to it
            path.write_bytes(b"")
            with pytest.raises(openai.InternalServerError):
                sdk.responses.retrieve(first.id)
            assert path.read_bytes() == b""
