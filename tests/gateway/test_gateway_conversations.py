"""The Conversations API over a chat upstream, with the official SDK (every method of
``client.conversations``) and openai-agents (``OpenAIConversationsSession``,
``Runner.run(conversation_id=)``), on every store backend; two ``translator serve`` processes on one Redis.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.conversations import Conversation, ConversationDeletedResource, ConversationItemList
from support.fake_upstream import FakeUpstream
from support.gateway import RunningGateway, ServeProcess
from support.sdk import check_items
from support.state_client import AUTH, client_of, gateway_store, sent_messages
from support.store_helpers import (
    PREFIXES,
    REDIS_URL,
    RUN_PREFIX,
    Backend,
    delete_redis_keys,
    redis_unavailable,
)

from translator.gateway.app import Gateway
from translator.gateway.config import load_config


@pytest.fixture
def gateway(store_backend: Backend, upstream: FakeUpstream) -> Iterator[RunningGateway]:
    config = load_config(upstream=upstream.url, store=gateway_store(store_backend))
    running = RunningGateway(Gateway(config)).start()
    yield running
    running.stop()


@pytest.fixture
def client(gateway: RunningGateway) -> Iterator[openai.OpenAI]:
    with client_of(gateway) as sdk:
        yield sdk


def texts(items: list[Any]) -> list[str]:
    return ["".join(getattr(part, "text", "") for part in item.content) for item in items]


def test_every_conversations_method(client: openai.OpenAI, gateway: RunningGateway) -> None:
    made = client.conversations.create(
        items=[{"type": "message", "role": "user", "content": "first"}], metadata={"topic": "demo"}
    )
    assert (
        isinstance(made, Conversation) and made.id.startswith("conv_") and made.metadata == {"topic": "demo"}
    )
    assert client.conversations.retrieve(made.id) == made
    updated = client.conversations.update(made.id, metadata={"topic": "changed"})
    assert updated.metadata == {"topic": "changed"} and updated.created_at == made.created_at
    added = client.conversations.items.create(
        made.id,
        items=[
            {"type": "message", "role": "user", "content": "second"},
            {"type": "message", "role": "assistant", "content": "an answer"},
        ],
    )
    assert isinstance(added, ConversationItemList) and [i.type for i in added.data] == ["message", "message"]
    listed = client.conversations.items.list(made.id, order="asc", include=["message.output_text.logprobs"])
    check_items([item.model_dump(exclude_unset=True) for item in listed.data])
    assert texts(listed.data) == ["first", "second", "an answer"]
    newest = client.conversations.items.list(made.id, limit=1)
    assert texts(newest.data) == ["an answer"] and newest.has_more is True
    page = client.conversations.items.list(made.id, order="asc", after=listed.data[0].id, limit=1)
    assert texts(page.data) == ["second"]
    every = [item.id for item in client.conversations.items.list(made.id, limit=1, order="asc")]  # paging
    assert every == [item.id for item in listed.data]
    one = client.conversations.items.retrieve(listed.data[1].id, conversation_id=made.id)
    assert one.id == listed.data[1].id
    after_delete = client.conversations.items.delete(listed.data[1].id, conversation_id=made.id)
    assert isinstance(after_delete, Conversation) and after_delete.id == made.id
    assert texts(client.conversations.items.list(made.id, order="asc").data) == ["first", "an answer"]
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.retrieve(listed.data[1].id, conversation_id=made.id)
    deleted = client.conversations.delete(made.id)
    assert isinstance(deleted, ConversationDeletedResource) and deleted.deleted is True
    for call in (
        lambda: client.conversations.retrieve(made.id),
        lambda: client.conversations.delete(made.id),
        lambda: client.conversations.items.list(made.id),
        lambda: client.conversations.items.create(made.id, items=[{"role": "user", "content": "x"}]),
    ):
        with pytest.raises(openai.NotFoundError):
            call()
    empty = client.conversations.create()
    assert client.conversations.items.list(empty.id).data == []
    bad = httpx.get(f"{gateway.url}/v1/conversations/{empty.id}/items?limit=500", headers=AUTH)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "limit"
    too_many = [{"role": "user", "content": str(n)} for n in range(21)]
    with pytest.raises(openai.BadRequestError):
        client.conversations.items.create(empty.id, items=too_many)  # type: ignore[arg-type]


def test_responses_in_a_conversation(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    conversation = client.conversations.create(items=[{"role": "user", "content": "My name is Ada."}])
    first = client.responses.create(model="m1", input="Hello?", conversation=conversation.id)
    assert first.conversation is not None and first.conversation.id == conversation.id
    assert sent_messages(upstream) == [("user", "My name is Ada."), ("user", "Hello?")]
    with client.responses.stream(
        model="m2", input="What is my name?", conversation={"id": conversation.id}
    ) as stream:
        second = stream.get_final_response()
    assert sent_messages(upstream) == [
        ("user", "My name is Ada."),
        ("user", "Hello?"),
        ("assistant", "Hello from m1"),
        ("user", "What is my name?"),
    ]
    items = client.conversations.items.list(conversation.id, order="asc").data
    assert texts(items) == ["My name is Ada.", "Hello?", "Hello from m1", "What is my name?", "Hello from m2"]
    assert items[-1].id == second.output[0].id
    # both ways of continuing at once: refused, naming both; nothing is appended
    with pytest.raises(openai.BadRequestError) as both:
        client.responses.create(
            model="m", input="x", conversation=conversation.id, previous_response_id=first.id
        )
    assert "conversation" in both.value.message and "previous_response_id" in both.value.message
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="m", input="x", conversation="conv_unknown")
    with pytest.raises(openai.NotFoundError):  # an unknown reference: nothing appended half-way
        client.responses.create(
            model="m", input=[{"type": "item_reference", "id": "msg_nope"}], conversation=conversation.id
        )
    assert len(client.conversations.items.list(conversation.id).data) == 5
    # an item added to the conversation directly can be referenced
    counted = client.responses.input_tokens.count(model="m", input="x", conversation=conversation.id)
    assert counted.input_tokens > 0
    ref = {"type": "item_reference", "id": items[0].id}
    client.responses.create(model="m3", input=[ref], store=False)  # type: ignore[list-item]
    assert sent_messages(upstream) == [("user", "My name is Ada.")]


def test_openai_agents_sessions(gateway: RunningGateway, upstream: FakeUpstream) -> None:
    from agents import Agent, OpenAIConversationsSession, OpenAIResponsesModel, Runner, set_tracing_disabled

    set_tracing_disabled(True)

    async def turns() -> None:
        sdk = openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key="sk-test", max_retries=0)
        try:
            agent = Agent(name="a", instructions="be brief", model=OpenAIResponsesModel("agent-m", sdk))
            session = OpenAIConversationsSession(openai_client=sdk)
            for n in range(3):
                result = await Runner.run(agent, f"turn {n}", session=session)
                assert result.final_output == "Hello from agent-m"
            said = sent_messages(upstream)
            assert said == [
                ("system", "be brief"),
                ("user", "turn 0"),
                ("assistant", "Hello from agent-m"),
                ("user", "turn 1"),
                ("assistant", "Hello from agent-m"),
                ("user", "turn 2"),
            ]
            assert len(await session.get_items()) == 6
            # the server-side conversation: Runner.run(conversation_id=...)
            conversation = await sdk.conversations.create()
            for n in range(2):
                await Runner.run(agent, f"server turn {n}", conversation_id=conversation.id)
            assert sent_messages(upstream)[1:] == [
                ("user", "server turn 0"),
                ("assistant", "Hello from agent-m"),
                ("user", "server turn 1"),
            ]
            await session.clear_session()
        finally:
            await sdk.close()

    asyncio.run(turns())


def test_two_gateway_processes_share_conversations_on_one_redis(upstream: FakeUpstream) -> None:
    reason = redis_unavailable()
    if reason:
        pytest.skip(reason)
    prefix = f"{RUN_PREFIX}{next(PREFIXES)}:"
    serve = ("--upstream", upstream.url, "--store", f"{REDIS_URL}?key_prefix={prefix}")
    one, two = ServeProcess(*serve), ServeProcess(*serve)
    try:
        with client_of(one.url) as first, client_of(two.url) as second:
            conversation = first.conversations.create(items=[{"role": "user", "content": "kept in Redis"}])
            second.responses.create(model="two", input="asked of two", conversation=conversation.id)
            assert sent_messages(upstream) == [("user", "kept in Redis"), ("user", "asked of two")]
            assert len(first.conversations.items.list(conversation.id).data) == 3
            second.conversations.delete(conversation.id)
            with pytest.raises(openai.NotFoundError):
                first.conversations.retrieve(conversation.id)
    finally:
        one.stop()
        two.stop()
        delete_redis_keys(prefix)


def test_bad_conversation_requests_are_4xx_in_the_api_shape(
    client: openai.OpenAI, gateway: RunningGateway
) -> None:
    url = f"{gateway.url}/v1/conversations"
    cases: list[tuple[str, str, Any, int, str | None]] = [
        ("POST", url, b"{not json", 400, None),
        ("POST", url, [1, 2], 400, None),
        ("POST", url, {"items": "hello"}, 400, "items"),
        ("POST", url, {"items": [{"role": "nobody", "content": "x"}]}, 400, "items"),
        ("POST", url, {"metadata": {str(n): "v" for n in range(17)}}, 400, "metadata"),
        ("POST", url, {"metadata": {"k": 1}}, 400, "metadata"),
        ("POST", url, {"items": [{"type": "item_reference", "id": "msg_nope"}]}, 404, "input[0]"),
        ("GET", f"{url}/conv_nope", None, 404, None),
        ("PUT", f"{url}/conv_nope", None, 405, None),
        ("GET", f"{url}/conv_nope/items/msg_x/extra", None, 404, None),
    ]
    before = len(client.conversations.items.list(client.conversations.create().id).data)
    for method, target, body, status, param in cases:
        content = body if isinstance(body, bytes) else None
        answer = httpx.request(
            method, target, headers=AUTH, content=content, json=None if content is not None else body
        )
        assert answer.status_code == status, (method, target, body, answer.text)
        error = answer.json()["error"]
        assert set(error) >= {"message", "type", "code", "param"} and error["param"] == param
    assert before == 0
    made = client.conversations.create()
    no_metadata = httpx.post(f"{url}/{made.id}", headers=AUTH, json={})
    assert no_metadata.status_code == 400 and no_metadata.json()["error"]["param"] == "metadata"
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.delete("msg_nope", conversation_id=made.id)
