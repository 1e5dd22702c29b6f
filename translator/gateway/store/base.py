"""The Responses state store: one async interface over three backends (memory, SQLite, Redis).

Theory of operation
-------------------
A stored response is: its ``Response`` object (kept without ``output``), its own *input items* (what
its request sent, in the stored shape of :func:`~.items.stored_input_items`), its *output items*, the
id of the response it continues (``previous_response_id``, its *parent*), its status, its size and its
expiry.  Items are stored one per row (SQLite) or list entry (Redis), never as one blob per turn.

The *conversation* of a response R is, for every response on its chain from the root down to R, its
input items then its output items: what a request continuing from R prepends to its own input.  The
*input items* of R (``GET /v1/responses/{id}/input_items``) are, as in the API, everything that was
used to generate R: the conversation of R's parent followed by R's own input items.  Both are read
from the chain in pages (:data:`PAGE_SIZE` items), so a long conversation is never loaded at once.

Each backend implements a handful of primitives (``_insert``, ``_chain``, ``_load``...); the public
methods, the pagination over a chain and the size accounting are written once, here.  A page may
span many responses' item runs; ``_load`` fetches all of them in one round trip.

Rules every backend keeps (the tests check them on all three):

* **Forks.**  Any number of responses may continue the same parent, at once: each writes only its
  own records, atomically, and bumps its parent's child count.
* **Expiry.**  A response expires ``ttl`` seconds after it was stored.  Storing a response extends
  every ancestor's expiry to at least its own, so a conversation is never cut by an ancestor
  expiring first.  Ancestors are extended a little further (:data:`EXPIRY_SLACK` of ``ttl``), so
  the next turns find them long-lived enough and stop at the parent instead of walking the chain.
* **Deletion.**  A deleted response is gone for every public method (``get``, ``input_items``,
  continuing from it, deleting it again).  Responses that already continue from it keep their whole
  conversation, as in the API (a child's input items list its ancestors' items): its items stay,
  reachable only through its descendants, until the last of them is deleted or expires.
* **Lifecycle.**  A response is *unfinished* while ``queued`` or ``in_progress`` (a background run):
  :meth:`ResponseStore.update` changes it, :meth:`ResponseStore.cancel` moves it to ``cancelled``
  (the instance running it sees that through :meth:`ResponseStore.status`), and nothing continues
  from it yet.  Once finished its output is fixed (only a ``cancelled`` response takes a
  ``cancelled`` update: its partial output), so what a child continued from never changes.
* **Leases.**  A background run's response is created with a *lease* (``create(..., lease=seconds)``),
  which the instance running it renews (:meth:`ResponseStore.renew_lease`) and drops at its end
  (:meth:`ResponseStore.release_lease`).  Whoever reads an unfinished response whose lease has lapsed
  (``get``, ``status``, ``cancel``, ``conversation``, and ``events_after`` while its log waits) finalizes
  it, once and atomically (only if it is still unfinished, with the status read, and its lease still
  lapsed): ``failed`` with :data:`LAPSED_ERROR`, its stored output kept, and its event log closed by a
  ``response.failed`` event numbered after the last logged one.  The first write wins: a renew that
  comes before the finalize keeps the run (even after its lease had lapsed); after it the lease is gone,
  the renew says so, and the run's late writes change nothing (the response is finished, its log
  closed).  A response created without a lease is never finalized this way.
* **Event logs.**  A closed log takes no more events.
* **Size.**  A response whose object plus own items exceed ``max_bytes`` is refused with
  :class:`~.errors.ResponseTooLargeError` and nothing is written.
* **Quotas.**  The live stored bytes (responses' sizes, conversations' items) of one owner and of all
  together are kept below ``quotas`` (:mod:`.quota`): a write that would pass one is refused with
  :class:`~.errors.QuotaExceededError`, atomically, and nothing is written.  Deleting or expiring
  frees the bytes.
* **Owners.**  Every response has an *owner* (an opaque string: the gateway's keyed hash of the
  client's key, :mod:`translator.gateway.owners`), given to every public method that reads or writes.
  A response of another owner behaves exactly as an absent one: ``get``, ``status``, ``input_items``,
  ``cancel`` and ``update`` answer ``None`` / ``False``, ``delete`` ``False``, ``conversation`` and
  continuing from it raise :class:`~.errors.ResponseNotFoundError`.  A chain therefore has one owner.
  The store keeps one random secret of its own (:meth:`ResponseStore.owner_secret`), which every
  gateway sharing the store uses to make owners unless it is given one.

Each public method runs in a tracing span (``store <name>``, :mod:`translator.gateway.tracing`), a child of
the request's when there is one; without OpenTelemetry installed the decorators change nothing.
"""

from __future__ import annotations

import bisect
import enum
import re
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NamedTuple

import orjson

from ..tracing import traced, traced_iteration
from .conversations import ConversationStore
from .errors import (
    ConversationTooLargeError,
    InvalidListParameterError,
    ResponseInProgressError,
    ResponseNotFoundError,
    ResponseTooLargeError,
    StoreError,
)
from .listing import DEFAULT_LIMIT, Order, check_list_parameters, list_page
from .quota import DEFAULT_QUOTAS, Quotas, Usage

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TTL",
    "LAPSED_ERROR",
    "OWNER",
    "PAGE_SIZE",
    "ResponseStore",
]

#: How long a stored response is kept, in seconds (30 days, as in the API).
DEFAULT_TTL = 30 * 24 * 3600.0
#: The default cap on one response's stored bytes (its object plus its own input and output items).
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
#: Items loaded per round trip while walking a conversation.
PAGE_SIZE = 100
#: How much longer than a new response its extended ancestors live, as a fraction of ``ttl``.
EXPIRY_SLACK = 0.01
#: The statuses of a response still running: updatable, cancellable, not yet continuable.
UNFINISHED = ("queued", "in_progress")
#: What a stored response id may look like (``resp_`` + hex, as the gateway makes them).
RESPONSE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,256}")
#: Events read per round trip from a background response's event log.
EVENT_PAGE = 500
#: What an owner may look like (the gateway's owners are ``o_`` + 64 hex digits).
OWNER = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
#: Bytes of the store's own owner secret.
SECRET_BYTES = 32
#: The error of a background response finalized because its run's lease lapsed (its instance stopped).
LAPSED_ERROR = {
    "code": "server_error",
    "message": "the gateway instance running this background response stopped before it finished"
    " (its lease expired)",
}
#: What opens a ``response.failed`` event, before the sequence number a backend writes into it.
_FAILED_EVENT_HEAD = b'{"type":"response.failed","sequence_number":'


class Part(enum.IntEnum):
    """Which of its item lists an item belongs to."""

    INPUT = 0
    OUTPUT = 1


class Link(NamedTuple):
    """One response on a chain: its id, how many input and output items it has, and its stored bytes
    (its object and its own items: an upper bound of its items' bytes)."""

    response_id: str
    n_input: int
    n_output: int
    size: int


@dataclass(frozen=True, slots=True)
class NewResponse:
    """Everything ``_insert`` writes for one response, already serialized."""

    response_id: str
    owner: str
    parent: str | None
    body: bytes
    status: str
    input_items: list[bytes]
    input_ids: list[str | None]
    output_items: list[bytes]
    output_ids: list[str | None]
    input_size: int
    size: int
    created_at: float
    #: seconds of the run's lease taken with it (``None``: no lease)
    lease: float | None = None


@dataclass(frozen=True, slots=True)
class Lapsed:
    """What ``_finalize`` writes for a response whose lease lapsed, already serialized: its object
    (without output) as ``failed``, how many bytes longer it is than the stored one, and its
    ``response.failed`` event as the bytes before and after the sequence number the backend puts in
    (the number after the last logged event)."""

    response_id: str
    owner: str
    read_status: str
    body: bytes
    growth: int
    event_head: bytes
    event_tail: bytes


class Replaced(enum.Enum):
    """What ``_replace`` did."""

    STORED = "stored"
    GONE = "gone"
    FINISHED = "finished"
    TOO_LARGE = "too large"


def _response_of(body: bytes, status: str, outputs: Sequence[bytes]) -> dict[str, Any]:
    """A stored response as read back: its object, with its status and output items put in."""
    response: dict[str, Any] = orjson.loads(body)
    response["status"] = status
    response["output"] = [orjson.loads(item) for item in outputs]
    return response


def replaceable(stored_status: str, new_status: str) -> bool:
    """Whether ``update`` may replace a response whose stored status is ``stored_status``."""
    return stored_status in UNFINISHED or stored_status == new_status == "cancelled"


class Run(NamedTuple):
    """Items ``[start, stop)`` of one part of one response."""

    response_id: str
    part: Part
    start: int
    stop: int


class _Segment(NamedTuple):
    """A run of a chain's items in conversation order: one part of one response, from ``offset``."""

    response_id: str
    part: Part
    size: int
    offset: int


class _Layout:
    """A chain's items in conversation order, as runs: every response's input then output items
    (the last response's output only if ``own_output``), with where each run starts."""

    def __init__(self, chain: Sequence[Link], *, own_output: bool) -> None:
        self.segments: list[_Segment] = []
        self.total = 0
        last = len(chain) - 1
        for n, link in enumerate(chain):
            parts = [(Part.INPUT, link.n_input)]
            if own_output or n < last:
                parts.append((Part.OUTPUT, link.n_output))
            for part, size in parts:
                if size:
                    self.segments.append(_Segment(link.response_id, part, size, self.total))
                    self.total += size
        self._starts = [segment.offset for segment in self.segments]

    def runs(self, start: int, stop: int) -> list[Run]:
        """The runs holding positions ``[start, stop)``."""
        found: list[Run] = []
        for segment in self.segments[max(bisect.bisect_right(self._starts, start) - 1, 0) :]:
            if segment.offset >= stop:
                break
            lo, hi = max(start, segment.offset), min(stop, segment.offset + segment.size)
            if lo < hi:
                found.append(Run(segment.response_id, segment.part, lo - segment.offset, hi - segment.offset))
        return found


def _dumps_items(items: Sequence[Mapping[str, Any]]) -> tuple[list[bytes], list[str | None]]:
    blobs = [orjson.dumps(item) for item in items]
    ids = [item_id if isinstance(item_id := item.get("id"), str) and item_id else None for item in items]
    return blobs, ids


def _split_response(response: Mapping[str, Any]) -> tuple[str, bytes, str, list[bytes], list[str | None]]:
    """(id, body without the output items, status, output blobs, output ids)."""
    response_id = response.get("id")
    if not isinstance(response_id, str) or not RESPONSE_ID.fullmatch(response_id):
        raise ValueError(
            f"the response to store needs an 'id' of 1-256 letters, digits, _.:- (got {response_id!r})"
        )
    status = response.get("status")
    if not isinstance(status, str):
        raise ValueError(f"response {response_id!r} has no string 'status'")
    output = response.get("output") or []
    if not isinstance(output, list):
        raise ValueError(f"response {response_id!r}: 'output' is not a list")
    body = orjson.dumps({**response, "output": []})
    blobs, ids = _dumps_items(output)
    return response_id, body, status, blobs, ids


def check_owner(owner: str) -> str:
    """``owner``, checked (a programming error otherwise: owners come from the gateway, not clients)."""
    if not isinstance(owner, str) or not OWNER.fullmatch(owner):
        raise ValueError(f"owner must be 1-128 letters, digits, _.:- (got {owner!r})")
    return owner


class ResponseStore(ABC):
    """Stores Responses state; see the module docstring for the rules every backend keeps.

    Use it as an async context manager, or call :meth:`close` when done.
    """

    def __init__(
        self, *, ttl: float = DEFAULT_TTL, max_bytes: int = DEFAULT_MAX_BYTES, quotas: Quotas = DEFAULT_QUOTAS
    ) -> None:
        if not ttl > 0:
            raise ValueError(f"ttl must be a positive number of seconds, got {ttl!r}")
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes!r}")
        self.ttl = float(ttl)
        self.max_bytes = max_bytes
        self.quotas = quotas.checked()

    # ------------------------------------------------------------------ public API

    @traced("create")
    async def create(
        self,
        response: Mapping[str, Any],
        input_items: Sequence[Mapping[str, Any]],
        *,
        owner: str,
        lease: float | None = None,
    ) -> None:
        """Store a new response of ``owner``: its object (``output`` included) and its own input items;
        with ``lease``, a background run's lease of that many seconds is taken with it (see the module
        docstring).

        ``response["previous_response_id"]`` names the response it continues; ``input_items`` are this
        request's items only (see :func:`~.items.stored_input_items`), not the conversation prepended
        from the parent.

        Raises:
            ValueError: the response has no id or status, or says ``store: false`` (such a response
                must not be stored: it is never retrievable).
            ResponseNotFoundError: the parent is unknown, expired, deleted or another owner's
                (``response_id`` names it).
            ResponseInProgressError: the parent is still queued or in progress.
            DuplicateResponseError: a response with this id is already stored.
            ResponseTooLargeError: over ``max_bytes``; nothing is written.
            QuotaExceededError: it would take ``owner``'s or the store's live bytes past ``quotas``.
        """
        check_owner(owner)
        response_id, body, status, out_blobs, out_ids = _split_response(response)
        if response.get("store") is False:
            raise ValueError(f"response {response_id!r} says store: false; it must not be stored")
        parent = response.get("previous_response_id") or None
        if parent is not None and not isinstance(parent, str):
            raise ValueError(f"response {response_id!r}: previous_response_id is not a string")
        in_blobs, in_ids = _dumps_items(input_items)
        input_size = sum(map(len, in_blobs))
        size = input_size + len(body) + sum(map(len, out_blobs))
        if size > self.max_bytes:
            raise ResponseTooLargeError(response_id, size, self.max_bytes)
        if lease is not None and not lease > 0:
            raise ValueError(f"lease must be a positive number of seconds, got {lease!r}")
        await self._insert(
            NewResponse(
                response_id=response_id,
                owner=owner,
                parent=parent,
                body=body,
                status=status,
                input_items=in_blobs,
                input_ids=in_ids,
                output_items=out_blobs,
                output_ids=out_ids,
                input_size=input_size,
                size=size,
                created_at=time.time(),
                lease=lease,
            )
        )

    @traced("update")
    async def update(self, response: Mapping[str, Any], *, owner: str) -> bool:
        """Replace an unfinished response's object and output items (status changes, the final result).

        Returns ``False``, writing nothing, when the response is no longer stored (expired, deleted) or
        has finished, in particular when it was cancelled meanwhile: a cancel request wins over the
        result (a ``cancelled`` response still takes a ``cancelled`` update, with its partial output).

        Raises:
            ResponseTooLargeError: the new object and output plus the stored input exceed ``max_bytes``.
            QuotaExceededError: the growth would take ``owner``'s or the store's bytes past ``quotas``.
        """
        response_id, body, status, out_blobs, out_ids = _split_response(response)
        out_size = len(body) + sum(map(len, out_blobs))
        outcome, size = await self._replace(
            response_id, check_owner(owner), body, status, out_blobs, out_ids, out_size
        )
        if outcome is Replaced.TOO_LARGE:
            raise ResponseTooLargeError(response_id, size, self.max_bytes)
        return outcome is Replaced.STORED

    @traced("get")
    async def get(self, response_id: str, *, owner: str) -> dict[str, Any] | None:
        """The ``Response`` object as ``GET /v1/responses/{id}`` returns it, or ``None`` (-> 404)."""
        found = await self._read(response_id, check_owner(owner))
        if found is None:
            return None
        body, status, outputs, lapsed = found
        response = _response_of(body, status, outputs)
        if lapsed and status in UNFINISHED:
            return await self._finalize_lapsed(response, body, owner)
        return response

    async def _finalize_lapsed(
        self, response: dict[str, Any], body: bytes, owner: str
    ) -> dict[str, Any] | None:
        """Finalize ``response`` (as read, with its stored ``body``), whose lease lapsed, as ``failed``;
        the response as stored afterwards (another reader, or a renew, may have come first)."""
        failed = {**response, "status": "failed", "error": dict(LAPSED_ERROR)}
        new_body = orjson.dumps({**failed, "output": []})
        lapsed = Lapsed(
            response_id=response["id"],
            owner=owner,
            read_status=response["status"],
            body=new_body,
            growth=len(new_body) - len(body),
            event_head=_FAILED_EVENT_HEAD,
            event_tail=b',"response":' + orjson.dumps(failed) + b"}",
        )
        if await self._finalize(lapsed):
            return failed
        found = await self._read(lapsed.response_id, owner)
        if found is None:
            return None
        body, status, outputs, _ = found
        return _response_of(body, status, outputs)

    @traced("status")
    async def status(self, response_id: str, *, owner: str) -> str | None:
        """The stored status (``cancelled`` once a cancel was requested anywhere), or ``None``.

        Cheap: a background run polls it to notice a cancel request made through another instance.  An
        unfinished response whose lease lapsed is finalized first (then: ``failed``).
        """
        return await self._settled_status(response_id, check_owner(owner))

    async def _settled_status(self, response_id: str, owner: str) -> str | None:
        """:meth:`status`, without a span of its own (the other public methods read it too)."""
        found = await self._status(response_id, owner)
        if found is None:
            return None
        status, lapsed = found
        if lapsed and status in UNFINISHED:
            response = await self.get(response_id, owner=owner)
            return None if response is None else str(response["status"])
        return status

    @traced("renew_lease")
    async def renew_lease(self, response_id: str, *, owner: str, seconds: float) -> bool:
        """Extend the lease of ``owner``'s response to ``seconds`` from now (the instance running it, while
        it runs).  ``False`` when the response has no lease any more: it was finalized by a reader after
        the lease lapsed (the run should stop: nothing it writes changes the response now), or it is
        gone.  A lapsed lease not yet finalized is renewed (the first write wins)."""
        if not seconds > 0:
            raise ValueError(f"seconds must be positive, got {seconds!r}")
        return await self._renew(response_id, check_owner(owner), seconds)

    @traced("release_lease")
    async def release_lease(self, response_id: str, *, owner: str) -> None:
        """Let the lease lapse now (the run ended; it wrote its end, or it could not)."""
        await self._release(response_id, check_owner(owner))

    @traced("cancel")
    async def cancel(self, response_id: str, *, owner: str) -> dict[str, Any] | None:
        """Move an unfinished (``queued`` / ``in_progress``) response to ``cancelled``; others are left alone.

        Returns the stored response afterwards (the caller tells "cancelled" from "already finished" by
        its ``status``, and answers non-background responses with the API's error), or ``None``.  A
        response whose lease lapsed is finalized first (it stays ``failed``).
        """
        if await self._settled_status(response_id, check_owner(owner)) is None:
            return None
        if not await self._cancel(response_id, owner):
            return None
        return await self.get(response_id, owner=owner)

    @traced_iteration("conversation")
    async def conversation(
        self,
        response_id: str,
        *,
        owner: str,
        max_items: int | None = None,
        max_bytes: int | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """The items a request continuing from ``response_id`` prepends, oldest first, page by page.

        For every response from the chain's root down to ``response_id``: its input items, then its
        output items (reasoning items included, for replay).

        Raises:
            ResponseNotFoundError: ``response_id`` is unknown, expired, deleted or another owner's (on
                the first ``__anext__``), or was deleted while being read.
            ResponseInProgressError: ``response_id`` is still queued or in progress (a background run),
                so what continues it is not known yet (on the first ``__anext__``).
            ConversationTooLargeError: more than ``max_items`` items, or more than ``max_bytes`` stored
                bytes (the responses' objects and items), counted from the chain before any item is
                loaded (on the first ``__anext__``).
        """
        if await self._settled_status(response_id, check_owner(owner)) in UNFINISHED:
            raise ResponseInProgressError(response_id)
        chain = await self._chain(response_id, owner)
        if chain is None:
            raise ResponseNotFoundError(response_id)
        layout = _Layout(chain, own_output=True)
        if max_items is not None and layout.total > max_items:
            raise ConversationTooLargeError(response_id, "items", layout.total, max_items)
        size = sum(link.size for link in chain)
        if max_bytes is not None and size > max_bytes:
            raise ConversationTooLargeError(response_id, "bytes", size, max_bytes)
        for start in range(0, layout.total, PAGE_SIZE):
            page = await self._load_runs(layout.runs(start, min(start + PAGE_SIZE, layout.total)))
            if page is None:
                raise ResponseNotFoundError(response_id)
            for blob in page:
                yield orjson.loads(blob)

    @traced("input_items")
    async def input_items(
        self,
        response_id: str,
        *,
        owner: str,
        after: str | None = None,
        limit: int = DEFAULT_LIMIT,
        order: Order = "desc",
    ) -> dict[str, Any] | None:
        """``GET /v1/responses/{id}/input_items``: a page of the items used to generate the response.

        Those are the parent's conversation followed by the response's own input items.  ``after`` is
        an item id from a previous page (items after it in ``order``), ``limit`` 1 to 100.  Returns the
        API's list object (``object``, ``data``, ``first_id``, ``last_id``, ``has_more``; the ids are
        ``None`` for an empty page), or ``None`` when the response is unknown (-> 404).

        Raises:
            InvalidListParameterError: a bad ``limit`` or ``order``, or an ``after`` that is not one of
                the listed items (``param`` names which).
        """
        check_list_parameters(limit, order)
        chain = await self._chain(response_id, check_owner(owner))
        if chain is None:
            return None
        layout = _Layout(chain, own_output=False)
        total = layout.total
        if after is None:
            cursor = -1 if order == "asc" else total
        else:
            cursor = await self._position(layout.segments, after, order)
        if order == "asc":
            start, stop = cursor + 1, min(cursor + 1 + limit, total)
            has_more = stop < total
        else:
            start, stop = max(cursor - limit, 0), cursor
            has_more = start > 0
        blobs = await self._load_runs(layout.runs(start, stop))
        if blobs is None:
            return None  # deleted while being read
        data = [orjson.loads(blob) for blob in blobs]
        if order == "desc":
            data.reverse()
        return list_page(data, has_more)

    async def find_items(self, item_ids: Sequence[str], *, owner: str) -> dict[str, dict[str, Any]]:
        """The stored items with these ids, by id (an ``item_reference`` resolved); absent ids are left out.

        An item is found among the input and output items of every live response of ``owner`` (not
        expired, not deleted); when several responses hold the same id, the most recently stored one is
        read.  All ids are looked up in one round trip.
        """
        unique = [item_id for item_id in dict.fromkeys(item_ids) if isinstance(item_id, str) and item_id]
        if not unique:
            return {}
        found = await self._find_items(unique, check_owner(owner))
        return {item_id: orjson.loads(blob) for item_id, blob in found.items()}

    async def append_events(
        self,
        response_id: str,
        events: Sequence[Mapping[str, Any]],
        *,
        owner: str,
        closed: bool = False,
    ) -> None:
        """Append streaming events to ``owner``'s background response's event log (created by the first
        append); ``closed``: these are its last.  Events carry their ``sequence_number``, which starts at
        0 and grows by one per event (as the translator writes them).  The log is kept ``ttl`` seconds
        after its last append, and goes when the response is deleted.  Appending to another owner's log
        writes nothing (a response id names one owner's response)."""
        blobs = [orjson.dumps(event) for event in events]
        first = int(events[0]["sequence_number"]) if events else 0
        await self._append_events(response_id, check_owner(owner), first, blobs, closed)

    async def events_after(
        self, response_id: str, after: int, limit: int = EVENT_PAGE, *, owner: str
    ) -> tuple[list[dict[str, Any]], bool] | None:
        """The logged events whose ``sequence_number`` is above ``after`` (at most ``limit``), and whether
        they are the last ones (the log is closed and nothing is left); ``None`` when there is no log
        (or it is another owner's).  When nothing new is logged yet, the response is looked at
        (:meth:`status`): one whose lease lapsed is finalized, which closes its log."""
        found = await self._events_after(response_id, check_owner(owner), after, limit)
        if found is None:
            return None
        blobs, closed = found
        if not blobs and not closed and await self._settled_status(response_id, owner) not in UNFINISHED:
            found = await self._events_after(response_id, owner, after, limit)
            if found is None:
                return None
            blobs, closed = found
        return [orjson.loads(blob) for blob in blobs], closed and len(blobs) < limit

    @traced("delete")
    async def delete(self, response_id: str, *, owner: str) -> bool:
        """Delete a response; ``False`` when it is unknown, expired, already deleted or another owner's
        (-> 404).

        Responses continuing from it keep their conversation (see the module docstring).
        """
        return await self._delete(response_id, check_owner(owner))

    async def usage(self, owner: str) -> Usage:
        """The live stored bytes of ``owner``, and of everyone (expired things no longer counted)."""
        return await self._usage(check_owner(owner), exact=True)

    async def check_room(self, owner: str, needed: int) -> None:
        """Raise :class:`~.errors.QuotaExceededError` unless ``needed`` more bytes of ``owner``'s fit in
        ``quotas`` now (the gateway's check before it calls the upstream; the write checks again)."""
        owner = check_owner(owner)
        if self.quotas.refusal(await self._usage(owner, exact=False), needed) is None:
            return
        refused = self.quotas.refusal(await self._usage(owner, exact=True), needed)
        if refused is not None:
            raise refused

    async def owner_secret(self) -> bytes:
        """The store's own random secret (:data:`SECRET_BYTES`), made by the first caller and the same
        for every store opened on the same file or Redis prefix afterwards: the key of the owners'
        keyed hash, unless the gateway is given one."""
        secret = await self._secret(secrets.token_bytes(SECRET_BYTES))
        if len(secret) < 16:
            raise StoreError("the stored owner secret is shorter than 16 bytes: the store was tampered with")
        return secret

    @abstractmethod
    def conversation_store(self) -> ConversationStore:
        """The conversations kept in the same backend (connection, file, key prefix) as these responses."""

    @abstractmethod
    async def check(self) -> None:
        """Raise :class:`~.errors.StoreUnavailableError` unless the backend answers (for health checks)."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections and threads; the store is unusable afterwards."""

    async def __aenter__(self) -> ResponseStore:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ pagination over a chain

    async def _position(self, segments: Sequence[_Segment], item_id: str, order: Order) -> int:
        """The position of item ``item_id`` in the listed items (its first occurrence in ``order``)."""
        offsets = {(s.response_id, s.part): s for s in segments}
        hits = await self._locate([s.response_id for s in segments], item_id)
        positions = [
            offsets[(rid, part)].offset + index
            for rid, part, index in hits
            if (rid, part) in offsets and index < offsets[(rid, part)].size
        ]
        if not positions:
            raise InvalidListParameterError(
                "after", f"no item with id {item_id!r} among this response's input items"
            )
        return min(positions) if order == "asc" else max(positions)

    async def _load_runs(self, runs: list[Run]) -> list[bytes] | None:
        """The items of ``runs``, in one round trip; ``None`` when some vanished meanwhile (deleted)."""
        blobs: list[bytes] = []
        for run, page in zip(runs, await self._load(runs), strict=True):
            if len(page) != run.stop - run.start:
                return None
            blobs += page
        return blobs

    # ------------------------------------------------------------------ backend primitives

    @abstractmethod
    async def _insert(self, new: NewResponse) -> None:
        """Write a new response atomically: refuse a duplicate id, a parent that is not live (or not
        ``new.owner``'s) or not finished, a size past ``quotas``; bump the parent's child count; extend
        every ancestor's expiry to at least the new one's."""

    @abstractmethod
    async def _usage(self, owner: str, *, exact: bool) -> Usage:
        """The live stored bytes of ``owner`` and of everyone; with ``exact`` false, things expired but
        not yet swept may still be counted."""

    @abstractmethod
    async def _secret(self, candidate: bytes) -> bytes:
        """The stored secret; ``candidate`` is stored first when there is none (atomically)."""

    @abstractmethod
    async def _replace(
        self,
        response_id: str,
        owner: str,
        body: bytes,
        status: str,
        output_items: list[bytes],
        output_ids: list[str | None],
        output_size: int,
    ) -> tuple[Replaced, int]:
        """Atomically replace body, status and output items, unless gone (or another owner's), not
        :func:`replaceable`, or too large (stored input size + ``output_size`` over ``max_bytes``).
        Returns the outcome and the would-be total size; raises :class:`~.errors.QuotaExceededError`
        (writing nothing) when the growth would pass ``quotas``."""

    @abstractmethod
    async def _read(self, response_id: str, owner: str) -> tuple[bytes, str, list[bytes], bool] | None:
        """(body, status, output items, whether its lease lapsed) of a live response of ``owner``, read
        consistently."""

    @abstractmethod
    async def _status(self, response_id: str, owner: str) -> tuple[str, bool] | None:
        """The status of a live response of ``owner``, and whether its lease lapsed (it had one, not
        finalized, and it expired)."""

    @abstractmethod
    async def _renew(self, response_id: str, owner: str, seconds: float) -> bool:
        """Atomically set the lease of a live response of ``owner`` that has one (lapsed or not) to expire
        ``seconds`` from now; ``False`` when it has none (never had, or finalized) or is not live."""

    @abstractmethod
    async def _release(self, response_id: str, owner: str) -> None:
        """Make the lease of a live response of ``owner`` lapse now (kept: the response may be finalized
        if it is still unfinished)."""

    @abstractmethod
    async def _finalize(self, lapsed: Lapsed) -> bool:
        """Atomically, only if the response is live and ``lapsed.owner``'s, its status is still
        ``lapsed.read_status`` and its lease still lapsed: write ``lapsed.body`` with status ``failed``
        (output items unchanged, size grown by ``lapsed.growth``), remove the lease, and, when its event
        log exists and is open, append ``event_head + str(n) + event_tail`` (``n``: the sequence number
        after the last logged event, 0 for an empty log) and close it.  ``False`` (writing nothing)
        otherwise."""

    @abstractmethod
    async def _cancel(self, response_id: str, owner: str) -> bool:
        """Atomically set status ``cancelled`` if it is :data:`UNFINISHED`; ``False`` if not live (or
        another owner's)."""

    @abstractmethod
    async def _chain(self, response_id: str, owner: str) -> list[Link] | None:
        """The chain from its root down to ``response_id`` (which must be live and ``owner``'s, else
        ``None``)."""

    @abstractmethod
    async def _load(self, runs: Sequence[Run]) -> list[list[bytes]]:
        """The items of each run (fewer if they vanished), all in one round trip."""

    @abstractmethod
    async def _locate(self, response_ids: Sequence[str], item_id: str) -> list[tuple[str, Part, int]]:
        """Where item ``item_id`` is stored among ``response_ids``: (response id, part, index) hits."""

    @abstractmethod
    async def _find_items(self, item_ids: Sequence[str], owner: str) -> dict[str, bytes]:
        """The stored blobs of the items with these ids among ``owner``'s live responses' items (the most
        recently stored response's when several hold one), in one round trip."""

    @abstractmethod
    async def _append_events(
        self, response_id: str, owner: str, first: int, blobs: list[bytes], closed: bool
    ) -> None:
        """Append ``blobs`` (sequence numbers ``first``, ``first + 1``...) to ``owner``'s log (made
        ``owner``'s by its first append; another owner's is left alone, and so is a closed log's events);
        extend its expiry."""

    @abstractmethod
    async def _events_after(
        self, response_id: str, owner: str, after: int, limit: int
    ) -> tuple[list[bytes], bool] | None:
        """Up to ``limit`` events after sequence number ``after``, and whether the log is closed; ``None``
        when there is no log of ``owner``'s."""

    @abstractmethod
    async def _delete(self, response_id: str, owner: str) -> bool:
        """Delete (or, with children, tombstone) a live response of ``owner``, and its event log; purge
        tombstoned ancestors whose last child this was.  ``False`` when not live (or another owner's)."""
