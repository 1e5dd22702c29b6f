"""Another owner's references, conversations, compaction items and background streams behave as absent,
on every store backend: two clients with their own keys in pass-through mode are two owners."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from support.corpus import CORPUS, SKIP_REASON
from support.fake_upstream import FakeUpstream
from support.gateway import RunningGateway
from support.state_client import gateway_store
from support.store_helpers import Backend

from translator.gateway.app import Gateway
from translator.gateway.config import load_config


@pytest.fixture
def gateway(store_backend: Backend, upstream: FakeUpstream) -> Iterator[RunningGateway]:
    config = load_config(upstream=upstream.url, store=gateway_store(store_backend))
    running = RunningGateway(Gateway(config)).start()
    yield running
    running.stop()


@pytest.fixture
def clients(gateway: RunningGateway) -> Iterator[tuple[openai.OpenAI, openai.OpenAI]]:
    with (
        openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="sk-alice", max_retries=0) as alice,
        openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="sk-bob", max_retries=0) as bob,
    ):
        yield alice, bob


@pytest.mark.skipif(not CORPUS.is_dir(), reason=SKIP_REASON)
def test_another_owners_state_is_absent(
    clients: tuple[openai.OpenAI, openai.OpenAI], upstream: FakeUpstream
) -> None:
    alice, bob = clients
    said = alice.responses.create(model="m", input="secret of alice")
    reference = {"type": "item_reference", "id": said.output[0].id}
    alice.responses.create(model="m", input=[reference], store=False)  # alice's own: resolved
    calls = len(upstream.seen)
    with pytest.raises(openai.NotFoundError):
        bob.responses.create(model="m", input=[reference])  # type: ignore[list-item]
    conversation = alice.conversations.create(items=[{"role": "user", "content": "alice's notes"}])
    for call in (
        lambda: bob.conversations.retrieve(conversation.id),
        lambda: bob.conversations.update(conversation.id, metadata={"x": "y"}),
        lambda: bob.conversations.items.list(conversation.id),
        lambda: bob.conversations.items.create(conversation.id, items=[{"role": "user", "content": "x"}]),
        lambda: bob.conversations.delete(conversation.id),
        lambda: bob.responses.create(model="m", input="x", conversation=conversation.id),
        lambda: bob.responses.input_tokens.count(model="m", input="x", conversation=conversation.id),
    ):
        with pytest.raises(openai.NotFoundError):
            call()
    added = alice.conversations.items.list(conversation.id).data[0]
    with pytest.raises(openai.NotFoundError):  # an item of alice's conversation, referenced by bob
        bob.responses.create(model="m", input=[{"type": "item_reference", "id": added.id}])  # type: ignore[list-item]
    background = alice.responses.create(
        model="replay:chat/openai__text_plain.sse", input="x", background=True
    )
    with pytest.raises(openai.NotFoundError):
        list(bob.responses.retrieve(background.id, stream=True))
    assert list(alice.responses.retrieve(background.id, stream=True))[-1].type == "response.completed"
    compacted = alice.responses.with_raw_response.compact(model="m", input="alice's long story")
    item = compacted.http_response.json()["output"][-1]
    with pytest.raises(openai.BadRequestError) as foreign:
        bob.responses.create(model="m", input=[item, {"role": "user", "content": "go on"}])
    assert foreign.value.body["param"] == "input[0].encrypted_content"  # type: ignore[index]
    alice.responses.create(model="m", input=[item, {"role": "user", "content": "go on"}])  # alice's opens
    assert len(alice.conversations.items.list(conversation.id).data) == 1  # bob added nothing
    assert all(
        "secret of alice" not in str(seen.body)
        for seen in upstream.seen[calls:]
        if "bob" in str(seen.headers)
    )
