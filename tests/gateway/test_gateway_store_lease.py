"""Background runs' leases in the response store, on all three backends: a lease taken with the queued
response, renewed, released; a reader that finds it lapsed finalizes the response ``failed`` once (two
readers at once: one write), closing its event log with ``response.failed``; a renewed lease is never
finalized, and a renew after the finalize finds the lease gone."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from support.sdk import check_response
from support.store_helpers import OWNER, Backend, make_response, message_out, turn_input

from translator.gateway.background_runs import BackgroundRuns
from translator.gateway.store import MemoryResponseStore, ResponseStore
from translator.gateway.store.base import LAPSED_ERROR, Lapsed

pytestmark = pytest.mark.anyio

LEASE = 0.4
#: Longer than LEASE, so that a lease not renewed has lapsed.
PAST_LEASE = 0.6


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _events(first: int, count: int) -> list[dict[str, Any]]:
    return [
        {"type": "response.output_text.delta", "sequence_number": n, "delta": "x"}
        for n in range(first, first + count)
    ]


@contextlib.asynccontextmanager
async def _two(backend: Backend) -> AsyncIterator[tuple[ResponseStore, ResponseStore]]:
    """Two stores on the backend, as two gateway instances have (one, twice, for memory)."""
    async with backend.open() as first:
        if backend.name == "memory":
            yield first, first
            return
        async with backend.open() as second:
            yield first, second


async def _start(store: ResponseStore, response_id: str, *, lease: float | None = LEASE) -> dict[str, Any]:
    """A run's beginning: the queued response with its lease, its log, in progress with some output."""
    queued = make_response(response_id, status="queued", output=[], background=True)
    await store.create(queued, turn_input(response_id), owner=OWNER, lease=lease)
    await store.append_events(response_id, [], owner=OWNER)
    running = {**queued, "status": "in_progress", "output": [message_out(f"msg_{response_id}", "part")]}
    assert await store.update(running, owner=OWNER)
    await store.append_events(response_id, _events(0, 3), owner=OWNER)
    return running


def _count_finalizes(store: ResponseStore, done: list[str]) -> None:
    """Record each finalize ``store`` writes (not those that found the response settled)."""
    write = store._finalize

    async def counted(lapsed: Lapsed) -> bool:
        wrote = await write(lapsed)
        if wrote:
            done.append(lapsed.response_id)
        return wrote

    store._finalize = counted  # type: ignore[method-assign]


async def test_a_lapsed_lease_is_finalized_failed_once_by_two_readers(store_backend: Backend) -> None:
    async with _two(store_backend) as (runner, reader):
        running = await _start(runner, "resp_dead")
        assert await runner.renew_lease("resp_dead", owner=OWNER, seconds=LEASE)
        assert (await reader.get("resp_dead", owner=OWNER))["status"] == "in_progress"  # type: ignore[index]
        await asyncio.sleep(PAST_LEASE)  # the runner died: no renew
        writes: list[str] = []
        for store in {id(runner): runner, id(reader): reader}.values():
            _count_finalizes(store, writes)
        first, second, status, polled = await asyncio.gather(
            runner.get("resp_dead", owner=OWNER),
            reader.get("resp_dead", owner=OWNER),
            reader.status("resp_dead", owner=OWNER),
            reader.events_after("resp_dead", 2, owner=OWNER),
        )
        assert writes == ["resp_dead"]  # one write, whoever came first
        failed = {**running, "status": "failed", "error": LAPSED_ERROR}
        assert check_response(first) == failed and check_response(second) == failed  # its output kept
        assert status == "failed"
        assert polled is not None
        found, last = await reader.events_after("resp_dead", -1, owner=OWNER)  # type: ignore[misc]
        assert [event["sequence_number"] for event in found] == [0, 1, 2, 3] and last is True
        assert found[-1] == {"type": "response.failed", "sequence_number": 3, "response": failed}
        # the runner, back late, finds its lease gone and can change nothing
        assert not await runner.renew_lease("resp_dead", owner=OWNER, seconds=LEASE)
        await runner.append_events("resp_dead", _events(3, 2), owner=OWNER)
        assert await runner.update(make_response("resp_dead", background=True), owner=OWNER) is False
        assert await reader.get("resp_dead", owner=OWNER) == failed
        assert (await reader.events_after("resp_dead", -1, owner=OWNER))[0] == found  # type: ignore[index]
        # finished: it can be continued, and a cancel leaves it failed
        assert (await reader.cancel("resp_dead", owner=OWNER))["status"] == "failed"  # type: ignore[index]
        await reader.create(
            make_response("resp_next", parent="resp_dead"), turn_input("resp_next"), owner=OWNER
        )
        assert writes == ["resp_dead"]


async def test_a_renewed_lease_is_never_finalized(store_backend: Backend) -> None:
    async with _two(store_backend) as (runner, reader):
        await _start(runner, "resp_alive")
        for _ in range(6):  # renewed every third of the lease, read meanwhile by another instance
            await asyncio.sleep(LEASE / 3)
            assert await runner.renew_lease("resp_alive", owner=OWNER, seconds=LEASE)
            assert await reader.status("resp_alive", owner=OWNER) == "in_progress"
            assert (await reader.events_after("resp_alive", 2, owner=OWNER)) == ([], False)
        # lapsed but read by nobody: a late renew still wins (the first write wins)
        await asyncio.sleep(PAST_LEASE)
        assert await runner.renew_lease("resp_alive", owner=OWNER, seconds=LEASE)
        assert (await reader.get("resp_alive", owner=OWNER))["status"] == "in_progress"  # type: ignore[index]
        # its own end, then the release: it stays as it ended
        done = make_response("resp_alive", background=True)
        assert await runner.update(done, owner=OWNER)
        await runner.release_lease("resp_alive", owner=OWNER)
        await asyncio.sleep(0.05)
        assert await reader.get("resp_alive", owner=OWNER) == done


async def test_readers_that_finalize_and_responses_without_a_lease(store_backend: Backend) -> None:
    async with _two(store_backend) as (runner, reader):
        # a run released without writing its end (it could not) is finalized by the next reader
        await _start(runner, "resp_released")
        await runner.release_lease("resp_released", owner=OWNER)
        assert await reader.status("resp_released", owner=OWNER) == "failed"
        # continuing from it (the status read by conversation), and a cancel
        await _start(runner, "resp_parent")
        await _start(runner, "resp_cancelled")
        await asyncio.sleep(PAST_LEASE)
        conversation = [item["id"] async for item in reader.conversation("resp_parent", owner=OWNER)]
        assert conversation == ["msg_in_resp_parent_0", "msg_resp_parent"]
        assert (await reader.get("resp_parent", owner=OWNER))["status"] == "failed"  # type: ignore[index]
        child = make_response("resp_child", parent="resp_parent")
        await reader.create(child, turn_input("resp_child"), owner=OWNER)
        cancelled = await reader.cancel("resp_cancelled", owner=OWNER)
        assert cancelled is not None and cancelled["status"] == "failed"
        assert cancelled["error"] == LAPSED_ERROR
        # without a lease (stored before leases existed): never finalized
        await _start(runner, "resp_unleased", lease=None)
        await asyncio.sleep(0.05)
        assert await reader.status("resp_unleased", owner=OWNER) == "in_progress"
        assert not await runner.renew_lease("resp_unleased", owner=OWNER, seconds=LEASE)
        with pytest.raises(ValueError, match="lease"):
            await runner.create(make_response("resp_bad", status="queued"), [], owner=OWNER, lease=0)


async def test_a_run_that_lost_its_lease_is_stopped_writing_nothing() -> None:
    """An instance stalled past its lease, its run finalized by a reader: the watcher's next renew finds
    the lease gone and stops the run, without a cancel's writes."""
    async with MemoryResponseStore() as store:
        runs = BackgroundRuns(store, lease=0.3)
        running = await _start(store, "resp_stalled", lease=0.3)
        stopped, cancels = asyncio.Event(), []

        async def work() -> None:
            try:
                await asyncio.sleep(30)
            finally:
                stopped.set()

        async def on_cancel() -> None:
            cancels.append("cancel")

        runs.start("resp_stalled", OWNER, work, on_cancel=on_cancel, on_shutdown=on_cancel)
        await asyncio.sleep(0.5)  # renewed meanwhile
        assert await store.status("resp_stalled", owner=OWNER) == "in_progress"
        await store.release_lease("resp_stalled", owner=OWNER)  # as if it had lapsed during a stall
        failed = await store.get("resp_stalled", owner=OWNER)
        assert failed == {**running, "status": "failed", "error": LAPSED_ERROR}
        await asyncio.wait_for(stopped.wait(), 1)
        await asyncio.sleep(0.05)
        assert cancels == [] and runs.running(OWNER) == 0
        assert await store.get("resp_stalled", owner=OWNER) == failed
        await runs.close()
