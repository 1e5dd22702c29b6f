"""How the gateway words and logs a failure (issue 21, items 3 and 4), through a real uvicorn gateway and
the fake upstream on loopback.

* A broken upstream stream is named in words: ``upstream 'default' closed the connection after 1,234
  bytes of the stream``; never the HTTP library's internal code where a status is expected (aiohttp
  words a cut chunked body as ``400, message: Not enough data to satisfy transfer length header.``).
* The log line says ``client_disconnected`` only when the client left before the end of its answer (a
  terminal event, the finish, an error frame): a client that closes the connection once it has its
  terminal event, as Codex does, while the upstream has not finished yet, did not leave early.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from support.corpus import CORPUS, SKIP_REASON
from support.fake_upstream import FakeUpstream, broken_body, split_frames
from support.gateway import RunningGateway, running
from support.sdk import check_failed_stream
from support.state_client import AUTH

from translator.engine.sse import Done, iter_sse
from translator.gateway.app import Gateway
from translator.gateway.config import load_config

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=SKIP_REASON)
TEXT = "chat/openai__text_long_include_usage.sse"
HELLO = "responses/openai__hello_text.sse"

#: The client's own key: without inbound keys the gateway passes it upstream and keeps state apart by it.
CLIENT_AUTH = {"authorization": "Bearer sk-client"}


@pytest.fixture(scope="module")
def chat_gateway(upstream: FakeUpstream) -> Iterator[RunningGateway]:
    with running(Gateway(load_config(upstream=upstream.url, store="memory"))) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def responses_gateway(upstream: FakeUpstream) -> Iterator[RunningGateway]:
    config = load_config(upstream=upstream.url, upstream_protocol="responses", store="memory")
    with running(Gateway(config)) as gateway:
        yield gateway


def payloads(body: bytes) -> list[Any]:
    return [p for p in iter_sse([body]) if not isinstance(p, Done)]


# -- item 3: what broke, in words -------------------------------------------------------------------------


def _cut_bytes() -> int:
    """What ``cut:<TEXT>:8`` sends: 8 frames and half of the ninth (inside an HTTP chunk)."""
    frames = split_frames((CORPUS / TEXT).read_bytes())
    return sum(map(len, frames[:8])) + len(frames[8]) // 2


BREAKS = [
    (
        "break:length:5",
        lambda: (
            f"upstream 'default' closed the connection after {len(broken_body(5)):,} bytes of the stream,"
            f" of the {2 * len(broken_body(5)):,} its Content-Length announced"
        ),
    ),
    (
        "break:reset:40",
        lambda: f"upstream 'default' reset the connection after {len(broken_body(40)):,} bytes of the stream",
    ),
    (
        "break:gzip:3",
        lambda: (
            "upstream 'default' sent a body that cannot be decoded after 0 bytes of the stream"
            " (Can not decode content-encoding: gzip)"
        ),
    ),
    (
        f"cut:{TEXT}:8",
        lambda: (
            f"upstream 'default' closed the connection after {_cut_bytes():,} bytes of the stream,"
            " before its end"
        ),
    ),
]


@needs_corpus
@pytest.mark.parametrize(("model", "expected"), BREAKS, ids=[b[0].split(":")[1] for b in BREAKS])
def test_a_broken_stream_is_named_in_words_for_every_client(
    chat_gateway: RunningGateway, model: str, expected: Any
) -> None:
    message = expected()
    with httpx.Client(base_url=chat_gateway.url, timeout=30, headers=AUTH) as client:
        # a Responses client, translated: response.failed names it (and the open message is not done)
        events = payloads(
            client.post("/v1/responses", json={"model": model, "input": "x", "stream": True}).content
        )
        final, _ = check_failed_stream(events)
        assert final["error"]["message"] == message
        assert [e["message"] for e in events if e["type"] == "error"] == [message]
        # a Chat client, relayed: the error frame names it
        chat = client.post(
            "/v1/chat/completions",
            json={"model": model, "messages": [{"role": "user", "content": "x"}], "stream": True},
        )
        frames = payloads(chat.content)
        assert frames[-1]["error"]["message"] == message and b"data: [DONE]" not in chat.content
        # a non-streaming client: a 502 whose message names it
        whole = client.post("/v1/responses", json={"model": model, "input": "x"})
        assert whole.status_code == 502
        assert whole.json()["error"]["message"] == message
    for text in (message, json.dumps(frames[-1])):
        assert "400" not in text and "message:" not in text and "transfer length" not in text


# -- item 4: client_disconnected only before the end -------------------------------------------------------


def _log_line(caplog: pytest.LogCaptureFixture, path: str, since: int) -> dict[str, Any]:
    """The gateway's log line of the next request on ``path`` after record ``since`` (waits for it)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for record in caplog.records[since:]:
            if record.name == "translator.gateway" and record.getMessage().startswith("{"):
                line: dict[str, Any] = json.loads(record.getMessage())
                if line["path"] == path:
                    return line
        time.sleep(0.02)
    raise AssertionError(f"no log line for {path}")


def _read_until(gateway: RunningGateway, path: str, body: dict[str, Any], stop: Any) -> list[Any]:
    """Stream ``body`` to ``path`` and hang up as soon as ``stop(payload)`` is true; what was read."""
    seen: list[Any] = []
    with (
        httpx.Client(base_url=gateway.url, timeout=30, headers=AUTH) as client,
        client.stream("POST", path, json=body) as answer,
    ):
        buffer = b""
        for data in answer.iter_raw():
            buffer += data
            frames, _, buffer = buffer.rpartition(b"\n\n")
            for payload in iter_sse([frames + b"\n\n"]) if frames else []:
                if not isinstance(payload, Done):
                    seen.append(payload)
                    if stop(payload):
                        return seen  # (leaving the block closes the connection)
    return seen


def _terminal(payload: Any) -> bool:
    return payload.get("type") in ("response.completed", "response.incomplete", "response.failed")


def _finished(payload: Any) -> bool:
    return any(c.get("finish_reason") for c in payload.get("choices") or [])


@needs_corpus
@pytest.mark.parametrize(
    ("gateway", "path", "stalled", "stop"),
    [
        # a Responses client over a chat upstream: the terminal event leaves on the usage chunk, and the
        # upstream then keeps the stream open without its [DONE]
        ("chat", "/v1/responses", TEXT, _terminal),
        # a Responses client relayed to a Responses upstream that keeps the stream open after its end
        ("responses", "/v1/responses", HELLO, _terminal),
        # a Chat client over a Responses upstream: the finish_reason chunk ends its answer
        ("responses", "/v1/chat/completions", HELLO, _finished),
    ],
    ids=["translated", "relayed", "chat-client"],
)
def test_a_client_that_hangs_up_after_its_terminal_event_did_not_disconnect_early(
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
    gateway: str,
    path: str,
    stalled: str,
    stop: Any,
) -> None:
    caplog.set_level(logging.INFO, logger="translator.gateway")
    running_gateway: RunningGateway = request.getfixturevalue(f"{gateway}_gateway")
    everything = len(split_frames((CORPUS / stalled).read_bytes()))
    kept = everything  # (neither recording has a [DONE]: the upstream stalls after its last frame)
    body: dict[str, Any] = {"model": f"stall:{stalled}:{kept}", "stream": True}
    body.update(
        {"input": "x"} if path == "/v1/responses" else {"messages": [{"role": "user", "content": "x"}]}
    )

    since = len(caplog.records)
    seen = _read_until(running_gateway, path, body, stop)
    assert stop(seen[-1])
    line = _log_line(caplog, path, since)
    assert line["client_disconnected"] is False, line
    assert line["status"] == 200

    # the same client hanging up while the upstream stalls before the end: that one left early
    since = len(caplog.records)
    seen = _read_until(running_gateway, path, {**body, "model": f"stall:{stalled}:8"}, lambda payload: True)
    assert not stop(seen[-1])
    line = _log_line(caplog, path, since)
    assert line["client_disconnected"] is True, line
