"""The response store: one suite, run against every backend (memory, SQLite, a real Redis).

Redis tests use 127.0.0.1:6379 (``TRANSLATOR_TEST_REDIS`` overrides), a key prefix of their own per
test, and delete only their own keys.  They skip, saying why, only when no Redis answers.
"""

from __future__ import annotations

import asyncio
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from support.sdk import check_items, check_list, check_response
from support.store_helpers import (
    OTHER_OWNER,
    OWNER,
    Backend,
    call_out,
    make_response,
    message_out,
    stored_records,
    turn_input,
)

from translator.errors import ConversionError
from translator.gateway.store import (
    DuplicateResponseError,
    InvalidListParameterError,
    InvalidStoreSpecError,
    MemoryResponseStore,
    ResponseInProgressError,
    ResponseNotFoundError,
    ResponseStore,
    ResponseTooLargeError,
    SQLiteResponseStore,
    StoreError,
    StoreUnavailableError,
    default_sqlite_path,
    open_store,
    stored_input_items,
)
from translator.gateway.store.base import PAGE_SIZE

pytestmark = pytest.mark.anyio

WORKER = Path(__file__).resolve().parents[1] / "support" / "store_worker.py"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def collect(store: ResponseStore, response_id: str, *, owner: str = OWNER) -> list[dict[str, Any]]:
    return [item async for item in store.conversation(response_id, owner=owner)]


async def all_input_items(store: ResponseStore, response_id: str, order: str, limit: int) -> list[str]:
    """Every input item id, page by page, following ``last_id`` as the API's clients do."""
    ids: list[str] = []
    after = None
    while True:
        page = check_list(
            await store.input_items(response_id, after=after, limit=limit, order=order, owner=OWNER)
        )  # type: ignore[arg-type]
        assert len(page["data"]) <= limit
        ids += [item["id"] for item in page["data"]]
        if not page["has_more"]:
            return ids
        after = page["last_id"]


async def chain(store: ResponseStore, *ids: str, inputs: int = 1) -> None:
    """Store the responses ``ids``, each continuing the one before."""
    parent = None
    for rid in ids:
        await store.create(make_response(rid, parent=parent), turn_input(rid, inputs), owner=OWNER)
        parent = rid


# ---------------------------------------------------------------------------------------- create / get


async def test_stored_response_comes_back_as_the_api_returns_it(store_backend: Backend) -> None:
    async with store_backend.open() as store:
        response = make_response("resp_a", output=[message_out("msg_a", "hello"), call_out("fc_a", "call_a")])
        await store.create(response, turn_input("resp_a"), owner=OWNER)
        got = check_response(await store.get("resp_a", owner=OWNER))
        assert got == response
        assert list(got) == list(response)  # the API's key order, output in its place
        assert await store.status("resp_a", owner=OWNER) == "completed"


async def test_unknown_ids_are_none_and_store_false_is_refused(store_backend: Backend) -> None:
    async with store_backend.open() as store:
        assert await store.get("resp_missing", owner=OWNER) is None
        assert await store.status("resp_missing", owner=OWNER) is None
        assert await store.input_items("resp_missing", owner=OWNER) is None
        assert await store.cancel("resp_missing", owner=OWNER) is None
        assert await store.delete("resp_missing", owner=OWNER) is False
        with pytest.raises(ResponseNotFoundError) as caught:
            await collect(store, "resp_missing")
        assert caught.value.response_id == "resp_missing"
        unstored = make_response("resp_private")
        unstored["store"] = False
        with pytest.raises(ValueError, match="store: false"):
            await store.create(unstored, turn_input("resp_private"), owner=OWNER)
        assert await store.get("resp_private", owner=OWNER) is None
        for bad_id in ("", "resp with space", "resp_\n", "r" * 257, None):
            bad = make_response("resp_ok")
            bad["id"] = bad_id
            with pytest.raises(ValueError, match="id"):
                await store.create(bad, [], owner=OWNER)


async def test_duplicate_id_and_unknown_parent_are_typed_errors(store_backend: Backend) -> None:
    async with store_backend.open() as store:
        await store.create(make_response("resp_a"), turn_input("resp_a"), owner=OWNER)
        with pytest.raises(DuplicateResponseError) as dup:
            await store.create(make_response("resp_a"), turn_input("resp_a"), owner=OWNER)
        assert dup.value.response_id == "resp_a"
        with pytest.raises(ResponseNotFoundError) as missing:
            await store.create(make_response("resp_b", parent="resp_nope"), turn_input("resp_b"), owner=OWNER)
        assert missing.value.response_id == "resp_nope"
        assert await store.get("resp_b", owner=OWNER) is None


# ---------------------------------------------------------------------------------------- conversation


async def test_conversation_walks_the_chain_oldest_first_with_reasoning(store_backend: Backend) -> None:
    async with store_backend.open() as store:
        await chain(store, "resp_1", "resp_2", "resp_3", inputs=2)
        items = check_items(await collect(store, "resp_3"))
        expected = []
        for rid in ("resp_1", "resp_2", "resp_3"):
            expected += [f"msg_in_{rid}_0", f"msg_in_{rid}_1", f"rs_{rid}", f"msg_{rid}"]
        assert [item["id"] for item in items] == expected
        reasoning = next(item for item in items if item["id"] == "rs_resp_1")
        assert reasoning["encrypted_content"] == "opaque-rs_resp_1"  # kept whole, for replay
        assert [item["id"] for item in await collect(store, "resp_1")] == expected[:4]


async def test_long_conversation_crosses_page_boundaries(store_backend: Backend) -> None:
    async with store_backend.open() as store:
        n = PAGE_SIZE * 2 + 7
        await store.create(make_response("resp_big"), turn_input("resp_big", n), owner=OWNER)
        await store.create(
            make_response("resp_next", parent="resp_big"), turn_input("resp_next"), owner=OWNER
        )
        ids = [item["id"] for item in await collect(store, "resp_next")]
        assert ids[:n] == [f"msg_in_resp_big_{k}" for k in range(n)]
        assert ids[n:] == [
            "rs_resp_big",
            "msg_resp_big",
            "msg_in_resp_next_0",
            "rs_resp_next",
            "msg_resp_next",
        ]


async def test_forks_of_one_response_at_once_each_keep_their_own_branch(store_backend: Backend) -> None:
    async with store_backend.open() as store:
        await chain(store, "resp_root")

        async def fork(n: int) -> None:
            await store.create(
                make_response(f"resp_f{n}", parent="resp_root"), turn_input(f"resp_f{n}", 3), owner=OWNER
            )

        await asyncio.gather(*(fork(n) for n in range(12)))
        root = [item["id"] for item in await collect(store, "resp_root")]
        for n in range(12):
            own = [f"msg_in_resp_f{n}_{k}" for k in range(3)] + [f"rs_resp_f{n}", f"msg_resp_f{n}"]
            assert [item["id"] for item in await collect(store, f"resp_f{n}")] == root + own


# ---------------------------------------------------------------------------------------- input items


async def test_input_items_are_the_parent_conversation_then_own_input(store_backend: Backend) -> None:
    async with store_backend.open() as store:
        await chain(store, "resp_1", "resp_2", inputs=2)
        page = check_list(await store.input_items("resp_2", owner=OWNER))
        # default: newest first, own input, then the parent's output and input; not resp_2's output
        assert [item["id"] for item in page["data"]] == [
            "msg_in_resp_2_1",
            "msg_in_resp_2_0",
            "msg_resp_1",
            "rs_resp_1",
            "msg_in_resp_1_1",
            "msg_in_resp_1_0",
        ]
        assert page["first_id"] == "msg_in_resp_2_1" and page["last_id"] == "msg_in_resp_1_0"
        assert page["has_more"] is False
        first = check_list(await store.input_items("resp_1", order="asc", owner=OWNER))
        assert [item["id"] for item in first["data"]] == ["msg_in_resp_1_0", "msg_in_resp_1_1"]


async def test_input_items_pages_both_ways(store_backend: Backend) -> None:
    async with store_backend.open() as store:
        await chain(store, "resp_1", "resp_2", "resp_3", inputs=5)
        listed = [f"msg_in_resp_{n}_{k}" for n in (1, 2) for k in range(5)]
        listed = [*listed[:5], "rs_resp_1", "msg_resp_1", *listed[5:], "rs_resp_2", "msg_resp_2"]
        listed += [f"msg_in_resp_3_{k}" for k in range(5)]
        for limit in (1, 3, 7, 20, 100):
            assert await all_input_items(store, "resp_3", "asc", limit) == listed
            assert await all_input_items(store, "resp_3", "desc", limit) == listed[::-1]
        default = check_list(await store.input_items("resp_3", owner=OWNER))
        assert len(default["data"]) == 19 and default["has_more"] is False
        middle = check_list(
            await store.input_items("resp_3", after="rs_resp_1", limit=2, order="asc", owner=OWNER)
        )
        assert [item["id"] for item in middle["data"]] == ["msg_resp_1", "msg_in_resp_2_0"]
        assert middle["has_more"] is True
        end = check_list(
            await store.input_items("resp_3", after="msg_in_resp_1_0", order="desc", owner=OWNER)
        )
        assert end["data"] == [] and end["has_more"] is False


async def test_input_items_parameters_are_checked(store_backend: Backend) -> None:
    async with store_backend.open() as store:
        await chain(store, "resp_1", "resp_2")
        for limit in (0, 101, True, "5"):
            with pytest.raises(InvalidListParameterError) as bad_limit:
                await store.input_items("resp_2", limit=limit, owner=OWNER)  # type: ignore[arg-type]
            assert bad_limit.value.param == "limit"
        with pytest.raises(InvalidListParameterError) as bad_order:
            await store.input_items("resp_2", order="newest", owner=OWNER)  # type: ignore[arg-type]
        assert bad_order.value.param == "order"
        for after in ("msg_unknown", "msg_resp_2"):  # resp_2's own output is not among its input items
            with pytest.raises(InvalidListParameterError) as bad_after:
                await store.input_items("resp_2", after=after, owner=OWNER)
            assert bad_after.value.param == "after" and after in str(bad_after.value)


async def test_input_items_with_a_repeated_item_id(store_backend: Backend) -> None:
    """A client may resend an item id the chain already has; the cursor resumes after its first
    occurrence in the listing order, so paging never loops."""
    async with store_backend.open() as store:
        await chain(store, "resp_1")
        resent = stored_input_items([{"id": "msg_in_resp_1_0", "role": "user", "content": "again"}])
        await store.create(make_response("resp_2", parent="resp_1"), resent, owner=OWNER)
        listed = ["msg_in_resp_1_0", "rs_resp_1", "msg_resp_1", "msg_in_resp_1_0"]
        for limit in (1, 2, 5):
            assert await all_input_items(store, "resp_2", "asc", limit) == listed
            assert await all_input_items(store, "resp_2", "desc", limit) == listed[::-1]


# ---------------------------------------------------------------------------------------- update / cancel


async def test_background_lifecycle_and_cancel_from_another_store(store_backend: Backend) -> None:
    if store_backend.name == "memory":
        pytest.skip("a memory store is not shared: another instance cannot see it")
    async with store_backend.open() as runner, store_backend.open() as other:
        queued = make_response("resp_bg", status="queued", output=[], background=True)
        await runner.create(queued, turn_input("resp_bg"), owner=OWNER)
        assert await other.status("resp_bg", owner=OWNER) == "queued"
        with pytest.raises(ResponseInProgressError) as early:  # nothing continues from a running response
            await other.create(
                make_response("resp_early", parent="resp_bg"), turn_input("resp_early"), owner=OWNER
            )
        assert early.value.response_id == "resp_bg"
        assert await runner.update(
            make_response("resp_bg", status="in_progress", output=[], background=True), owner=OWNER
        )
        cancelled = check_response(await other.cancel("resp_bg", owner=OWNER))
        assert cancelled["status"] == "cancelled" and cancelled["background"] is True
        assert await runner.status("resp_bg", owner=OWNER) == "cancelled"  # what the running instance polls
        late = make_response("resp_bg", background=True)
        assert await runner.update(late, owner=OWNER) is False  # the cancel wins over a late result
        assert (await other.get("resp_bg", owner=OWNER))["status"] == "cancelled"  # type: ignore[index]
        partial = make_response(
            "resp_bg", status="cancelled", output=[message_out("msg_p", "par")], background=True
        )
        assert await runner.update(partial, owner=OWNER) is True
        assert check_response(await other.get("resp_bg", owner=OWNER)) == partial
        assert (await other.cancel("resp_bg", owner=OWNER))["status"] == "cancelled"  # type: ignore[index]


async def test_update_replaces_output_and_cancel_leaves_finished_responses(store_backend: Backend) -> None:
    async with store_backend.open() as store:
        await store.create(
            make_response("resp_u", status="in_progress", output=[]), turn_input("resp_u"), owner=OWNER
        )
        with pytest.raises(ResponseInProgressError):
            await store.create(
                make_response("resp_early", parent="resp_u"), turn_input("resp_early"), owner=OWNER
            )
        done = make_response("resp_u", output=[call_out("fc_u", "call_u"), message_out("msg_u", "done")])
        assert await store.update(done, owner=OWNER) is True
        assert check_response(await store.get("resp_u", owner=OWNER)) == done
        assert (await store.cancel("resp_u", owner=OWNER))["status"] == "completed"  # type: ignore[index]
        # finished: its output is fixed
        assert await store.update(make_response("resp_u", output=[]), owner=OWNER) is False
        assert await store.get("resp_u", owner=OWNER) == done
        assert [item["id"] for item in await collect(store, "resp_u")] == ["msg_in_resp_u_0", "fc_u", "msg_u"]
        assert await store.update(make_response("resp_gone"), owner=OWNER) is False
        # the new output is what the cursor and the next turn see
        await store.create(make_response("resp_v", parent="resp_u"), turn_input("resp_v"), owner=OWNER)
        page = check_list(await store.input_items("resp_v", after="fc_u", order="asc", owner=OWNER))
        assert [item["id"] for item in page["data"]] == ["msg_u", "msg_in_resp_v_0"]


# ---------------------------------------------------------------------------------------- owners


async def test_another_owners_response_does_not_exist(store_backend: Backend) -> None:
    async with store_backend.open() as store:
        await chain(store, "resp_1", "resp_2")
        queued = make_response("resp_bg", status="queued", output=[], background=True)
        await store.create(queued, turn_input("resp_bg"), owner=OWNER)
        for rid in ("resp_1", "resp_2", "resp_bg"):
            assert await store.get(rid, owner=OTHER_OWNER) is None
            assert await store.status(rid, owner=OTHER_OWNER) is None
            assert await store.input_items(rid, owner=OTHER_OWNER) is None
            assert await store.cancel(rid, owner=OTHER_OWNER) is None
            assert await store.update(make_response(rid, status="cancelled"), owner=OTHER_OWNER) is False
            assert await store.delete(rid, owner=OTHER_OWNER) is False
            with pytest.raises(ResponseNotFoundError):
                await collect(store, rid, owner=OTHER_OWNER)
        with pytest.raises(ResponseNotFoundError) as caught:  # continuing it: as if it did not exist
            await store.create(
                make_response("resp_theirs", parent="resp_2"), turn_input("resp_theirs"), owner=OTHER_OWNER
            )
        assert caught.value.response_id == "resp_2"
        assert await store.get("resp_theirs", owner=OTHER_OWNER) is None
        with pytest.raises(DuplicateResponseError):  # an id is taken whoever holds it
            await store.create(make_response("resp_1"), [], owner=OTHER_OWNER)
        # nothing the other owner did touched them
        assert (await store.status("resp_bg", owner=OWNER)) == "queued"
        assert check_response(await store.get("resp_2", owner=OWNER)) == make_response(
            "resp_2", parent="resp_1"
        )
        assert len(await collect(store, "resp_2")) == 6
        # each owner's own responses, side by side
        await store.create(make_response("resp_o"), turn_input("resp_o"), owner=OTHER_OWNER)
        assert await store.get("resp_o", owner=OWNER) is None
        assert await store.get("resp_o", owner=OTHER_OWNER) is not None


async def test_owners_are_checked(store_backend: Backend) -> None:
    async with store_backend.open() as store:
        for bad in ("", "has space", "o" * 129, None):
            with pytest.raises(ValueError, match="owner"):
                await store.create(make_response("resp_x"), [], owner=bad)  # type: ignore[arg-type]
            with pytest.raises(ValueError, match="owner"):
                await store.get("resp_x", owner=bad)  # type: ignore[arg-type]
        assert await store.get("resp_x", owner=OWNER) is None  # nothing was written


async def test_owner_secret_is_one_per_store(store_backend: Backend) -> None:
    async with store_backend.open() as store:
        secret = await store.owner_secret()
        assert len(secret) == 32 and await store.owner_secret() == secret
        if store_backend.name == "memory":
            async with store_backend.open() as another:
                assert await another.owner_secret() != secret  # each memory store is its own
            return
        async with store_backend.open() as reopened:  # another process's store on the same file or prefix
            assert await reopened.owner_secret() == secret
        if store_backend.name == "redis":
            redis = store._redis  # type: ignore[attr-defined]
            key = f"{store_backend.prefix}owner_secret"
            assert 0 < await redis.pttl(key) <= store.ttl * 1000 * 1.02
            await redis.pexpire(key, 1000)  # a new response keeps the secret as long as itself
            await store.create(make_response("resp_s"), [], owner=OWNER)
            assert await redis.pttl(key) >= store.ttl * 1000


async def test_sqlite_file_of_version_1_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(V1_SCHEMA)
        db.execute(
            "INSERT INTO responses (id, parent, body, status, n_input, n_output, input_size, size,"
            " created_at, expires_at) VALUES ('resp_old', NULL, ?, 'completed', 0, 0, 2, 2, 0, ?)",
            (orjson.dumps(make_response("resp_old")), time.time() + 3600),
        )
        db.execute("PRAGMA user_version = 1")
    async with open_store(f"sqlite:{path}") as store:
        assert await store.get("resp_old", owner=OWNER) is None  # stored before owners: nobody's
        await chain(store, "resp_new")
        assert await store.get("resp_new", owner=OWNER) is not None
        assert len(await store.owner_secret()) == 32
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 3
        owners = dict(db.execute("SELECT id, owner FROM responses").fetchall())
    assert owners == {"resp_old": "", "resp_new": OWNER}


#: The schema of version 1 files (before owners), as that version wrote it.
V1_SCHEMA = """
CREATE TABLE responses (
    id TEXT PRIMARY KEY, parent TEXT, body BLOB, status TEXT NOT NULL, n_input INTEGER NOT NULL,
    n_output INTEGER NOT NULL, input_size INTEGER NOT NULL, size INTEGER NOT NULL, created_at REAL NOT NULL,
    expires_at REAL NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, children INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX responses_by_expiry ON responses(expires_at);
CREATE TABLE items (
    response_id TEXT NOT NULL REFERENCES responses(id) ON DELETE CASCADE, part INTEGER NOT NULL,
    seq INTEGER NOT NULL, item_id TEXT, body BLOB NOT NULL, PRIMARY KEY (response_id, part, seq)
) WITHOUT ROWID;
CREATE INDEX items_by_item_id ON items(item_id) WHERE item_id IS NOT NULL;
"""


# ---------------------------------------------------------------------------------------- delete


async def test_delete_keeps_the_conversation_of_responses_continuing_from_it(store_backend: Backend) -> None:
    async with store_backend.open() as store:
        await chain(store, "resp_1", "resp_2", "resp_3")
        before = [item["id"] for item in await collect(store, "resp_3")]
        assert await store.delete("resp_2", owner=OWNER) is True
        assert await store.delete("resp_2", owner=OWNER) is False
        assert await store.get("resp_2", owner=OWNER) is None
        assert await store.status("resp_2", owner=OWNER) is None
        assert await store.input_items("resp_2", owner=OWNER) is None
        assert await store.cancel("resp_2", owner=OWNER) is None
        with pytest.raises(ResponseNotFoundError):
            await collect(store, "resp_2")
        with pytest.raises(ResponseNotFoundError):
            await store.create(make_response("resp_x", parent="resp_2"), turn_input("resp_x"), owner=OWNER)
        assert [item["id"] for item in await collect(store, "resp_3")] == before
        assert "msg_resp_2" in await all_input_items(store, "resp_3", "asc", 100)
        await store.create(make_response("resp_4", parent="resp_3"), turn_input("resp_4"), owner=OWNER)
        assert [item["id"] for item in await collect(store, "resp_4")][: len(before)] == before


async def test_deleting_every_response_leaves_nothing_behind(store_backend: Backend) -> None:
    async with store_backend.open() as store:
        await chain(store, "resp_1", "resp_2", "resp_3")
        await store.create(make_response("resp_2b", parent="resp_1"), turn_input("resp_2b"), owner=OWNER)
        for rid in ("resp_1", "resp_2", "resp_3"):  # parents first: tombstones, purged with their last child
            assert await store.delete(rid, owner=OWNER) is True
        assert await stored_records(store) > 0
        assert await store.delete("resp_2b", owner=OWNER) is True
        assert await stored_records(store) == 0


# ---------------------------------------------------------------------------------------- item references


async def test_find_items_reads_input_and_output_items_of_live_responses(store_backend: Backend) -> None:
    async with store_backend.open() as store:
        await chain(store, "resp_1", "resp_2")
        found = await store.find_items(
            ["msg_resp_1", "rs_resp_2", "msg_in_resp_2_0", "msg_nowhere", "rs_resp_2"], owner=OWNER
        )
        assert set(found) == {"msg_resp_1", "rs_resp_2", "msg_in_resp_2_0"}
        assert found["msg_resp_1"] == message_out("msg_resp_1", "reply")
        assert found["rs_resp_2"]["encrypted_content"] == "opaque-rs_resp_2"
        assert found["msg_in_resp_2_0"]["content"][0]["text"] == "question 0 of resp_2"
        assert await store.find_items([], owner=OWNER) == {}
        # the same id stored again: the latest holder is read
        again = make_response("resp_3", parent="resp_2", output=[message_out("msg_resp_1", "newer")])
        await store.create(again, turn_input("resp_3"), owner=OWNER)
        assert (await store.find_items(["msg_resp_1"], owner=OWNER))["msg_resp_1"]["content"][0][
            "text"
        ] == "newer"
        # a background response's output, once it is written
        await store.create(
            make_response("resp_bg", status="in_progress", output=[]), turn_input("resp_bg"), owner=OWNER
        )
        assert await store.find_items(["msg_late"], owner=OWNER) == {}
        await store.update(make_response("resp_bg", output=[message_out("msg_late", "late")]), owner=OWNER)
        assert set(await store.find_items(["msg_late", "msg_in_resp_bg_0"], owner=OWNER)) == {
            "msg_late",
            "msg_in_resp_bg_0",
        }
        assert await store.find_items(["msg_resp_1", "msg_late"], owner=OTHER_OWNER) == {}  # only the owner's
        # deleted responses' items are gone, also while a child keeps them for its conversation
        assert await store.delete("resp_1", owner=OWNER) is True
        assert "msg_in_resp_1_0" not in await store.find_items(["msg_in_resp_1_0"], owner=OWNER)
        assert await store.delete("resp_bg", owner=OWNER) is True
        assert await store.find_items(["msg_late"], owner=OWNER) == {}


async def test_find_items_keeps_each_owners_item_with_the_same_id(store_backend: Backend) -> None:
    """Owners choose input item ids: the same id stored by two owners resolves to each one's own item."""

    def said(text: str) -> list[dict[str, Any]]:
        return stored_input_items([{"role": "user", "content": text, "id": "msg_same"}])

    async with store_backend.open() as store:
        await store.create(make_response("resp_a"), said("from A"), owner=OWNER)
        await store.create(make_response("resp_b"), said("from B"), owner=OTHER_OWNER)
        for owner, text in ((OWNER, "from A"), (OTHER_OWNER, "from B")):
            found = await store.find_items(["msg_same"], owner=owner)
            assert found["msg_same"]["content"][0]["text"] == text
        assert await store.delete("resp_b", owner=OTHER_OWNER)
        assert await store.find_items(["msg_same"], owner=OTHER_OWNER) == {}
        kept = await store.find_items(["msg_same"], owner=OWNER)
        assert kept["msg_same"]["content"][0]["text"] == "from A"
        conversations = store.conversation_store()
        await conversations.create(OWNER, {}, said("conversation of A"))
        await conversations.create(OTHER_OWNER, {}, said("conversation of B"))
        for owner, text in ((OWNER, "conversation of A"), (OTHER_OWNER, "conversation of B")):
            found = await conversations.find_items(owner, ["msg_same"])
            assert found["msg_same"]["content"][0]["text"] == text


async def test_find_items_after_expiry_and_purge(store_backend: Backend, tmp_path: Path) -> None:
    async with store_backend.open(ttl=0.3) as store:
        await chain(store, "resp_old")
        assert set(await store.find_items(["msg_resp_old"], owner=OWNER)) == {"msg_resp_old"}
        await asyncio.sleep(0.45)
        assert await store.find_items(["msg_resp_old", "msg_in_resp_old_0"], owner=OWNER) == {}
    async with store_backend.fresh(tmp_path).open() as store:
        await chain(store, "resp_1", "resp_2")
        for rid in ("resp_1", "resp_2"):
            assert await store.delete(rid, owner=OWNER) is True
        assert await stored_records(store) == 0  # the item pointers went with them


# ---------------------------------------------------------------------------------------- event logs


def events(first: int, n: int, *, last: bool = False) -> list[dict[str, Any]]:
    out = [{"type": "response.output_text.delta", "sequence_number": first + k} for k in range(n)]
    if last:
        out[-1]["type"] = "response.completed"
    return out


async def test_event_logs_append_read_after_and_close(store_backend: Backend, tmp_path: Path) -> None:
    async with store_backend.open() as store:
        assert await store.events_after("resp_bg", -1, owner=OWNER) is None
        await store.append_events("resp_bg", [], owner=OWNER)
        assert await store.events_after("resp_bg", -1, owner=OWNER) == ([], False)
        await store.append_events("resp_bg", events(0, 3), owner=OWNER)
        await store.append_events("resp_bg", events(3, 2), owner=OWNER)
        found, last = await store.events_after("resp_bg", 1, owner=OWNER)  # type: ignore[misc]
        assert [e["sequence_number"] for e in found] == [2, 3, 4] and last is False
        page, last = await store.events_after("resp_bg", -1, limit=2, owner=OWNER)  # type: ignore[misc]
        assert [e["sequence_number"] for e in page] == [0, 1] and last is False
        await store.append_events(
            "resp_bg", events(3, 3, last=True), owner=OWNER, closed=True
        )  # a retried append rewrites
        found, last = await store.events_after("resp_bg", 2, owner=OWNER)  # type: ignore[misc]
        assert [e["sequence_number"] for e in found] == [3, 4, 5] and last is True
        assert found[-1]["type"] == "response.completed"
        assert await store.events_after("resp_bg", 5, owner=OWNER) == ([], True)
        # another store on the same backend reads the same log
        if store_backend.name != "memory":
            async with store_backend.open() as other:
                assert len((await other.events_after("resp_bg", -1, owner=OWNER))[0]) == 6  # type: ignore[index]
    async with store_backend.fresh(tmp_path).open(ttl=0.3) as short:
        await short.append_events("resp_short", events(0, 1), owner=OWNER)
        await asyncio.sleep(0.45)
        assert await short.events_after("resp_short", -1, owner=OWNER) is None


async def test_event_logs_are_their_owners_and_go_with_their_response(store_backend: Backend) -> None:
    async with store_backend.open() as store:
        await store.create(make_response("resp_bg2", status="queued", background=True), [], owner=OWNER)
        await store.append_events("resp_bg2", events(0, 2), owner=OWNER)
        assert await store.events_after("resp_bg2", -1, owner=OTHER_OWNER) is None
        await store.append_events("resp_bg2", events(0, 1, last=True), owner=OTHER_OWNER, closed=True)
        found, last = await store.events_after("resp_bg2", -1, owner=OWNER)  # type: ignore[misc]
        assert [e["sequence_number"] for e in found] == [0, 1] and last is False  # untouched
        assert await store.delete("resp_bg2", owner=OWNER)
        assert await store.events_after("resp_bg2", -1, owner=OWNER) is None


# ---------------------------------------------------------------------------------------- expiry


async def test_expiry(store_backend: Backend) -> None:
    async with store_backend.open(ttl=0.3) as store:
        await chain(store, "resp_old")
        assert await store.get("resp_old", owner=OWNER) is not None
        await asyncio.sleep(0.45)
        assert await store.get("resp_old", owner=OWNER) is None
        assert await store.status("resp_old", owner=OWNER) is None
        assert await store.input_items("resp_old", owner=OWNER) is None
        assert await store.delete("resp_old", owner=OWNER) is False
        with pytest.raises(ResponseNotFoundError):
            await collect(store, "resp_old")
        with pytest.raises(ResponseNotFoundError):
            await store.create(
                make_response("resp_late", parent="resp_old"), turn_input("resp_late"), owner=OWNER
            )
        await chain(store, "resp_old")  # the id is free again


async def test_continuing_keeps_the_ancestors_as_long_as_the_new_response(store_backend: Backend) -> None:
    ttl = 0.8
    async with store_backend.open(ttl=ttl) as store:
        await chain(store, "resp_a")
        a_stored = time.monotonic()  # resp_a's own expiry is before a_stored + ttl
        await asyncio.sleep(0.4)
        b_started = time.monotonic()  # resp_b's expiry is after b_started + ttl
        await store.create(make_response("resp_b", parent="resp_a"), turn_input("resp_b"), owner=OWNER)
        b_stored = time.monotonic()
        await asyncio.sleep(max(0.0, a_stored + ttl + 0.05 - time.monotonic()))
        assert time.monotonic() < b_started + ttl, "too slow to observe the extension"
        assert await store.get("resp_a", owner=OWNER) is not None
        assert [item["id"] for item in await collect(store, "resp_b")][:3] == [
            "msg_in_resp_a_0",
            "rs_resp_a",
            "msg_resp_a",
        ]
        await asyncio.sleep(max(0.0, b_stored + ttl + 0.05 - time.monotonic()))
        assert (
            await store.get("resp_b", owner=OWNER) is None and await store.get("resp_a", owner=OWNER) is None
        )


# ---------------------------------------------------------------------------------------- size cap


async def test_byte_cap(store_backend: Backend) -> None:
    async with store_backend.open(max_bytes=4000) as store:
        big = make_response("resp_big", output=[message_out("msg_big", "x" * 5000)])
        with pytest.raises(ResponseTooLargeError) as caught:
            await store.create(big, turn_input("resp_big"), owner=OWNER)
        assert caught.value.response_id == "resp_big" and caught.value.limit == 4000
        assert caught.value.size > 5000 and "4000" in str(caught.value)
        assert await store.get("resp_big", owner=OWNER) is None
        with pytest.raises(ResponseTooLargeError):
            await store.create(
                make_response("resp_in"), turn_input("resp_in", 100), owner=OWNER
            )  # input alone too large
        small = make_response("resp_s", status="in_progress", output=[])
        await store.create(small, turn_input("resp_s"), owner=OWNER)
        with pytest.raises(ResponseTooLargeError) as on_update:
            await store.update(
                make_response("resp_s", output=[message_out("msg_s", "y" * 5000)]), owner=OWNER
            )
        assert on_update.value.response_id == "resp_s"
        assert await store.get("resp_s", owner=OWNER) == small  # unchanged


# ---------------------------------------------------------------------------------------- persistence


async def test_sqlite_reopened_from_the_file_keeps_state(tmp_path: Path) -> None:
    path = tmp_path / "state" / "r.sqlite3"
    async with open_store(f"sqlite:{path}") as store:
        await chain(store, "resp_1", "resp_2")
        await store.delete("resp_1", owner=OWNER)
        expected = (
            await store.get("resp_2", owner=OWNER),
            await collect(store, "resp_2"),
            await store.input_items("resp_2", owner=OWNER),
        )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    async with open_store(f"sqlite:{path}") as reopened:
        assert (
            await reopened.get("resp_2", owner=OWNER),
            await collect(reopened, "resp_2"),
            await reopened.input_items("resp_2", owner=OWNER),
        ) == expected
        assert await reopened.get("resp_1", owner=OWNER) is None
        await reopened.create(make_response("resp_3", parent="resp_2"), turn_input("resp_3"), owner=OWNER)
        assert len(await collect(reopened, "resp_3")) == len(expected[1]) + 3


async def test_sqlite_refuses_a_file_of_another_schema(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    async with open_store(f"sqlite:{path}") as store:
        with pytest.raises(StoreError, match="schema version 99"):
            await store.get("resp_x", owner=OWNER)


async def test_sqlite_that_cannot_be_opened_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "not-a-db.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    async with open_store(f"sqlite:{path}") as store:
        with pytest.raises(StoreUnavailableError, match="not-a-db"):
            await store.check()
    (tmp_path / "file").write_text("x")
    store = open_store(f"sqlite:{tmp_path / 'file' / 'db.sqlite3'}")  # its directory cannot be made
    with pytest.raises(StoreUnavailableError, match=r"db\.sqlite3"):
        await store.create(make_response("resp_x"), [], owner=OWNER)
    await store.close()
    await store.close()  # closing twice is harmless


def _worker(backend: Backend, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), backend.spec, backend.prefix or "", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _result(proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    return orjson.loads(out)  # type: ignore[no-any-return]


async def test_two_processes_share_one_store(store_backend: Backend) -> None:
    if store_backend.name == "memory":
        pytest.skip("a memory store lives in one process")
    async with store_backend.open() as store:
        await chain(store, "resp_root")
        forks = [_worker(store_backend, "fork", "resp_root", "6", tag) for tag in ("p", "q")]
        created = [rid for proc in forks for rid in _result(proc)["created"]]
        assert len(created) == 24
        root = [item["id"] for item in await collect(store, "resp_root")]
        for tag in ("p", "q"):
            for n in range(6):
                child, grandchild = f"resp_{tag}_{n}", f"resp_{tag}_{n}_next"
                branch = [f"msg_in_{child}_0", f"msg_in_{child}_1", f"rs_{child}", f"msg_{child}"]
                tail = [f"msg_in_{grandchild}_0", f"rs_{grandchild}", f"msg_{grandchild}"]
                assert [item["id"] for item in await collect(store, grandchild)] == root + branch + tail
        # a turn made by one process, continued by another, read back here
        history = _result(_worker(store_backend, "continue", "resp_q_5_next", "resp_turn"))["history"]
        assert history == [item["id"] for item in await collect(store, "resp_q_5_next")]
        assert check_response(await store.get("resp_turn", owner=OWNER)) == make_response(
            "resp_turn", parent="resp_q_5_next"
        )
        page = check_list(await store.input_items("resp_turn", order="asc", limit=100, owner=OWNER))
        assert [item["id"] for item in page["data"]] == [*history, "msg_in_resp_turn_0"]


# ---------------------------------------------------------------------------------------- specs and errors


def test_open_store_specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert default_sqlite_path() == tmp_path / "xdg" / "translator" / "responses.sqlite3"
    default = open_store()
    assert isinstance(default, SQLiteResponseStore) and default.path == default_sqlite_path()
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert (
        default_sqlite_path() == tmp_path / "home" / ".local" / "state" / "translator" / "responses.sqlite3"
    )
    explicit = open_store("sqlite:~/db.sqlite3", ttl=5, max_bytes=10)
    assert isinstance(explicit, SQLiteResponseStore) and explicit.path == tmp_path / "home" / "db.sqlite3"
    assert (explicit.ttl, explicit.max_bytes) == (5.0, 10)
    assert isinstance(open_store("memory"), MemoryResponseStore)
    shared = open_store("redis://127.0.0.1:6379/2?key_prefix=team-a:")
    assert shared.key_prefix == "team-a:" and shared.where == "127.0.0.1:6379/2"  # type: ignore[attr-defined]
    assert open_store("redis://127.0.0.1:6379/2", key_prefix="x:").key_prefix == "x:"  # type: ignore[attr-defined]
    assert open_store("redis://127.0.0.1").key_prefix == "translator:"  # type: ignore[attr-defined]
    for bad in ("postgres://u:hunter2@db/x", "sqlite:", "mem", ""):
        with pytest.raises(InvalidStoreSpecError) as caught:
            open_store(bad)
        assert "hunter2" not in str(caught.value)
    with pytest.raises(InvalidStoreSpecError, match="directory"):
        open_store(f"sqlite:{tmp_path}")
    with pytest.raises(ValueError, match="ttl"):
        open_store("memory", ttl=0)


async def test_unreachable_redis_is_a_clear_error_without_the_password() -> None:
    async with open_store("redis://:hunter2@127.0.0.1:1/0") as store:
        for call in (
            store.check(),
            store.get("resp_x", owner=OWNER),
            store.create(make_response("resp_x"), [], owner=OWNER),
        ):
            with pytest.raises(StoreUnavailableError) as caught:
                await call
            assert "127.0.0.1:1/0" in str(caught.value) and "hunter2" not in str(caught.value)


# ---------------------------------------------------------------------------------------- stored input items


def test_stored_input_items_have_the_api_shape() -> None:
    items = check_items(
        stored_input_items(
            [
                {"role": "developer", "content": "be brief"},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
                {"role": "assistant", "content": "earlier answer"},
                {
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "parts"}],
                    "id": "msg_kept",
                },
                {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "call_1", "output": "42"},
                {"type": "reasoning", "summary": [], "encrypted_content": "opaque"},
            ]
        )
    )
    assert [item["id"][: item["id"].index("_")] for item in items] == [
        "msg",
        "msg",
        "msg",
        "msg",
        "fc",
        "fco",
        "rs",
    ]
    assert items[0]["content"] == [{"type": "input_text", "text": "be brief"}]
    assert items[2]["content"] == [{"type": "output_text", "text": "earlier answer", "annotations": []}]
    assert items[3]["id"] == "msg_kept" and items[3]["content"][0]["annotations"] == []
    assert all(item["status"] == "completed" for item in items[:6]) and "status" not in items[6]
    assert items[6]["encrypted_content"] == "opaque"
    [single] = check_items(stored_input_items("hello"))
    assert single["role"] == "user" and single["content"] == [{"type": "input_text", "text": "hello"}]
    reference = {"type": "item_reference", "id": "msg_x"}
    assert stored_input_items([reference]) == [reference]


@pytest.mark.parametrize(
    ("bad", "path"),
    [
        (42, "input"),
        (["text"], "input[0]"),
        ([{"role": "tool", "content": "x"}], "input[0].role"),
        ([{"role": "user", "content": 3}], "input[0].content"),
        ([{"type": 7}], "input[0].type"),
    ],
)
def test_stored_input_items_errors_name_the_path(bad: Any, path: str) -> None:
    with pytest.raises(ConversionError) as caught:
        stored_input_items(bad)
    assert caught.value.path == path
