"""A background run whose gateway died never stays in progress: two ``translator serve`` processes share a
store (one SQLite file, then one Redis under a key prefix of its own), ``background_lease_seconds = 1``;
the process running a slow background response is killed (SIGKILL: it writes nothing), and the other
one, asked with the official SDK, finalizes the response as ``failed`` once its lease lapsed: retrieve
says so within a few seconds, and its event stream, resumed before and after the kill, ends with
``response.failed``.  Meanwhile a run on the living instance, read through the same instance, keeps its
lease and completes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.fake_upstream import FakeUpstream
from support.gateway import ServeProcess
from support.polling import wait
from support.sdk import accumulate_with_sdk, validate_responses_events, without_parsed
from support.state_client import client_of
from support.store_helpers import PREFIXES, REDIS_URL, RUN_PREFIX, delete_redis_keys, redis_unavailable

from translator.gateway.store.base import LAPSED_ERROR

#: 200 chunks 100 ms apart: 20 s, far longer than the test waits.
SLOW = "paced-200-100"
#: 40 chunks 100 ms apart: a run that outlives several leases, then completes.
LIVE = "paced-40-100"
LEASE = 1


@pytest.fixture(params=["sqlite", "redis"])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:{tmp_path / 'shared.sqlite3'}"
        return
    reason = redis_unavailable()
    if reason:
        pytest.skip(reason)
    prefix = f"{RUN_PREFIX}{next(PREFIXES)}:"
    try:
        yield f"{REDIS_URL}?key_prefix={prefix}"
    finally:
        delete_redis_keys(prefix)


def dumped(events: list[Any]) -> list[dict[str, Any]]:
    return [without_parsed(event.model_dump(exclude_unset=True)) for event in events]


def check_ends_failed(events: list[dict[str, Any]]) -> dict[str, Any]:
    """A whole stream (numbered from 0) accepted by the SDK, ending with ``response.failed``: its response."""
    validate_responses_events(events)
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    assert [event["type"] for event in events].count("response.failed") == 1
    assert events[-1]["type"] == "response.failed"
    final = accumulate_with_sdk(events)
    assert final is not None and final.status == "failed"
    failed: dict[str, Any] = events[-1]["response"]
    return failed


def test_a_run_whose_gateway_was_killed_ends_failed(
    upstream: FakeUpstream, shared_store: str, tmp_path: Path
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(f"[server]\nbackground_lease_seconds = {LEASE}\n")
    args = ("--config", str(config), "--upstream", upstream.url, "--store", shared_store)
    doomed, survivor = ServeProcess(*args), ServeProcess(*args)
    try:
        with client_of(doomed.url) as on_doomed, client_of(survivor.url) as on_survivor:
            queued = on_doomed.responses.create(model=SLOW, input="x", background=True)
            live = on_survivor.responses.create(model=LIVE, input="y", background=True)
            wait(
                lambda: on_survivor.responses.retrieve(queued.id).status == "in_progress",
                10,
                "the doomed run in progress",
            )
            reading = time.monotonic()
            while time.monotonic() - reading < 2.5 * LEASE:  # read by the other instance, past its lease:
                assert on_survivor.responses.retrieve(queued.id).status == "in_progress"  # renewed
                time.sleep(0.1)
            followed: list[Any] = []
            follower = threading.Thread(
                target=lambda: followed.extend(on_survivor.responses.retrieve(queued.id, stream=True)),
                daemon=True,
            )
            follower.start()  # a stream resumed on the survivor while the run goes on
            wait(lambda: len(followed) >= 4, 10, "the resumed stream following the run")

            doomed.process.kill()  # SIGKILL: nothing more is written by it
            doomed.process.wait(5)
            killed = time.monotonic()
            failed = wait(
                lambda: (found := on_survivor.responses.retrieve(queued.id)).status == "failed" and found,
                LEASE + 5,
                "the dead run finalized as failed",
            )
            assert time.monotonic() - killed < LEASE + 5
            assert failed.error is not None
            assert (failed.error.code, failed.error.message) == (
                LAPSED_ERROR["code"],
                LAPSED_ERROR["message"],
            )
            assert failed.background is True

            follower.join(10)
            assert not follower.is_alive(), "the stream resumed before the kill did not end"
            before = check_ends_failed(dumped(followed))
            after = dumped(list(on_survivor.responses.retrieve(queued.id, stream=True)))  # resumed after it
            assert after == dumped(followed)
            assert before["status"] == "failed" and before["error"] == LAPSED_ERROR
            assert before["id"] == queued.id

            # the survivor's own run kept its lease through every read, and completed
            while (current := on_survivor.responses.retrieve(live.id)).status != "completed":
                assert current.status in ("queued", "in_progress"), current.error
                time.sleep(0.2)
            assert on_survivor.responses.retrieve(queued.id).status == "failed"  # finalized once: unchanged
    finally:
        doomed.stop()
        log = survivor.stop()
    assert "Traceback" not in log, log[-3000:]
