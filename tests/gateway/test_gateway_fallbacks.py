"""Retries and fallbacks before the first byte (issue 21, item 2), through a real uvicorn gateway.

Upstreams on loopback: a dead one (a closed port), the fake upstream answering 503, 500 or 429 (chosen by
the model name each route sends it), cutting a stream after it started, or answering well.  The request
succeeds on the first upstream that answers, streaming or not, relayed or translated; a failure once the
answer started is never retried; every try is in the log line.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.corpus import CORPUS, SKIP_REASON
from support.fake_upstream import FakeUpstream
from support.gateway import RunningGateway
from support.net import free_port
from support.sdk import check_failed_stream

from translator.engine.sse import Done, iter_sse
from translator.gateway.app import Gateway
from translator.gateway.config import ConfigError, load_config

#: Each client's own key (pass-through mode: the gateway keeps each client's responses apart by it).
CLIENT_KEY = {"authorization": "Bearer sk-client"}
OVERLOADED = 'status:503:={"error":{"message":"overloaded","type":"server_error"}}'
BROKEN = 'status:500:={"error":{"message":"it broke","type":"server_error"}}'
LIMITED = 'status:429:={"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}'


@pytest.fixture
def gateway(tmp_path: Path, upstream: FakeUpstream) -> Iterator[Any]:
    """``gateway(toml)``: a gateway from a TOML text (``{fake}``: the fake upstream's URL, ``{dead}``: a
    closed port)."""
    started: list[RunningGateway] = []

    def start(text: str) -> RunningGateway:
        path = tmp_path / f"gateway-{len(started)}.toml"
        path.write_text(
            text.replace("{fake}", upstream.url).replace("{dead}", f"http://127.0.0.1:{free_port()}/v1")
        )
        served = RunningGateway(Gateway(load_config(path, store="memory"))).start()
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


def asked(upstream: FakeUpstream, model: str, since: int) -> int:
    """How many requests for ``model`` the fake upstream received after the first ``since``."""
    return sum(1 for seen in upstream.seen[since:] if seen.body.get("model") == model)


def log_line(caplog: pytest.LogCaptureFixture, since: int) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for record in caplog.records[since:]:
            if record.name == "translator.gateway" and record.getMessage().startswith("{"):
                line: dict[str, Any] = json.loads(record.getMessage())
                if line["path"].endswith(("/responses", "/chat/completions")):
                    return line
        time.sleep(0.02)
    raise AssertionError("no log line")


def tries(line: dict[str, Any]) -> list[tuple[str, int, str | None]]:
    return [(a["upstream"], a["status"], a["error"]) for a in line["attempts"]]


def payloads(body: bytes) -> list[Any]:
    return [p for p in iter_sse([body]) if not isinstance(p, Done)]


FALLING = f"""
[upstreams.dead]
base_url = "{{dead}}"
connect_timeout = 2

[upstreams.busy]
base_url = "{{fake}}"

[upstreams.good]
base_url = "{{fake}}"

[models."m"]
upstream = "dead"
model = "hello"
fallbacks = [{{ upstream = "busy", model = '{OVERLOADED}' }}, "good"]
"""


@pytest.mark.parametrize("client", ["responses", "chat"])
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
def test_a_dead_and_a_busy_upstream_fall_back_to_the_next(
    gateway: Any, upstream: FakeUpstream, caplog: pytest.LogCaptureFixture, client: str, stream: bool
) -> None:
    caplog.set_level(logging.INFO, logger="translator.gateway")
    served = gateway(FALLING)
    since, logged = len(upstream.seen), len(caplog.records)
    body: dict[str, Any] = {"model": "m", "stream": stream}
    if client == "responses":  # translated (chat upstreams), with the gateway's Responses state
        answer = httpx.post(
            f"{served.url}/v1/responses", json={**body, "input": "hi"}, timeout=30, headers=CLIENT_KEY
        )
    else:  # relayed (chat upstreams)
        messages = [{"role": "user", "content": "hi"}]
        answer = httpx.post(
            f"{served.url}/v1/chat/completions",
            json={**body, "messages": messages},
            timeout=30,
            headers=CLIENT_KEY,
        )
    assert answer.status_code == 200, answer.text
    if stream:
        events = payloads(answer.content)
        if client == "responses":
            assert events[-1]["type"] == "response.completed"
        else:
            assert [c["choices"][0]["finish_reason"] for c in events if c["choices"]][-1] == "stop"
    elif client == "responses":
        assert answer.json()["status"] == "completed" and answer.json()["output"][0]["content"][0]["text"]
    else:
        assert answer.json()["choices"][0]["message"]["content"]
    assert asked(upstream, OVERLOADED, since) == 1 and asked(upstream, "hello", since) == 1
    line = log_line(caplog, logged)
    assert tries(line) == [("dead", 502, "bad_gateway"), ("busy", 503, "server_error"), ("good", 200, None)]
    assert (line["upstream"], line["upstream_model"], line["status"]) == ("good", "hello", 200)


def test_retries_back_off_then_give_the_last_answer(
    gateway: Any, upstream: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="translator.gateway")
    served = gateway(
        f"""
[upstreams.flaky]
base_url = "{{fake}}"
retries = 2
retry_backoff = 0.1

[models."m"]
upstream = "flaky"
model = '{BROKEN}'
"""
    )
    since, logged = len(upstream.seen), len(caplog.records)
    started = time.monotonic()
    answer = httpx.post(
        f"{served.url}/v1/responses", json={"model": "m", "input": "hi"}, timeout=30, headers=CLIENT_KEY
    )
    took = time.monotonic() - started
    assert answer.status_code == 500 and answer.json()["error"]["message"] == "it broke"
    assert asked(upstream, BROKEN, since) == 3  # the first try and two retries
    assert took >= 0.1 + 0.2  # backoff 0.1 s, then 0.2 s
    assert tries(log_line(caplog, logged)) == [("flaky", 500, "server_error")] * 3


def test_a_long_retry_after_moves_on_or_goes_to_the_client(gateway: Any, upstream: FakeUpstream) -> None:
    # the fake's 429 carries retry-after: 7; the gateway waits at most 1 s, so it does not wait here
    config = f"""
[upstreams.limited]
base_url = "{{fake}}"
retries = 3
max_retry_after = 1

[upstreams.good]
base_url = "{{fake}}"

[models."alone"]
upstream = "limited"
model = '{LIMITED}'

[models."m"]
upstream = "limited"
model = '{LIMITED}'
fallbacks = [{{ upstream = "good", model = "fast-2" }}]
"""
    served = gateway(config)
    since = len(upstream.seen)
    started = time.monotonic()
    alone = httpx.post(
        f"{served.url}/v1/responses", json={"model": "alone", "input": "hi"}, timeout=30, headers=CLIENT_KEY
    )
    assert alone.status_code == 429 and alone.headers["retry-after"] == "7"
    assert asked(upstream, LIMITED, since) == 1 and time.monotonic() - started < 3
    fell = httpx.post(
        f"{served.url}/v1/responses", json={"model": "m", "input": "hi"}, timeout=30, headers=CLIENT_KEY
    )
    assert fell.status_code == 200 and asked(upstream, "fast-2", since) == 1


@pytest.mark.skipif(not CORPUS.is_dir(), reason=SKIP_REASON)
def test_a_failure_after_the_first_byte_is_never_retried(gateway: Any, upstream: FakeUpstream) -> None:
    cut = "cut:chat/openai__text_long_include_usage.sse:8"
    served = gateway(
        f"""
[upstreams.first]
base_url = "{{fake}}"
retries = 2

[upstreams.good]
base_url = "{{fake}}"

[models."m"]
upstream = "first"
model = "{cut}"
fallbacks = [{{ upstream = "good", model = "fast-2" }}]
"""
    )
    since = len(upstream.seen)
    answer = httpx.post(
        f"{served.url}/v1/responses",
        json={"model": "m", "input": "hi", "stream": True},
        timeout=30,
        headers=CLIENT_KEY,
    )
    final, _ = check_failed_stream(payloads(answer.content))
    assert "closed the connection after" in final["error"]["message"]
    assert asked(upstream, cut, since) == 1 and asked(upstream, "fast-2", since) == 0
    whole = httpx.post(
        f"{served.url}/v1/responses", json={"model": "m", "input": "hi"}, timeout=30, headers=CLIENT_KEY
    )
    assert whole.status_code == 502  # its answer had started: not retried either
    assert asked(upstream, cut, since) == 2 and asked(upstream, "fast-2", since) == 0


def test_the_first_byte_timeout_falls_back(gateway: Any, upstream: FakeUpstream) -> None:
    served = gateway(
        """
[upstreams.slow]
base_url = "{fake}"
first_byte_timeout = 0.3

[upstreams.good]
base_url = "{fake}"

[models."m"]
upstream = "slow"
model = "slow-headers:3000"
fallbacks = [{ upstream = "good", model = "fast-2" }]
"""
    )
    started = time.monotonic()
    answer = httpx.post(
        f"{served.url}/v1/responses",
        json={"model": "m", "input": "hi", "stream": True},
        timeout=30,
        headers=CLIENT_KEY,
    )
    assert payloads(answer.content)[-1]["type"] == "response.completed"
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize(
    ("models", "key"),
    [
        ('[models."m"]\nfallbacks = ["nowhere"]\n', "models.m.fallbacks[0]"),
        ('[models."m"]\nfallbacks = ["r"]\n', "models.m.fallbacks[0]"),  # speaks responses, not chat
        ('[models."m"]\nfallbacks = [{ upstream = "a", extra = 1 }]\n', "models.m.fallbacks[0].extra"),
        ('[models."m"]\nfallbacks = "a"\n', "models.m.fallbacks"),
    ],
)
def test_bad_fallbacks_name_the_key(tmp_path: Path, models: str, key: str) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(
        '[server]\ndefault_upstream = "a"\n[upstreams.a]\nbase_url = "http://127.0.0.1:1/v1"\n'
        '[upstreams.r]\nbase_url = "http://127.0.0.1:2/v1"\nprotocol = "responses"\n' + models
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == key


@pytest.mark.parametrize(("value", "ok"), [(0, True), (10, True), (11, False), (-1, False), (1.5, False)])
def test_retries_is_a_small_count(tmp_path: Path, value: Any, ok: bool) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(f'[upstreams.a]\nbase_url = "http://127.0.0.1:1/v1"\nretries = {value}\n')
    if ok:
        assert load_config(path).upstreams["a"].retries == value
    else:
        with pytest.raises(ConfigError, match=r"upstreams\.a\.retries"):
            load_config(path)


def test_a_background_response_falls_back_too(gateway: Any, upstream: FakeUpstream) -> None:
    served = gateway(FALLING)
    since = len(upstream.seen)
    body = {"model": "m", "input": "hi", "background": True}
    queued = httpx.post(f"{served.url}/v1/responses", json=body, timeout=30, headers=CLIENT_KEY).json()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        stored = httpx.get(f"{served.url}/v1/responses/{queued['id']}", timeout=30, headers=CLIENT_KEY).json()
        if stored["status"] not in ("queued", "in_progress"):
            break
        time.sleep(0.05)
    assert stored["status"] == "completed", stored
    assert asked(upstream, OVERLOADED, since) == 1 and asked(upstream, "hello", since) == 1
