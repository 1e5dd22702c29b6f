"""Bounded state in Redis: every key the gateway writes expires.  A representative workload runs through
a real gateway on a private key prefix (create, continue, a background run and its event log,
conversations with items, deletes, the owner secret, the quotas' ledger), then every key under the
prefix must have a TTL."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import openai
import pytest
import redis
from support.corpus import CORPUS
from support.fake_upstream import FakeUpstream
from support.gateway import RunningGateway
from support.store_helpers import REDIS_URL, Backend

from translator.gateway.app import Gateway
from translator.gateway.config import load_config


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream(CORPUS).start()
    yield fake
    fake.stop()


@pytest.mark.parametrize("store_backend", ["redis"], indirect=True)
def test_every_redis_key_has_a_ttl(store_backend: Backend, upstream: FakeUpstream) -> None:
    config = load_config(
        upstream=upstream.url, store=f"{store_backend.spec}?key_prefix={store_backend.prefix}"
    )
    gateway = RunningGateway(Gateway(dataclasses.replace(config, api_keys=("gw-key-ttl",)))).start()
    sdk = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="gw-key-ttl", max_retries=0)
    try:
        said = {"type": "message", "role": "user", "content": "hello", "id": "msg_mine"}
        first = sdk.responses.create(model="m", input=[said])  # type: ignore[list-item]
        sdk.responses.create(model="m", input="and then?", previous_response_id=first.id)
        sdk.responses.create(model="m", input=[{"type": "item_reference", "id": "msg_mine"}])
        running = sdk.responses.create(model="m", input="in the background", background=True)
        deadline = time.monotonic() + 10
        while sdk.responses.retrieve(running.id).status in ("queued", "in_progress"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert list(sdk.responses.retrieve(running.id, stream=True))  # its event log
        conversation = sdk.conversations.create(items=[{"type": "message", "role": "user", "content": "hi"}])
        added = sdk.conversations.items.create(
            conversation.id, items=[{"type": "message", "role": "user", "content": "more", "id": "msg_c"}]
        )
        sdk.responses.create(model="m", input="in the conversation", conversation=conversation.id)
        sdk.conversations.items.delete("msg_c", conversation_id=conversation.id)
        assert added.data
        dropped = sdk.conversations.create(items=[{"type": "message", "role": "user", "content": "bye"}])
        sdk.conversations.delete(dropped.id)
        sdk.responses.delete(first.id)  # a tombstone: its child keeps it
        kept = sdk.responses.create(model="m", input="to delete")
        sdk.responses.delete(kept.id)
    finally:
        sdk.close()
        gateway.stop()
    db = redis.Redis.from_url(REDIS_URL)
    keys = list(db.scan_iter(match=f"{store_backend.prefix}*", count=1000))
    kinds = {key.decode().removeprefix(str(store_backend.prefix)).split(":", 1)[0] for key in keys}
    assert {"resp", "in", "out", "item", "ev", "evlog", "conv", "owner_secret", "quota", "quota_all"} <= kinds
    without = [key.decode() for key in keys if db.pttl(key) <= 0]
    assert without == [], f"keys without a TTL: {without}"
