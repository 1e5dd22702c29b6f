"""Tenant isolation, probed as a hostile client would: whose stored state is whose.

Two inbound keys, and pass-through users (no inbound keys: each client's own key goes upstream), on every
store backend, with the official SDK as client.  Another owner's response behaves as if it did not exist:
404 for retrieve, input items, ``previous_response_id``, cancel and delete, and the owner's response is
untouched afterwards.  The store keeps a keyed hash of the key, never the key.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest
import redis
from support.corpus import CORPUS, SKIP_REASON
from support.fake_upstream import UPSTREAM_RESPONSE_ID, FakeUpstream
from support.gateway import RunningGateway, ServeProcess, running
from support.store_helpers import REDIS_URL, Backend

from translator.gateway.app import Gateway
from translator.gateway.config import GatewayConfig, load_config

KEY_A, KEY_B = "gw-key-alice-0001", "gw-key-bob-0002"


def gateway_store(backend: Backend) -> str:
    return f"{backend.spec}?key_prefix={backend.prefix}" if backend.prefix else backend.spec


_CLIENTS: list[openai.OpenAI] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()


def client(gateway: RunningGateway | ServeProcess, key: str) -> openai.OpenAI:
    made = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)
    _CLIENTS.append(made)
    return made


@pytest.fixture
def start(upstream: FakeUpstream, store_backend: Backend) -> Iterator[Callable[..., RunningGateway]]:
    """A gateway on this test's store backend, with the given configuration fields replaced."""
    started: list[RunningGateway] = []

    def make(**fields: Any) -> RunningGateway:
        config = load_config(upstream=upstream.url, store=gateway_store(store_backend))
        gateway = RunningGateway(Gateway(dataclasses.replace(config, **fields))).start()
        started.append(gateway)
        return gateway

    yield make
    for gateway in started:
        gateway.stop()


def wait_finished(sdk: openai.OpenAI, response_id: str) -> str:
    deadline = time.monotonic() + 10
    while (status := sdk.responses.retrieve(response_id).status) in ("queued", "in_progress"):
        assert time.monotonic() < deadline, f"{response_id} still {status}"
        time.sleep(0.05)
    assert status is not None
    return status


def assert_isolated(alice: openai.OpenAI, bob: openai.OpenAI, upstream: FakeUpstream) -> None:
    """Bob cannot see, list, continue, cancel or delete what Alice stored; Alice's state is untouched."""
    first = alice.responses.create(model="m1", input="alice's secret question")
    second = alice.responses.create(model="m2", input="and a follow-up", previous_response_id=first.id)
    running = alice.responses.create(model="paced-40-50", input="a long one", background=True)
    for rid in (first.id, second.id, running.id):
        with pytest.raises(openai.NotFoundError):
            bob.responses.retrieve(rid)
        with pytest.raises(openai.NotFoundError):
            bob.responses.input_items.list(rid)
        with pytest.raises(openai.NotFoundError):
            bob.responses.cancel(rid)
        with pytest.raises(openai.NotFoundError):
            bob.responses.delete(rid)
    calls = len(upstream.seen)
    with pytest.raises(openai.NotFoundError) as continued:
        bob.responses.create(model="m3", input="what did alice ask?", previous_response_id=second.id)
    assert continued.value.code == "previous_response_not_found"
    assert len(upstream.seen) == calls  # refused before the upstream was called: alice's text went nowhere
    # Alice's responses are all still hers, whole
    assert alice.responses.retrieve(first.id).output_text == "Hello from m1"
    items = alice.responses.input_items.list(second.id, order="asc").data
    assert [part.text for item in items for part in item.content] == [  # type: ignore[union-attr]
        "alice's secret question",
        "Hello from m1",
        "and a follow-up",
    ]
    assert wait_finished(alice, running.id) == "completed"
    # Bob's own responses are his, and Alice's continuation still works
    own = bob.responses.create(model="m4", input="bob's own")
    with pytest.raises(openai.NotFoundError):
        alice.responses.retrieve(own.id)
    assert bob.responses.retrieve(own.id).id == own.id
    third = alice.responses.create(model="m5", input="third", previous_response_id=second.id)
    assert third.previous_response_id == second.id
    alice.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError):
        alice.responses.retrieve(first.id)


def test_two_inbound_keys_see_only_their_own_responses(
    start: Callable[..., RunningGateway], upstream: FakeUpstream
) -> None:
    gateway = start(api_keys=(KEY_A, KEY_B))
    assert_isolated(client(gateway, KEY_A), client(gateway, KEY_B), upstream)


def test_pass_through_users_see_only_their_own_responses(
    start: Callable[..., RunningGateway], upstream: FakeUpstream
) -> None:
    gateway = start()  # no inbound keys: each client's own key goes upstream
    assert_isolated(client(gateway, "sk-user-alice"), client(gateway, "sk-user-bob"), upstream)
    assert upstream.last().headers["authorization"] == "Bearer sk-user-alice"


def test_pass_through_without_authorization_is_401(
    start: Callable[..., RunningGateway], upstream: FakeUpstream
) -> None:
    gateway = start()
    alice = client(gateway, "sk-user-alice")
    kept = alice.responses.create(model="m", input="alice's")
    calls = len(upstream.seen)
    for method, path, body in [
        ("POST", "/v1/responses", {"model": "m", "input": "x"}),
        ("POST", "/v1/responses", {"model": "m", "input": "x", "previous_response_id": kept.id}),
        ("POST", "/v1/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "x"}]}),
        ("GET", f"/v1/responses/{kept.id}", None),
        ("GET", f"/v1/responses/{kept.id}/input_items", None),
        ("DELETE", f"/v1/responses/{kept.id}", None),
        ("GET", "/v1/models", None),
    ]:
        for headers in ({}, {"authorization": ""}, {"authorization": "Bearer"}):
            answer = httpx.request(method, f"{gateway.url}{path}", json=body, headers=headers, timeout=10)
            assert answer.status_code == 401, (method, path, headers)
            error = answer.json()["error"]
            assert error["code"] == "invalid_api_key" and "Authorization" in error["message"]
    assert len(upstream.seen) == calls
    assert httpx.get(f"{gateway.url}/health", timeout=10).status_code == 200
    assert alice.responses.retrieve(kept.id).id == kept.id


def test_single_user_shares_one_scope(start: Callable[..., RunningGateway]) -> None:
    gateway = start(single_user=True)
    kept = client(gateway, "sk-one").responses.create(model="m", input="shared")
    assert client(gateway, "sk-another").responses.retrieve(kept.id).id == kept.id
    anonymous = httpx.get(f"{gateway.url}/v1/responses/{kept.id}", timeout=10)
    assert anonymous.status_code == 200 and anonymous.json()["id"] == kept.id
    keyed = start(single_user=True, api_keys=(KEY_A, KEY_B))  # keys are still checked
    assert httpx.get(f"{keyed.url}/v1/responses/{kept.id}", timeout=10).status_code == 401
    shared = client(keyed, KEY_A).responses.create(model="m", input="x")
    assert client(keyed, KEY_B).responses.retrieve(shared.id).id == shared.id


def test_the_store_holds_a_keyed_hash_never_the_key(
    start: Callable[..., RunningGateway], store_backend: Backend
) -> None:
    gateway = start(api_keys=(KEY_A,))
    kept = client(gateway, KEY_A).responses.create(model="m", input="x")
    passthrough = start()
    mine = client(passthrough, "sk-user-carol-secret").responses.create(model="m", input="y")
    owners = stored_owners(store_backend, [kept.id, mine.id])
    assert len(owners) == 2 and len(set(owners)) == 2
    for owner in owners:
        assert owner.startswith("o_") and len(owner) == 66
    dump = raw_dump(store_backend)
    for key in (KEY_A, "sk-user-carol-secret"):
        assert key.encode() not in dump
    if store_backend.name == "sqlite":  # the owners are the same after a restart: the secret is in the file
        restarted = start(api_keys=(KEY_A,))
        assert client(restarted, KEY_A).responses.retrieve(kept.id).id == kept.id


def test_a_configured_owner_secret_is_used(
    start: Callable[..., RunningGateway], store_backend: Backend
) -> None:
    if store_backend.name == "memory":
        pytest.skip("a memory store is one gateway's own: no other gateway could read it with any secret")
    one = start(api_keys=(KEY_A,), owner_secret=b"one secret, sixteen bytes or more")
    kept = client(one, KEY_A).responses.create(model="m", input="x")
    same = start(api_keys=(KEY_A,), owner_secret=b"one secret, sixteen bytes or more")
    assert client(same, KEY_A).responses.retrieve(kept.id).id == kept.id
    other = start(api_keys=(KEY_A,), owner_secret=b"another secret, sixteen bytes+")
    with pytest.raises(openai.NotFoundError):
        client(other, KEY_A).responses.retrieve(kept.id)
    stores_own = start(api_keys=(KEY_A,))
    with pytest.raises(openai.NotFoundError):
        client(stores_own, KEY_A).responses.retrieve(kept.id)


def stored_owners(backend: Backend, ids: list[str]) -> list[str]:
    if backend.name == "sqlite":
        with sqlite3.connect(backend.spec.removeprefix("sqlite:")) as db:
            rows = [db.execute("SELECT owner FROM responses WHERE id = ?", (rid,)).fetchone() for rid in ids]
        return [row[0] for row in rows]
    if backend.name == "redis":
        db = redis.Redis.from_url(REDIS_URL)
        return [db.hget(f"{backend.prefix}resp:{rid}", "owner").decode() for rid in ids]  # type: ignore[union-attr]
    pytest.skip("the memory store is read through the gateway only")


def raw_dump(backend: Backend) -> bytes:
    """Every byte the backend holds for this test."""
    if backend.name == "sqlite":
        with sqlite3.connect(backend.spec.removeprefix("sqlite:")) as db:
            return "\n".join(db.iterdump()).encode()
    db = redis.Redis.from_url(REDIS_URL)
    values: list[bytes] = []
    for key in db.scan_iter(match=f"{backend.prefix}*"):
        kind = db.type(key)
        if kind == b"hash":
            values += [part for pair in db.hgetall(key).items() for part in pair]  # type: ignore[union-attr]
        elif kind == b"list":
            values += db.lrange(key, 0, -1)  # type: ignore[arg-type]
        elif kind == b"zset":
            values += db.zrange(key, 0, -1)  # type: ignore[arg-type]
        else:
            values.append(db.get(key) or b"")  # type: ignore[arg-type]
    return b"\n".join(values)


# -- a Responses upstream keeps its own state -------------------------------------------------------------


@pytest.mark.skipif(not CORPUS.is_dir(), reason=SKIP_REASON)
def test_a_shared_upstream_key_never_serves_another_clients_upstream_response(
    upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the gateway's own upstream key, every client would share the upstream's scope: a response the
    gateway does not hold is not asked of the upstream (404); with the client's own key it is."""
    monkeypatch.setenv("TENANCY_UPSTREAM_KEY", "sk-upstream-shared")
    base = load_config(upstream=upstream.url, upstream_protocol="responses", store="memory")
    keyed_upstream = dataclasses.replace(base.upstreams["default"], key_env="TENANCY_UPSTREAM_KEY")
    shared: GatewayConfig = dataclasses.replace(
        base, upstreams={"default": keyed_upstream}, api_keys=(KEY_A, KEY_B)
    )
    with running(Gateway(shared)) as gateway:
        calls = len(upstream.seen)
        with pytest.raises(openai.NotFoundError):
            client(gateway, KEY_B).responses.retrieve(UPSTREAM_RESPONSE_ID)
        with pytest.raises(openai.NotFoundError):
            client(gateway, KEY_B).responses.delete(UPSTREAM_RESPONSE_ID)
        assert len(upstream.seen) == calls
    with running(Gateway(base)) as gateway:  # pass-through: the upstream scopes by the client's own key
        kept = client(gateway, "sk-user-alice").responses.retrieve(UPSTREAM_RESPONSE_ID)
        assert kept.id == UPSTREAM_RESPONSE_ID
        assert upstream.last().headers["authorization"] == "Bearer sk-user-alice"


def test_serve_process_scopes_by_key(upstream: FakeUpstream, tmp_path: Any) -> None:
    """The real command: two pass-through users on the default SQLite store, across a restart."""
    store = f"sqlite:{tmp_path / 'state.sqlite3'}"
    first = ServeProcess("--upstream", upstream.url, "--store", store)
    try:
        kept = client(first, "sk-a").responses.create(model="m", input="x")
    finally:
        first.stop()
    second = ServeProcess("--upstream", upstream.url, "--store", store)
    try:
        mine, theirs = client(second, "sk-a"), client(second, "sk-b")
        assert mine.responses.retrieve(kept.id).id == kept.id
        with pytest.raises(openai.NotFoundError):
            theirs.responses.retrieve(kept.id)
    finally:
        second.stop()


def test_the_same_item_id_from_two_owners_resolves_to_each_ones_own_item(
    start: Callable[..., RunningGateway], upstream: FakeUpstream
) -> None:
    """Clients choose input item ids: Alice's and Bob's ``msg_same`` are two items, each one's own."""
    gateway = start(api_keys=(KEY_A, KEY_B))
    alice, bob = client(gateway, KEY_A), client(gateway, KEY_B)
    for sdk, text in ((alice, "alice's words"), (bob, "bob's words")):
        said = {"type": "message", "role": "user", "content": text, "id": "msg_same"}
        sdk.responses.create(model="m", input=[said])  # type: ignore[list-item]
    for sdk, text in ((alice, "alice's words"), (bob, "bob's words")):
        sdk.responses.create(model="m", input=[{"type": "item_reference", "id": "msg_same"}])
        sent = upstream.last().body["messages"]
        assert [message["content"] for message in sent] == [text]
