"""Responses state over stateless chat upstreams: ``store``, ``previous_response_id``, retrieval, background.

A Responses request over a chat upstream is stored (unless ``store: false``) with its own input items
and its output; ``previous_response_id`` prepends the stored conversation (the chain walked back, item
by item; ``instructions`` are not inherited, as in the API) before the request is converted, and every
``item_reference`` in ``input`` is replaced by the stored item it names (any input or output item of a
live stored response; an unknown id is a 404 naming it), in the request and in what is stored.  The
response is stored *before* its terminal event leaves, so a client that continues from it at once (on
this instance or another sharing the store) finds it.

``background: true`` (with ``stream: false``) answers at once with the ``queued`` response and runs the
exchange in a task; ``GET /v1/responses/{id}`` shows its progress, ``POST /v1/responses/{id}/cancel``
stops it (the instance running it polls the store, so the cancel may arrive on any instance).  The run
holds a lease on its response while it runs; a reader that finds it lapsed (the instance died) gets it
finalized as ``failed`` by the store.

Requests relayed to a responses upstream keep the upstream's own state: none of this applies to them.

Every method takes the request's *owner* (:mod:`translator.gateway.owners`) and passes it to the store:
another owner's response behaves as one that does not exist.

This module prepares requests and keeps results; it never writes to the client (the endpoints answer
with what it returns, through the client writer).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import parse_qs

import orjson

from ..errors import TranslatorError
from ..ids import random_id, system_clock
from ..protocol.mapping import RESPONSE_DEFAULTS, response_shell
from .asgi import list_options
from .background import EventLogs, RunLog
from .background_runs import APPEND_RETRY, DEFAULT_LEASE, DEFAULT_MAX_PER_OWNER, BackgroundRuns, retrying
from .compaction import Compaction
from .conversations_state import ConversationsState, conversation_id_of
from .conversations_state import not_found as conversation_not_found
from .errors import GatewayError
from .offload import off_loop
from .request_log import Exchange, logger
from .response_hooks import ResponseHooks
from .sealing import Sealer
from .store import (
    ConversationTooLargeError,
    InvalidListParameterError,
    QuotaExceededError,
    ResponseInProgressError,
    ResponseNotFoundError,
    ResponseStore,
    ResponseTooLargeError,
    StoreError,
    stored_input_items,
)

__all__ = ["ResponsesState"]

#: Request fields the gateway's state implements (never sent upstream).
_GATEWAY_FIELDS = ("previous_response_id", "store", "background", "conversation")
#: The statuses of a finished response whose input and output join its conversation.
_APPENDED = ("completed", "incomplete")


class Run(Protocol):
    """A started exchange a background task reads to its end (the bridge's ``OpenBridge``)."""

    def events(self) -> AsyncGenerator[list[dict[str, Any]], None]: ...


def _not_found(response_id: str, *, param: str | None = None, code: str | None = None) -> GatewayError:
    return GatewayError.not_found(f"Response with id '{response_id}' not found.", code=code, param=param)


class ResponsesState:
    """The gateway's Responses state: one :class:`ResponseStore` and the background tasks running."""

    def __init__(
        self,
        store: ResponseStore,
        *,
        max_bytes: int,
        secret: bytes | None = None,
        max_conversation_items: int = 20_000,
        max_conversation_bytes: int = 16 * 1024 * 1024,
        max_background_per_owner: int = DEFAULT_MAX_PER_OWNER,
        background_lease: float = DEFAULT_LEASE,
    ) -> None:
        self.store = store
        self.max_bytes = max_bytes
        self.max_conversation_items = max_conversation_items
        self.max_conversation_bytes = max_conversation_bytes
        self._secret = secret
        self.logs = EventLogs(store)
        self.conversations = ConversationsState(store.conversation_store(), self.resolve_references)
        self._compaction: Compaction | None = None
        self.runs = BackgroundRuns(store, max_per_owner=max_background_per_owner, lease=background_lease)

    async def start(self) -> None:
        await self.store.check()

    async def owner_secret(self) -> bytes:
        """The store's own secret for the owners' keyed hash (:mod:`translator.gateway.owners`)."""
        return await self.store.owner_secret()

    async def close(self) -> None:
        await self.runs.close()
        await self.store.close()

    # -- a new request ------------------------------------------------------------------------------

    async def prepare(self, body: dict[str, Any], owner: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The request to convert (stored conversation first) and its own input items, to store.

        Raises :class:`GatewayError`: 404 ``previous_response_not_found`` or for an unknown
        ``item_reference``, 400 for a response still running, a compaction item this gateway cannot
        read, ``context_management``, or a body the store cannot keep.
        """
        request, own, _ = await self.prepare_continuing(body, owner)
        return request, own

    async def prepare_continuing(
        self, body: dict[str, Any], owner: str, history: list[dict[str, Any]] | None = None
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        """:meth:`prepare`, given the conversation up to ``previous_response_id`` when the caller holds it
        (``history``: a WebSocket keeps its latest response's, ``store: false`` ones included; the store
        is then not read), and returning also the conversation the request stands for (that history and
        its own items, as stored: a WebSocket keeps it for its next turn).
        """
        if body.get("context_management") is not None:
            raise GatewayError.bad_request(
                "context_management (automatic compaction) is not available over this upstream: compact"
                " with POST /v1/responses/compact and send its output as input",
                param="context_management",
            )
        history, own, referenced = await self.gather(body, owner, history)
        keep = body.get("store") is not False
        if keep or body.get("conversation") is not None:
            size = len(orjson.dumps(own))
            if keep and size > self.max_bytes:
                raise GatewayError(
                    413,
                    f"the input ({size} bytes) is over the gateway's storage cap of {self.max_bytes} bytes"
                    " per response: send store=false, or raise store_max_bytes",
                    type="invalid_request_error",
                    code="request_too_large",
                    param="input",
                )
            try:  # before the upstream is called; the store's write checks again
                await self.store.check_room(owner, size)
            except QuotaExceededError as exc:
                raise GatewayError.from_store(exc, param="store") from None
        # what the gateway does itself is not the upstream's business (nor reported as dropped)
        request = {key: value for key, value in body.items() if key not in _GATEWAY_FIELDS}
        conversation = history + own
        compaction = await self.compaction()
        expanded = await off_loop(
            len(conversation), compaction.expand, conversation, owner, first=-len(history)
        )
        if history or referenced or expanded is not conversation:
            request["input"] = expanded
        return request, own, conversation

    async def gather(
        self, body: dict[str, Any], owner: str, history: list[dict[str, Any]] | None = None
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool]:
        """(the stored conversation the request continues, its own input items with references resolved,
        whether it had references): what the request stands for, before compaction items are expanded.
        ``history``: the conversation up to ``previous_response_id``, when the caller holds it (measured
        against the same caps)."""
        raw = body.get("input") or []
        try:
            own = await off_loop(len(raw) if isinstance(raw, list) else 0, stored_input_items, raw)
        except (StoreError, TranslatorError) as exc:  # a ConversionError names the item
            raise GatewayError.bad_request(f"invalid input: {exc}", param="input") from None
        resolved = await self.resolve_references(own, owner)
        referenced, own = resolved is not own, resolved
        previous = body.get("previous_response_id")
        if body.get("conversation") is not None:
            if previous is not None:
                raise GatewayError.bad_request(
                    "'conversation' and 'previous_response_id' cannot be used together: a response"
                    " continues one or the other",
                    param="conversation",
                )
            history = await self._conversation_items(conversation_id_of(body["conversation"]), own, owner)
            return history, own, referenced
        if previous is None:
            return [], own, referenced
        if not isinstance(previous, str) or not previous:
            raise GatewayError.bad_request(
                "'previous_response_id' must be a string", param="previous_response_id"
            )
        if history is not None:
            return self._held(previous, history, own), own, referenced
        return await self._history(previous, own, owner), own, referenced

    def _room(self, own: list[dict[str, Any]], param: str) -> tuple[int, int]:
        """What the conversation a request continues may hold besides its own input: (items, bytes)."""
        items_left = self.max_conversation_items - len(own)
        bytes_left = self.max_conversation_bytes - len(orjson.dumps(own))
        if items_left < 0:
            raise _conversation_too_large(ConversationTooLargeError("input", "items", 0, 0), own, self, param)
        if bytes_left < 0:
            raise _conversation_too_large(ConversationTooLargeError("input", "bytes", 0, 0), own, self, param)
        return items_left, bytes_left

    def _held(
        self, previous: str, history: list[dict[str, Any]], own: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """A conversation the caller holds (a WebSocket's latest), under the caps a stored one is read
        with."""
        items_left, bytes_left = self._room(own, "previous_response_id")
        found = len(history) if len(history) > items_left else 0
        what = "items"
        if not found and (size := len(orjson.dumps(history))) > bytes_left:
            found, what = size, "bytes"
        if found:
            cap = items_left if what == "items" else bytes_left
            error = ConversationTooLargeError(previous, what, found, cap)
            raise _conversation_too_large(error, own, self, "previous_response_id")
        return history

    async def _history(self, previous: str, own: list[dict[str, Any]], owner: str) -> list[dict[str, Any]]:
        """The stored conversation ``previous`` ends, measured before it is loaded."""
        items_left, bytes_left = self._room(own, "previous_response_id")
        history: list[dict[str, Any]] = []
        try:
            pages = self.store.conversation(previous, owner=owner, max_items=items_left, max_bytes=bytes_left)
            async for item in pages:
                history.append(item)
        except ResponseNotFoundError:
            raise GatewayError.not_found(
                f"Previous response with id '{previous}' not found.",
                code="previous_response_not_found",
                param="previous_response_id",
            ) from None
        except ResponseInProgressError as exc:
            raise GatewayError.bad_request(str(exc), param="previous_response_id") from None
        except ConversationTooLargeError as exc:
            raise _conversation_too_large(exc, own, self, "previous_response_id") from None
        return history

    async def _conversation_items(
        self, conversation_id: str, own: list[dict[str, Any]], owner: str
    ) -> list[dict[str, Any]]:
        """The items of conversation ``conversation_id``, read no further than the caps."""
        store = self.conversations.store
        if await store.get(owner, conversation_id) is None:
            raise conversation_not_found(conversation_id)
        items_left, bytes_left = self._room(own, "conversation")
        try:
            pages = store.items(owner, conversation_id, max_items=items_left, max_bytes=bytes_left)
            return [item async for item in pages]
        except ConversationTooLargeError as exc:
            raise _conversation_too_large(exc, own, self, "conversation") from None

    async def compact(
        self,
        body: dict[str, Any],
        summarize: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
        owner: str,
    ) -> dict[str, Any]:
        """``POST /v1/responses/compact``: the ``response.compaction`` object for the conversation ``body``
        stands for (``previous_response_id`` and/or ``input``).  ``summarize`` runs the summary request
        (a Responses request over the chat upstream) and returns its final response."""
        if body.get("input") is None and body.get("previous_response_id") is None:
            raise GatewayError.bad_request("give 'input', 'previous_response_id' or both", param="input")
        history, own, _ = await self.gather(body, owner)
        conversation = history + own
        compaction = await self.compaction()
        expanded = compaction.expand(conversation, owner, first=-len(history))
        ask = compaction.request(str(body["model"]), expanded, body.get("instructions"))
        summarized = await summarize(ask)
        return compaction.compacted(conversation, summarized, owner)

    async def compaction(self) -> Compaction:
        """Compaction items of this gateway, sealed under its secret."""
        if self._compaction is None:
            secret = self._secret or await self.store.owner_secret()
            self._compaction = Compaction(Sealer(secret, "compaction"))
        return self._compaction

    async def resolve_references(self, items: list[dict[str, Any]], owner: str) -> list[dict[str, Any]]:
        """``items`` with every ``item_reference`` replaced by the stored item it names.

        Raises :class:`GatewayError`: 400 for a reference without a string ``id``, 404 naming the first
        id the store does not hold (unknown, expired, deleted).
        """
        wanted: list[str] = []
        for n, item in enumerate(items):
            if item.get("type") == "item_reference":
                item_id = item.get("id")
                if not isinstance(item_id, str) or not item_id:
                    raise GatewayError.bad_request(
                        "an item_reference needs the string 'id' of a stored item", param=f"input[{n}].id"
                    )
                wanted.append(item_id)
        if not wanted:
            return items
        found = await self.store.find_items(wanted, owner=owner)
        missing = [item_id for item_id in wanted if item_id not in found]
        if missing:  # items added to a conversation directly
            found.update(await self.conversations.store.find_items(owner, missing))
        self._check_referenced_bytes(wanted, found)
        resolved: list[dict[str, Any]] = []
        for n, item in enumerate(items):
            if item.get("type") != "item_reference":
                resolved.append(item)
                continue
            stored = found.get(item["id"])
            if stored is None:
                raise GatewayError.not_found(
                    f"Item with id '{item['id']}' not found.", param=f"input[{n}]", code="item_not_found"
                )
            resolved.append(stored)
        return resolved

    def _check_referenced_bytes(self, wanted: list[str], found: dict[str, dict[str, Any]]) -> None:
        """413 when the stored items ``wanted`` names come to more than ``max_conversation_bytes`` (each
        reference counted: one stored item named 20,000 times is 20,000 items to send upstream), before
        anything makes them one body."""
        sizes: dict[str, int] = {}
        total = 0
        for item_id in wanted:
            stored = found.get(item_id)
            if stored is None:
                continue  # (a 404 naming it follows)
            size = sizes.get(item_id)
            if size is None:
                size = sizes[item_id] = len(orjson.dumps(stored))
            total += size
        if total > self.max_conversation_bytes:
            raise GatewayError(
                413,
                f"the stored items this input names (item_reference, each time it is named) come to"
                f" {total:,} bytes, over the gateway's cap of {self.max_conversation_bytes:,} on what one"
                " request may load from the store (max_conversation_bytes): name fewer items",
                type="invalid_request_error",
                code="conversation_too_large",
                param="input",
            )

    def hooks(
        self,
        body: dict[str, Any],
        own: list[dict[str, Any]],
        exchange: Exchange,
        owner: str,
        *,
        background: str | None = None,
    ) -> ResponseHooks:
        """What a Responses exchange must do for the state: echo, store before the end, and append the
        input and output to the request's conversation before the end.

        ``background`` is the id of the queued response a background run completes.
        """
        fields: dict[str, Any] = {"store": body.get("store") is not False}
        if body.get("previous_response_id") is not None:
            fields["previous_response_id"] = body["previous_response_id"]
        if background is not None:
            fields["background"] = True
        conversation = None
        if body.get("conversation") is not None:
            conversation = conversation_id_of(body["conversation"])
            fields["conversation"] = {"id": conversation}
        keep = body.get("store") is not False
        if not keep and conversation is None:
            return ResponseHooks(fields=fields)

        async def remember(response: dict[str, Any]) -> None:
            if keep:
                stored = await self._remember(
                    response, own, exchange, owner, background=background is not None
                )
                if not stored and background is None:  # the answer says so: its terminal event is yet to go
                    response["store"] = False
            if conversation is not None:
                await self._join(conversation, response, own, exchange, owner)

        return ResponseHooks(fields=fields, response_id=background, on_final=remember)

    async def _join(
        self,
        conversation: str,
        response: dict[str, Any],
        own: list[dict[str, Any]],
        exchange: Exchange,
        owner: str,
    ) -> None:
        """Append a finished response's input and output items to its conversation."""
        if response.get("status") not in _APPENDED:
            return
        try:
            added = await self.conversations.store.add_items(owner, conversation, [*own, *response["output"]])
        except StoreError as exc:
            added, reason = None, str(exc)
        else:
            reason = "the conversation was deleted meanwhile"
        if added is None:  # the answer still goes out; the log says the conversation did not take it
            exchange.failed(f"not added to {conversation}: {reason}")
            logger.error(
                orjson.dumps({"request_id": exchange.request_id, "conversation_error": reason}).decode()
            )

    async def _remember(
        self,
        response: dict[str, Any],
        own: list[dict[str, Any]],
        exchange: Exchange,
        owner: str,
        *,
        background: bool,
    ) -> bool:
        """Store a finished response (a background run: write its end); whether it was stored."""
        try:
            if background:  # retried while the store is away: the run must not stay in progress
                final = {**response, "background": True}

                async def write() -> bool:
                    return await self.store.update(final, owner=owner)

                what = f"storing the end of {response['id']}"
                await retrying(write, seconds=self.store.ttl, what=what)
            else:
                await self.store.create(response, own, owner=owner)
        except StoreError as exc:  # the answer still goes out; the log says it was not kept
            exchange.failed(f"not stored: {exc}", store=True)
            logger.error(orjson.dumps({"request_id": exchange.request_id, "store_error": str(exc)}).decode())
            return False
        return True

    # -- background --------------------------------------------------------------------------------

    async def start_background(
        self,
        body: dict[str, Any],
        own: list[dict[str, Any]],
        exchange: Exchange,
        owner: str,
        open_run: Callable[[ResponseHooks], Awaitable[Run]],
    ) -> dict[str, Any]:
        """Store the ``queued`` response, start the run in a task, return the queued response (429 when
        the owner already has ``max_background_per_owner`` runs here)."""
        self.runs.check_room(owner)
        if body.get("store") is False:
            raise GatewayError.bad_request("background responses must be stored (store=true)", param="store")
        response_id = random_id("resp")
        params = {key: body[key] for key in RESPONSE_DEFAULTS if body.get(key) is not None}
        params["store"] = True
        if body.get("conversation") is not None:
            params["conversation"] = {"id": conversation_id_of(body["conversation"])}
        queued = response_shell(
            response_id=response_id,
            created_at=system_clock(),
            model=str(body.get("model", "")),
            status="queued",
            params=params,
        )
        queued["background"] = True
        try:
            await self.store.create(queued, own, owner=owner, lease=self.runs.lease)
        except (ResponseTooLargeError, QuotaExceededError) as exc:
            raise GatewayError.from_store(exc, param="store") from None
        except (ResponseNotFoundError, ResponseInProgressError) as exc:
            raise GatewayError.bad_request(str(exc), param="previous_response_id") from None
        log = self.logs.run(response_id, owner)
        await log.open()
        hooks = self.hooks(body, own, exchange, owner, background=response_id)

        async def work() -> None:
            await self._run_background(queued, owner, hooks, open_run, log)

        async def on_cancel() -> None:  # the run's task was cancelled: its upstream request is closed
            async def write() -> None:
                stored = await self.store.get(response_id, owner=owner)
                if stored is not None:
                    await self.store.update({**stored, "status": "cancelled"}, owner=owner)
                await log.close()

            with contextlib.suppress(StoreError):
                await retrying(write, seconds=self.store.ttl, what=f"cancelling {response_id}")

        async def on_shutdown() -> None:
            await self._fail(queued, owner, "server_error", "the gateway shut down before it finished", log)

        self.runs.start(response_id, owner, work, on_cancel=on_cancel, on_shutdown=on_shutdown)
        return queued

    async def _run_background(
        self,
        queued: dict[str, Any],
        owner: str,
        hooks: ResponseHooks,
        open_run: Callable[[ResponseHooks], Awaitable[Run]],
        log: RunLog,
    ) -> None:
        """A background response's run, to its end (its task is cancelled when a cancel is stored)."""
        response_id = queued["id"]
        try:
            await self.store.update({**queued, "status": "in_progress"}, owner=owner)
            run = await open_run(hooks)
            async with contextlib.aclosing(run.events()) as lists:
                async for events in lists:  # on_final stores the terminal response before its events

                    async def append(events: list[dict[str, Any]] = events) -> None:
                        await log.append(events)

                    await retrying(append, seconds=APPEND_RETRY, what=f"logging {response_id}")
        except GatewayError as exc:  # the upstream refused before answering
            await self._fail(queued, owner, exc.code or "server_error", exc.message, log)
        except StoreError as exc:  # the store failed past what its writes retry
            await self._fail(queued, owner, "server_error", f"the response store failed: {exc}", log)
        except Exception as exc:  # a bug: the response must not stay in progress forever
            logger.exception("background response %s failed", response_id)
            reason = f"internal gateway error ({type(exc).__name__})"
            await self._fail(queued, owner, "server_error", reason, log)
        else:
            with contextlib.suppress(StoreError):
                await retrying(log.close, seconds=self.store.ttl, what=f"closing the log of {response_id}")

    async def _fail(self, queued: dict[str, Any], owner: str, code: str, message: str, log: RunLog) -> None:
        """Store that the run failed (retried while the store is unavailable), and end its event log."""
        failed = {**queued, "status": "failed", "error": {"code": code, "message": message}}

        async def write() -> None:
            await self.store.update(failed, owner=owner)
            await log.fail(failed)
            await log.close()

        with contextlib.suppress(StoreError):
            await retrying(write, seconds=self.store.ttl, what=f"failing {queued['id']}")

    async def resume(self, response_id: str, query: bytes, owner: str) -> int | None:
        """The ``starting_after`` of ``GET /v1/responses/{id}?stream=true&starting_after=N`` (``-1``
        without one), checked; ``None`` when ``query`` does not ask for a stream.

        Raises :class:`GatewayError`: 404 for an unknown (or another owner's) response, 400 for a
        response that was not run in the background, a ``starting_after`` that is no integer or is past
        the last event.
        """
        fields = parse_qs(query.decode("latin-1"), keep_blank_values=True)
        if fields.get("stream", ["false"])[-1].lower() != "true":
            return None
        response = await self.get(response_id, owner)
        if not response.get("background"):
            raise GatewayError.bad_request(
                "stream=true is only available for responses created with background=true", param="stream"
            )
        raw = fields.get("starting_after", ["-1"])[-1]
        try:
            after = int(raw)
        except ValueError:
            raise GatewayError.bad_request(
                f"'starting_after' must be an integer, got {raw!r}", param="starting_after"
            ) from None
        if after >= 0:
            found = await self.store.events_after(response_id, after - 1, limit=1, owner=owner)
            if found is None or (not found[0] and found[1]):
                raise GatewayError.bad_request(
                    f"starting_after {after} is past the last event of response '{response_id}'",
                    param="starting_after",
                )
        return after

    # -- retrieval -----------------------------------------------------------------------------------

    async def get(self, response_id: str, owner: str) -> dict[str, Any]:
        """The stored response; 404 when there is none (or it is another owner's)."""
        response = await self.store.get(response_id, owner=owner)
        if response is None:
            raise _not_found(response_id)
        return response

    async def delete(self, response_id: str, owner: str) -> dict[str, Any]:
        """Delete the stored response; the API's deletion object, 404 when there is none."""
        if not await self.store.delete(response_id, owner=owner):
            raise _not_found(response_id)
        return {"id": response_id, "object": "response", "deleted": True}

    async def input_items(self, response_id: str, owner: str, query: bytes) -> dict[str, Any]:
        """A page of the response's input items (``after``, ``limit``, ``order`` from ``query``)."""
        options = list_options(query)
        try:
            page = await self.store.input_items(response_id, owner=owner, **options)
        except InvalidListParameterError as exc:
            raise GatewayError.bad_request(str(exc), param=exc.param) from None
        if page is None:
            raise _not_found(response_id)
        return page

    async def cancel(self, response_id: str, owner: str) -> dict[str, Any]:
        """Cancel a background response; the response as cancelled."""
        response = await self.get(response_id, owner)
        if not response.get("background"):
            raise GatewayError.bad_request("Only responses created with background=true can be cancelled.")
        cancelled = await self.store.cancel(response_id, owner=owner)
        if cancelled is None:
            raise _not_found(response_id)
        self.runs.wake(response_id)  # run here: its upstream request is closed now
        return cancelled


def _conversation_too_large(
    exc: ConversationTooLargeError, own: list[dict[str, Any]], state: ResponsesState, param: str
) -> GatewayError:
    """413 naming the cap a request's conversation (what it continues, and its own input) is over."""
    if exc.what == "items":
        cap, key = state.max_conversation_items, "max_conversation_items"
        found = f"{exc.found + len(own):,} items"
    else:
        cap, key = state.max_conversation_bytes, "max_conversation_bytes"
        found = f"{exc.found + len(orjson.dumps(own)):,} bytes"
    source = "this request's input" if exc.source_id == "input" else f"the conversation of '{exc.source_id}'"
    return GatewayError(
        413,
        f"{source} with the new input holds at least {found}, over the gateway's cap of {cap:,}"
        f" ({key}): start a new conversation, compact it (POST /v1/responses/compact), or raise the cap",
        type="invalid_request_error",
        code="conversation_too_large",
        param=param,
    )
