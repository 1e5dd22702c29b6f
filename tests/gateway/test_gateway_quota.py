"""Store quotas: the live stored bytes of one owner (``store_quota_per_owner``) and of all
(``store_quota_total``), on every backend: in the store (usage up on create, down on delete and expiry; a
write past a quota refused, naming it) and through a real gateway with the official SDK (413
``store_quota_exceeded`` / 507 ``store_full`` before anything is sent upstream)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from support.fake_upstream import FakeUpstream
from support.gateway import RunningGateway
from support.sdk import validate_responses_events
from support.store_helpers import OTHER_OWNER, OWNER, Backend, make_response, message_out, turn_input

from translator.gateway.app import Gateway
from translator.gateway.config import load_config
from translator.gateway.store import QuotaExceededError, Quotas, Usage

# ---------------------------------------------------------------------------------------- the store


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_usage_goes_up_on_create_and_down_on_delete(store_backend: Backend, tmp_path: Path) -> None:
    async with store_backend.fresh(tmp_path).open() as store:
        assert await store.usage(OWNER) == Usage(0, 0)
        await store.create(make_response("resp_1"), turn_input("resp_1"), owner=OWNER)
        one = await store.usage(OWNER)
        assert one.owner > 0 and one.total == one.owner
        await store.create(make_response("resp_2", parent="resp_1"), turn_input("resp_2"), owner=OWNER)
        two = await store.usage(OWNER)
        assert two.owner > one.owner
        await store.create(make_response("resp_o"), turn_input("resp_o"), owner=OTHER_OWNER)
        theirs = await store.usage(OTHER_OWNER)
        assert theirs.owner > 0 and theirs.total == two.owner + theirs.owner
        assert (await store.usage(OWNER)).owner == two.owner
        # conversations' items count too
        conversations = store.conversation_store()
        conversation = await conversations.create(OWNER, {}, turn_input("conv"))
        with_conversation = (await store.usage(OWNER)).owner
        assert with_conversation > two.owner
        added = await conversations.add_items(OWNER, conversation["id"], turn_input("more"))
        assert added is not None and (await store.usage(OWNER)).owner > with_conversation
        assert await conversations.delete_item(OWNER, conversation["id"], added[0]["id"])
        assert (await store.usage(OWNER)).owner == with_conversation
        assert await conversations.delete(OWNER, conversation["id"])
        assert (await store.usage(OWNER)).owner == two.owner
        # a deleted response counts no more, also while its child keeps its items
        assert await store.delete("resp_1", owner=OWNER)
        assert (await store.usage(OWNER)).owner == two.owner - one.owner
        assert await store.delete("resp_2", owner=OWNER)
        assert await store.usage(OWNER) == Usage(0, theirs.owner)


@pytest.mark.anyio
async def test_usage_goes_down_on_expiry(store_backend: Backend, tmp_path: Path) -> None:
    async with store_backend.fresh(tmp_path).open(ttl=0.3) as store:
        await store.create(make_response("resp_1"), turn_input("resp_1"), owner=OWNER)
        await store.conversation_store().create(OWNER, {}, turn_input("conv"))
        assert (await store.usage(OWNER)).owner > 0
        await asyncio.sleep(0.45)
        assert await store.usage(OWNER) == Usage(0, 0)


@pytest.mark.anyio
async def test_a_write_past_a_quota_is_refused_naming_it(store_backend: Backend, tmp_path: Path) -> None:
    async with store_backend.fresh(tmp_path).open() as probe:
        await probe.create(make_response("resp_1"), turn_input("resp_1"), owner=OWNER)
        size = (await probe.usage(OWNER)).owner  # every resp_N below is as large
    quotas = Quotas(per_owner=2 * size + size // 2, total=3 * size + size // 2)
    async with store_backend.fresh(tmp_path).open(quotas=quotas) as store:
        for rid in ("resp_1", "resp_2"):
            await store.create(make_response(rid), turn_input(rid), owner=OWNER)
        with pytest.raises(QuotaExceededError) as mine:
            await store.create(make_response("resp_3"), turn_input("resp_3"), owner=OWNER)
        assert (mine.value.quota, mine.value.usage, mine.value.limit) == (
            "per_owner",
            2 * size,
            quotas.per_owner,
        )
        assert mine.value.needed == size and f"per owner quota of {quotas.per_owner:,} bytes" in str(
            mine.value
        )
        assert await store.get("resp_3", owner=OWNER) is None  # nothing written
        with pytest.raises(QuotaExceededError):
            await store.check_room(OWNER, size)
        await store.check_room(OWNER, size // 2)
        # another owner still stores, up to the total
        await store.create(make_response("resp_4"), turn_input("resp_4"), owner=OTHER_OWNER)
        with pytest.raises(QuotaExceededError) as total:
            await store.create(make_response("resp_5"), turn_input("resp_5"), owner=OTHER_OWNER)
        assert (total.value.quota, total.value.usage, total.value.limit) == ("total", 3 * size, quotas.total)
        assert "total quota" in str(total.value) and OTHER_OWNER not in str(total.value)
        # a conversation's items count against the same quotas
        with pytest.raises(QuotaExceededError):
            await store.conversation_store().create(OWNER, {}, turn_input("conv", n=40))
        # deleting frees room
        assert await store.delete("resp_1", owner=OWNER)
        await store.create(make_response("resp_3"), turn_input("resp_3"), owner=OWNER)
        # an update that grows a response past the quota is refused, the stored one untouched
        await store.delete("resp_3", owner=OWNER)
        queued = make_response("resp_6", status="in_progress", background=True)
        await store.create(queued, turn_input("resp_6"), owner=OWNER)
        big = [message_out(f"msg_{n}", "x" * 200) for n in range(2 * size // 200)]
        with pytest.raises(QuotaExceededError):
            await store.update(make_response("resp_6", output=big), owner=OWNER)
        assert (await store.get("resp_6", owner=OWNER))["status"] == "in_progress"  # type: ignore[index]


# ---------------------------------------------------------------------------------------- the gateway

KEY_A, KEY_B = "gw-key-alice-quota", "gw-key-bob-quota"
#: Each request's input: large against the responses' own overhead, so two fit in QUOTA and a third does not.
BIG = "x" * 20_000
QUOTA = 50_000


@pytest.fixture
def start(upstream: FakeUpstream, store_backend: Backend) -> Iterator[Callable[..., RunningGateway]]:
    started: list[RunningGateway] = []

    def make(**fields: Any) -> RunningGateway:
        spec = (
            f"{store_backend.spec}?key_prefix={store_backend.prefix}"
            if store_backend.prefix
            else store_backend.spec
        )
        config = load_config(upstream=upstream.url, store=spec)
        gateway = RunningGateway(
            Gateway(dataclasses.replace(config, api_keys=(KEY_A, KEY_B), **fields))
        ).start()
        started.append(gateway)
        return gateway

    yield make
    for gateway in started:
        gateway.stop()


@pytest.fixture
def clients() -> Iterator[Callable[[RunningGateway, str], openai.OpenAI]]:
    made: list[openai.OpenAI] = []

    def make(gateway: RunningGateway, key: str) -> openai.OpenAI:
        made.append(openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0))
        return made[-1]

    yield make
    for sdk in made:
        sdk.close()


def test_an_owner_over_its_quota_gets_413_and_nothing_goes_upstream(
    start: Callable[..., RunningGateway],
    clients: Callable[[RunningGateway, str], openai.OpenAI],
    upstream: FakeUpstream,
) -> None:
    gateway = start(store_quota_per_owner=QUOTA)
    alice, bob = clients(gateway, KEY_A), clients(gateway, KEY_B)
    kept = [alice.responses.create(model="m", input=BIG) for _ in range(2)]
    calls = len(upstream.seen)
    with pytest.raises(openai.APIStatusError) as refused:
        alice.responses.create(model="m", input=BIG)
    assert refused.value.status_code == 413
    error: Any = refused.value.body
    assert error["type"] == "invalid_request_error" and error["code"] == "store_quota_exceeded"
    assert "store_quota_per_owner" in error["message"] and f"{QUOTA:,} bytes" in error["message"]
    assert "store=false" in error["message"] and error["param"] == "store"
    assert len(upstream.seen) == calls  # refused before the upstream was called
    assert alice.responses.create(model="m", input=BIG, store=False).output_text  # not stored: served
    assert bob.responses.create(model="m", input=BIG).id  # another owner still stores
    alice.responses.delete(kept[0].id)  # deleting frees room
    assert alice.responses.retrieve(alice.responses.create(model="m", input=BIG).id).status == "completed"


def test_an_answer_that_could_not_be_stored_says_store_false(
    start: Callable[..., RunningGateway],
    clients: Callable[[RunningGateway, str], openai.OpenAI],
) -> None:
    """The input fits the quota, so the upstream is called; the output does not, so the response is
    answered but not kept: its terminal snapshot says ``store: false`` (it said true when created)."""
    gateway = start(store_quota_per_owner=QUOTA)
    alice = clients(gateway, KEY_A)
    answered = alice.responses.create(model=f"big-{2 * QUOTA}", input="x")
    assert answered.status == "completed" and len(answered.output_text) > QUOTA
    assert answered.store is False
    with pytest.raises(openai.NotFoundError):
        alice.responses.retrieve(answered.id)
    events = [
        event.model_dump(mode="json")
        for event in alice.responses.create(model=f"big-{2 * QUOTA}", input="x", stream=True)
    ]
    validate_responses_events(events)
    assert events[0]["response"]["store"] is True and events[-1]["type"] == "response.completed"
    assert events[-1]["response"]["store"] is False
    with pytest.raises(openai.NotFoundError):
        alice.responses.retrieve(events[-1]["response"]["id"])
    kept = alice.responses.create(model="m", input="x")  # what fits is still stored, and says so
    assert kept.store is True and alice.responses.retrieve(kept.id).status == "completed"


def test_a_full_store_answers_507(
    start: Callable[..., RunningGateway],
    clients: Callable[[RunningGateway, str], openai.OpenAI],
    upstream: FakeUpstream,
) -> None:
    gateway = start(store_quota_total=QUOTA)
    alice, bob = clients(gateway, KEY_A), clients(gateway, KEY_B)
    alice.responses.create(model="m", input=BIG)
    bob.responses.create(model="m", input=BIG)
    calls = len(upstream.seen)
    for sdk in (alice, bob):
        with pytest.raises(openai.APIStatusError) as refused:
            sdk.responses.create(model="m", input=BIG)
        assert refused.value.status_code == 507
        error: Any = refused.value.body
        assert error["type"] == "server_error" and error["code"] == "store_full"
        assert "store_quota_total" in error["message"] and f"{QUOTA:,} bytes" in error["message"]
    with pytest.raises(openai.APIStatusError) as conversation:  # a conversation's items count too
        alice.conversations.create(items=[{"type": "message", "role": "user", "content": BIG}])
    assert conversation.value.status_code == 507
    assert len(upstream.seen) == calls
