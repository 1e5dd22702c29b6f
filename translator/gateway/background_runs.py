"""Background runs: each supervised, capped per owner, stopped at once on cancel, and sure to write its end.

A background response (``background: true``) runs in a task of the instance that accepted it.  This
module keeps those tasks:

* **Cancel stops the run at once.**  A watcher beside each run waits on a local wake-up (a cancel asked
  of this instance) or polls the store every :data:`CANCEL_POLL` seconds (a cancel asked of another
  instance sharing it); when the stored status is ``cancelled`` it cancels the run's task, which closes
  the upstream request there and then, also while the upstream has sent nothing for a while.
* **A lease says the run is alive.**  The run's response is stored with a lease of ``lease`` seconds
  (:meth:`~.store.ResponseStore.create`), which the same watcher renews every third of it and lets lapse
  when the run ends.  If this instance dies, the lease lapses and the next reader of the response, on
  any instance, finalizes it as ``failed`` (the store does: :mod:`.store.base`).  If this instance was
  only stalled past its lease and a reader finalized the run meanwhile, the renew says so and the run is
  stopped, writing nothing (its response is failed and its event log closed already).
* **A cap per owner.**  At most ``max_per_owner`` runs of one owner at a time on one instance (429
  beyond), so one owner cannot take an upstream's connection pool, which is per instance too.
* **The end is written.**  The run's last writes (its final, failed or cancelled status) are retried
  with backoff while the store is unavailable (:func:`retrying`), until they succeed or the response
  would have expired anyway, so a run that finished while Redis was away does not stay ``in_progress``;
  its event log's appends are retried for :data:`APPEND_RETRY` seconds (the run, and its upstream,
  pause meanwhile), so the log keeps every event in order.

This module supervises tasks; what a run does is :mod:`translator.gateway.responses_state`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from .errors import GatewayError
from .request_log import logger
from .store import ResponseStore, StoreError, StoreUnavailableError

__all__ = [
    "APPEND_RETRY",
    "CANCEL_POLL",
    "DEFAULT_LEASE",
    "DEFAULT_MAX_PER_OWNER",
    "BackgroundRuns",
    "retrying",
]

T = TypeVar("T")

#: Seconds between two looks at the store for a cancel asked of another instance.
CANCEL_POLL = 0.25
#: Background runs one owner may have at once on one instance.
DEFAULT_MAX_PER_OWNER = 16
#: Seconds a run's lease lasts unless renewed (renewed every third of it).
DEFAULT_LEASE = 30.0
#: The first and the longest wait between two attempts of a write the store refused.
RETRY_FIRST, RETRY_LONGEST = 0.05, 10.0
#: How long a run waits for the store to take one of its event log's appends (the run pauses meanwhile,
#: and so does its upstream); past it, the run fails.
APPEND_RETRY = 60.0


async def retrying(write: Callable[[], Awaitable[T]], *, seconds: float, what: str) -> T:
    """``write()``, attempted again with growing waits while the store is unavailable, for at most
    ``seconds`` (then its last :class:`StoreUnavailableError` is raised, and logged).  Other store errors
    are not retried."""
    deadline = time.monotonic() + seconds
    wait = RETRY_FIRST
    while True:
        try:
            return await write()
        except StoreUnavailableError as exc:
            if time.monotonic() + wait > deadline:
                logger.error("%s: the store stayed unavailable, giving up: %s", what, exc)
                raise
            logger.warning("%s: the store is unavailable, retrying in %.2f s: %s", what, wait, exc)
        await asyncio.sleep(wait)
        wait = min(wait * 2, RETRY_LONGEST)


@dataclass(slots=True)
class _Running:
    response_id: str
    owner: str
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class BackgroundRuns:
    """The background runs of this instance."""

    def __init__(
        self,
        store: ResponseStore,
        *,
        max_per_owner: int = DEFAULT_MAX_PER_OWNER,
        lease: float = DEFAULT_LEASE,
    ) -> None:
        if not lease > 0:
            raise ValueError(f"lease must be a positive number of seconds, got {lease!r}")
        self.store = store
        self.max_per_owner = max_per_owner
        self.lease = lease
        self._runs: dict[str, _Running] = {}
        self._per_owner: Counter[str] = Counter()

    def running(self, owner: str) -> int:
        """How many runs of ``owner`` this instance has."""
        return self._per_owner[owner]

    def check_room(self, owner: str) -> None:
        """429 when ``owner`` already has ``max_per_owner`` runs here."""
        if self._per_owner[owner] >= self.max_per_owner:
            raise GatewayError(
                429,
                f"{self.max_per_owner} background responses of this key are already running here"
                " (max_background_per_owner): wait for one to finish, or cancel one",
                type="requests",
                code="rate_limit_exceeded",
            )

    def start(
        self,
        response_id: str,
        owner: str,
        work: Callable[[], Awaitable[None]],
        *,
        on_cancel: Callable[[], Awaitable[None]],
        on_shutdown: Callable[[], Awaitable[None]],
    ) -> None:
        """Run ``work()`` in a task, watched for a cancel (then ``on_cancel()``, after the work's task was
        cancelled) and for the gateway's shutdown (then ``on_shutdown()``), its lease renewed meanwhile
        (its response must have been created with one)."""
        self.check_room(owner)
        running = _Running(response_id, owner)
        self._runs[response_id] = running
        self._per_owner[owner] += 1
        running.task = asyncio.create_task(self._supervise(running, work, on_cancel, on_shutdown))

    def wake(self, response_id: str) -> None:
        """A cancel was stored for ``response_id``: if this instance runs it, its watcher looks now."""
        running = self._runs.get(response_id)
        if running is not None:
            running.wake.set()

    async def close(self) -> None:
        """Stop every run (each writes that the gateway shut down)."""
        tasks = [running.task for running in self._runs.values() if running.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _supervise(
        self,
        running: _Running,
        work: Callable[[], Awaitable[None]],
        on_cancel: Callable[[], Awaitable[None]],
        on_shutdown: Callable[[], Awaitable[None]],
    ) -> None:
        run = asyncio.ensure_future(work())
        watch = asyncio.ensure_future(self._watch(running))
        try:
            done, _ = await asyncio.wait({run, watch}, return_when=asyncio.FIRST_COMPLETED)
            if run in done:
                watch.cancel()
                run.result()
                return
            run.cancel()  # a cancel was stored, or the lease lost: the upstream request closes now
            with contextlib.suppress(asyncio.CancelledError):
                await run
            if watch.result() == "cancelled":
                await on_cancel()
            else:  # finalized by a reader while this instance was stalled (or deleted): nothing to write
                logger.warning(
                    "background response %s: its lease is gone (it lapsed and a reader finalized the"
                    " response, or the response was deleted); the run is stopped",
                    running.response_id,
                )
        except asyncio.CancelledError:  # the gateway shuts down
            for task in (run, watch):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await run
            await asyncio.shield(on_shutdown())
            raise
        except Exception:  # the work handles its own failures: this is a bug
            logger.exception("background response %s: its supervisor failed", running.response_id)
        finally:
            watch.cancel()
            with contextlib.suppress(StoreError):  # otherwise it lapses by itself
                await self.store.release_lease(running.response_id, owner=running.owner)
            del self._runs[running.response_id]
            self._per_owner[running.owner] -= 1
            if not self._per_owner[running.owner]:
                del self._per_owner[running.owner]

    async def _watch(self, running: _Running) -> str:
        """Renews the run's lease every third of it; returns ``"cancelled"`` once the stored status is
        ``cancelled``, ``"lost"`` once the lease is gone (a reader finalized the run, or it was deleted)."""
        renew_every = self.lease / 3
        next_renew = time.monotonic() + renew_every
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(running.wake.wait(), min(CANCEL_POLL, renew_every))
            running.wake.clear()
            with contextlib.suppress(StoreError):
                if time.monotonic() >= next_renew:  # first: after a stall, renew before reading
                    if not await self.store.renew_lease(
                        running.response_id, owner=running.owner, seconds=self.lease
                    ):
                        return "lost"
                    next_renew = time.monotonic() + renew_every
                if await self.store.status(running.response_id, owner=running.owner) == "cancelled":
                    return "cancelled"
