"""The conversation store (``translator.gateway.store.conversations``) on every backend: memory, SQLite,
a real Redis (its own key prefix, deleted afterwards)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from support.store_helpers import Backend, message_out, stored_records

from translator.gateway.store import InvalidListParameterError, ResponseTooLargeError, stored_input_items

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def said(*texts: str) -> list[dict[str, Any]]:
    return stored_input_items([{"role": "user", "content": text, "id": f"msg_{text}"} for text in texts])


def ids(page: dict[str, Any] | None) -> list[str]:
    assert page is not None
    return [item["id"] for item in page["data"]]


async def test_conversation_lifecycle_and_pages(store_backend: Backend) -> None:
    async with store_backend.open() as responses:
        store = responses.conversation_store()
        made = await store.create("alice", {"topic": "x"}, said("a", "b"))
        cid = made["id"]
        assert (
            cid.startswith("conv_")
            and made["object"] == "conversation"
            and made["metadata"] == {"topic": "x"}
        )
        assert await store.get("alice", cid) == made
        assert await store.get("bob", cid) is None  # another owner's conversation is absent
        added = await store.add_items("alice", cid, [*said("c", "d"), message_out("msg_e", "e")])
        assert [i["id"] for i in added or []] == ["msg_c", "msg_d", "msg_e"]
        again = await store.add_items("alice", cid, said("a"))  # an id it holds gets a new one
        assert again is not None and again[0]["id"] != "msg_a" and again[0]["id"].startswith("msg_")
        every = ["msg_a", "msg_b", "msg_c", "msg_d", "msg_e", again[0]["id"]]
        assert ids(await store.list_items("alice", cid, order="asc", limit=100)) == every
        assert ids(await store.list_items("alice", cid)) == every[::-1]  # desc by default
        page = await store.list_items("alice", cid, order="asc", limit=2, after="msg_b")
        assert ids(page) == ["msg_c", "msg_d"] and page and page["has_more"] is True
        page = await store.list_items("alice", cid, order="desc", limit=2, after="msg_c")
        assert ids(page) == ["msg_b", "msg_a"] and page and page["has_more"] is False
        assert [item["id"] async for item in store.items("alice", cid)] == every
        assert (await store.get_item("alice", cid, "msg_e")) == message_out("msg_e", "e")
        assert await store.get_item("bob", cid, "msg_e") is None
        assert await store.delete_item("alice", cid, "msg_c") is True
        assert await store.delete_item("alice", cid, "msg_c") is False
        assert await store.delete_item("bob", cid, "msg_d") is None
        assert "msg_c" not in ids(await store.list_items("alice", cid, limit=100))
        updated = await store.update("alice", cid, {"topic": "y"})
        assert updated is not None and updated["metadata"] == {"topic": "y"}
        assert await store.update("bob", cid, {}) is None
        found = await store.find_items("alice", ["msg_a", "msg_e", "msg_zz"])
        assert set(found) == {"msg_a", "msg_e"}
        assert await store.find_items("bob", ["msg_a"]) == {}
        for param, kwargs in (
            ("limit", {"limit": 0}),
            ("order", {"order": "up"}),
            ("after", {"after": "nope"}),
        ):
            with pytest.raises(InvalidListParameterError) as bad:
                await store.list_items("alice", cid, **kwargs)  # type: ignore[arg-type]
            assert bad.value.param == param
        assert await store.delete("bob", cid) is False
        assert await store.delete("alice", cid) is True
        assert await store.get("alice", cid) is None and await store.delete("alice", cid) is False
        assert await store.add_items("alice", cid, said("z")) is None
        assert await store.list_items("alice", cid) is None
        assert await store.find_items("alice", ["msg_a"]) == {}
        assert await stored_records(responses) == 0


async def test_conversations_expire_and_are_capped(store_backend: Backend, tmp_path: Path) -> None:
    async with store_backend.fresh(tmp_path).open(ttl=0.4, max_bytes=2000) as responses:
        store = responses.conversation_store()
        cid = (await store.create("alice", {}, said("a")))["id"]
        await asyncio.sleep(0.25)
        await store.add_items("alice", cid, said("b"))  # a write extends it
        await asyncio.sleep(0.25)
        assert ids(await store.list_items("alice", cid, order="asc")) == ["msg_a", "msg_b"]
        with pytest.raises(ResponseTooLargeError):
            await store.add_items("alice", cid, said("x" * 3000))
        await asyncio.sleep(0.5)
        assert await store.get("alice", cid) is None
        assert await store.find_items("alice", ["msg_a"]) == {}
