"""Keys never leave: an upstream that quotes back the key it was sent, in every place it could, through every
kind of exchange, with the gateway's own upstream key and with a pass-through client's key.

What the client receives (raw bytes, streamed or not), every log line of the gateway, and every byte of the
SQLite store are searched for the key and for its first characters (a cut must not leak a prefix).  The
unit tests of :class:`~translator.gateway.redaction.Redactor` cover the split and truncation rules.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.fake_upstream import ECHO_PLACES, ECHO_RESPONSE_ID, FakeUpstream
from support.gateway import RunningGateway, running

from translator.gateway.app import Gateway
from translator.gateway.config import ConfigError, load_config
from translator.gateway.redaction import MIN_PREFIX, REDACTED, Redactor, credential_of

UPSTREAM_KEY = "UPKEYq7f3a9c1e5b2d4680-configured"
CLIENT_KEY = "CLIENTKEYz9y8x7w6v5u4t3s2-passthrough"
KEY_VARIABLE = "REDACTION_TEST_UPSTREAM_KEY"


# -- the redactor ---------------------------------------------------------------------------------------


def test_a_redactor_replaces_keys_and_holds_back_only_a_possible_start() -> None:
    redactor = Redactor(["secret-key-123", None, "short"])  # short values are not secrets
    assert redactor.clean(b"a secret-key-123 and short") == b"a [redacted] and short"
    # a key over two reads: the start is held back until the next read says what it is
    assert redactor.feed(b"data: the key is secret-k") == b"data: the key is "
    assert redactor.feed(b"ey-123 indeed\n\n") == REDACTED + b" indeed\n\n"
    # what cannot start a key (an SSE frame's end) is never held
    assert redactor.feed(b'data: {"x": 1}\n\n') == b'data: {"x": 1}\n\n'
    # a start that turns out not to be the key is given back whole
    assert redactor.feed(b"secret-") == b""
    assert redactor.feed(b"santa\n") == b"secret-santa\n"
    # at the end of a body (a cut), a held start of MIN_PREFIX characters or more is replaced
    assert redactor.feed(b"cut here: secr") == b"cut here: "
    assert redactor.end() == REDACTED
    assert redactor.feed(b"cut: sec") == b"cut: "
    assert redactor.end() == b"sec"[:MIN_PREFIX] and len(b"sec") < MIN_PREFIX
    assert not Redactor([None, "", "tiny"])  # nothing to do: every piece passes untouched
    assert Redactor([]).feed(b"secret-key-123") == b"secret-key-123"
    assert credential_of("Bearer sk-abc") == "sk-abc" and credential_of("sk-raw") == "sk-raw"
    assert credential_of(None) is None


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="ab-sk\n", max_size=40),
    st.text(alphabet="ab-sk\n", max_size=40),
    st.lists(st.integers(min_value=0, max_value=120), max_size=6),
)
def test_a_key_never_survives_any_split_of_a_body(before: str, after: str, cuts: list[int]) -> None:
    key = "sk-ab-sk-ab"
    body = f"{before}{key}{after}{key}".encode()
    redactor = Redactor([key])
    pieces, start = [], 0
    for cut in sorted(set(cuts)):
        pieces.append(body[start:cut])
        start = max(start, cut)
    pieces.append(body[start:])
    out = b"".join(redactor.feed(piece) for piece in pieces) + redactor.end()
    assert key.encode() not in out
    assert out == Redactor([key]).clean(body) == body.replace(key.encode(), REDACTED)


# -- through the gateway -------------------------------------------------------------------------------


@dataclasses.dataclass
class Setup:
    gateway: RunningGateway
    key: str  # what the upstream receives, and must never come back
    client_key: str
    database: Path


@pytest.fixture(params=["configured", "pass-through"])
def keyed(
    request: pytest.FixtureRequest,
    upstream: FakeUpstream,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:
    """``start(protocol)``: a gateway on the fake upstream of that protocol, SQLite store, sending either
    its own upstream key or the client's."""
    started: list[RunningGateway] = []
    monkeypatch.setenv(KEY_VARIABLE, UPSTREAM_KEY)

    def start(protocol: str) -> Setup:
        database = tmp_path / f"{protocol}.sqlite3"
        config = load_config(upstream=upstream.url, upstream_protocol=protocol, store=f"sqlite:{database}")
        if request.param == "configured":
            keyed_upstream = dataclasses.replace(config.upstreams["default"], key_env=KEY_VARIABLE)
            config = dataclasses.replace(config, upstreams={"default": keyed_upstream})
            key = UPSTREAM_KEY
        else:
            key = CLIENT_KEY
        gateway = RunningGateway(Gateway(config)).start()
        started.append(gateway)
        return Setup(gateway, key, CLIENT_KEY, database)

    yield start
    for gateway in started:
        gateway.stop()


def leaks(key: str, *places: bytes | str) -> list[str]:
    """The places holding the key or its first characters."""
    found = []
    for n, place in enumerate(places):
        data = place.encode() if isinstance(place, str) else place
        if key.encode()[:8] in data:
            found.append(f"place {n}: {data[:300]!r}")
    return found


def store_bytes(database: Path) -> bytes:
    with sqlite3.connect(database) as db:
        return "\n".join(db.iterdump()).encode("utf-8", "replace")


BODIES = {
    "responses": lambda model, stream: {"model": model, "input": "hi", "stream": stream},
    "chat": lambda model, stream: {
        "model": model,
        "messages": [{"role": "user", "content": "hi"}],
        "stream": stream,
    },
}
PATHS = {"responses": "/v1/responses", "chat": "/v1/chat/completions"}


@pytest.mark.parametrize("upstream_protocol", ["chat", "responses"])
@pytest.mark.parametrize("client_protocol", ["responses", "chat"])
def test_an_echoed_key_never_reaches_the_client_the_log_or_the_store(
    keyed: Any, upstream_protocol: str, client_protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    setup: Setup = keyed(upstream_protocol)
    auth = {"authorization": f"Bearer {setup.client_key}"}
    seen: list[bytes] = []
    with httpx.Client(base_url=setup.gateway.url, headers=auth, timeout=30) as client:
        for place in ECHO_PLACES:
            for stream in (True, False):
                body = BODIES[client_protocol](f"echo:{place}", stream)
                answer = client.post(PATHS[client_protocol], json=body)
                # (the upstream's own 500 is passed on; the gateway never fails on its own)
                assert answer.status_code != 500 or place == "truncated", (place, answer.text)
                seen.append(answer.content + repr(dict(answer.headers)).encode())
                if client_protocol == "responses" and answer.status_code == 200 and not stream:
                    rid = answer.json().get("id")  # (a relayed 200 error body has none)
                    stored = client.get(f"/v1/responses/{rid}")
                    seen.append(stored.content)
    lines = [record.getMessage() for record in caplog.records]
    assert leaks(setup.key, *seen) == []
    assert leaks(setup.key, *lines) == []
    assert leaks(setup.key, store_bytes(setup.database)) == []
    assert any(REDACTED in data for data in seen)  # the key was there, and was replaced


def test_a_background_run_stores_no_echoed_key(keyed: Any) -> None:
    setup: Setup = keyed("chat")
    sdk = openai.OpenAI(base_url=f"{setup.gateway.url}/v1", api_key=setup.client_key, max_retries=0)
    try:
        ids = [
            sdk.responses.create(model=f"echo:{place}", input="x", background=True).id
            for place in ("frame", "split", "fields")
        ]
        texts = []
        for rid in ids:
            while (current := sdk.responses.retrieve(rid)).status in ("queued", "in_progress"):
                pass
            texts.append(current.model_dump_json())
            events = list(sdk.responses.retrieve(rid, stream=True, starting_after=0))
            texts += [event.model_dump_json() for event in events]
    finally:
        sdk.close()
    assert leaks(setup.key, *texts) == []
    assert leaks(setup.key, store_bytes(setup.database)) == []


def test_a_forwarded_get_never_carries_the_key(keyed: Any) -> None:
    setup: Setup = keyed("responses")
    auth = {"authorization": f"Bearer {setup.client_key}"}
    answer = httpx.get(f"{setup.gateway.url}/v1/responses/{ECHO_RESPONSE_ID}", headers=auth, timeout=10)
    if setup.key == UPSTREAM_KEY:  # a shared upstream key: never asked (tenancy), so nothing to leak
        assert answer.status_code == 404
    else:
        assert answer.status_code == 200 and "[redacted]" in answer.json()["output"][0]["content"][0]["text"]
    assert leaks(setup.key, answer.content) == []


def test_an_unset_key_env_fails_the_start_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: FakeUpstream
) -> None:
    monkeypatch.delenv("REDACTION_TEST_UNSET", raising=False)
    path = tmp_path / "gateway.toml"
    path.write_text(f'[upstreams.u]\nbase_url = "{upstream.url}"\nkey_env = "REDACTION_TEST_UNSET"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "upstreams.u.key_env" and "REDACTION_TEST_UNSET" in str(caught.value)
    with pytest.raises(ConfigError) as flagged:
        load_config(upstream=upstream.url, upstream_key_env="REDACTION_TEST_UNSET")
    assert flagged.value.key == "--upstream-key-env"
    # a variable unset after the start: the client's key is never sent instead
    monkeypatch.setenv("REDACTION_TEST_UNSET", "set-for-the-start-0001")
    config = load_config(upstream=upstream.url, upstream_key_env="REDACTION_TEST_UNSET", store="memory")
    with running(Gateway(config)) as gateway:
        monkeypatch.delenv("REDACTION_TEST_UNSET")
        calls = len(upstream.seen)
        answer = httpx.post(
            f"{gateway.url}/v1/responses",
            json={"model": "m", "input": "x"},
            headers={"authorization": f"Bearer {CLIENT_KEY}"},
            timeout=10,
        )
        assert answer.status_code == 503 and "REDACTION_TEST_UNSET" in answer.json()["error"]["message"]
        assert len(upstream.seen) == calls
