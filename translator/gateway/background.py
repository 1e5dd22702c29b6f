"""The event logs of background responses: written while a run goes on, followed by any number of readers.

A background response run by this gateway keeps every streaming event it produces in the store's event
log (:meth:`~.store.ResponseStore.append_events`), one append per upstream read, the final one marking
the log closed.  A reader (the ``POST`` that asked for ``background: true, stream: true``, or
``GET /v1/responses/{id}?stream=true&starting_after=N`` on any instance sharing the store) reads what is
logged after ``N``, then waits for more: woken at once by a run on its own instance, and otherwise
checking the store every :data:`FOLLOW_POLL` seconds, until the closing append.

A run that ends without a terminal event of its own (the upstream refused before answering, the gateway
shut down, a bug) closes its log with a ``response.failed`` event carrying the failed response; a
cancelled run closes it after its last event (the API has no event for a cancel).

This module keeps logs; it never writes to the client.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from .store import ResponseStore

__all__ = ["FOLLOW_POLL", "TERMINAL_EVENTS", "EventLogs", "RunLog"]

#: Seconds between two looks at the store while following a run on another instance.
FOLLOW_POLL = 0.1
#: The event types that end a response's stream.
TERMINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


class EventLogs:
    """The event logs of one store, and the readers waiting on runs of this instance."""

    def __init__(self, store: ResponseStore) -> None:
        self.store = store
        self._changed: dict[str, asyncio.Event] = {}

    def run(self, response_id: str, owner: str) -> RunLog:
        """The log a run of ``owner``'s ``response_id`` writes."""
        return RunLog(self, response_id, owner)

    def notify(self, response_id: str) -> None:
        changed = self._changed.pop(response_id, None)
        if changed is not None:
            changed.set()

    async def follow(
        self, response_id: str, after: int, owner: str
    ) -> AsyncGenerator[list[dict[str, Any]], None]:
        """The logged events of ``owner``'s log after sequence number ``after``, then the new ones as they
        are logged, until the log's last event (or the log expires, or is deleted)."""
        while True:
            changed = self._changed.setdefault(response_id, asyncio.Event())
            found = await self.store.events_after(response_id, after, owner=owner)
            if found is None:
                return
            events, last = found
            if events:
                yield events
                after = int(events[-1]["sequence_number"])
            if last:
                return
            if not events:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(changed.wait(), FOLLOW_POLL)


class RunLog:
    """What one background run writes: its events in order, then the close."""

    def __init__(self, logs: EventLogs, response_id: str, owner: str) -> None:
        self._logs = logs
        self.response_id = response_id
        self.owner = owner
        self.next = 0
        self.closed = False

    async def open(self) -> None:
        """Create the (empty) log, before anyone may ask for it."""
        await self._logs.store.append_events(self.response_id, [], owner=self.owner)

    async def append(self, events: Sequence[dict[str, Any]]) -> None:
        if not events or self.closed:
            return
        closed = events[-1].get("type") in TERMINAL_EVENTS
        await self._logs.store.append_events(self.response_id, events, owner=self.owner, closed=closed)
        self.next = int(events[-1]["sequence_number"]) + 1
        self.closed = closed
        self._logs.notify(self.response_id)

    async def fail(self, failed: dict[str, Any]) -> None:
        """Close the log with a ``response.failed`` event for ``failed`` (unless it is closed)."""
        await self.append([{"type": "response.failed", "sequence_number": self.next, "response": failed}])

    async def close(self) -> None:
        """Close the log after its last event (a cancelled run)."""
        if not self.closed:
            await self._logs.store.append_events(self.response_id, [], owner=self.owner, closed=True)
            self.closed = True
            self._logs.notify(self.response_id)
