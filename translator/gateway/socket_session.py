"""One Responses WebSocket: ``ws://HOST/v1/responses`` (and without ``/v1``), as the SDK's
``client.responses.connect()``, the Agents SDK's websocket transport and Codex (``supports_websockets``)
use it.

The client sends ``response.create`` events (the create parameters, plus the socket's ``stream_id``
lane) and gets back the same events an HTTP stream carries, one JSON text message each, made by the same
exchange (:mod:`translator.gateway.bridge` over a chat upstream, with the Responses state around it;
:mod:`translator.gateway.relay` to a responses upstream) and written by the one client writer
(:class:`~translator.gateway.client_writer.SocketWriter`).  Each response numbers its events from 0.

* One response at a time: a ``response.create`` while one runs gets an ``error`` event
  (``response_in_progress``) and the running one goes on.
* ``previous_response_id`` continues from a stored response, or from the latest response of this socket,
  which the socket keeps (so ``store: false`` chains work within the connection, as in the API).
* ``generate: false`` (a warm-up) makes a completed response with no output and no upstream call.
* ``response.steer`` steers the running response (:mod:`translator.gateway.steering`).
* ``response.processed`` (Codex's acknowledgement of a response) is taken without an answer.
* A message that is not JSON, or an event type the gateway does not know, gets an ``error`` event naming
  it; the socket stays usable.  A message over ``websocket_max_message_bytes`` closes it with 1009.
* The client closing the socket ends the running response at once, and its upstream request with it.
  A socket with no message and no running response for ``websocket_idle_timeout`` seconds is closed.

Each response is one request log line with ``"transport": "websocket"``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from ..streams.interruptible import InterruptibleChatToResponses
from .asgi import ClientGone, Receive, Scope, Send
from .attempts import Targets
from .bridge import open_bridge, open_warmup
from .client_writer import SocketWriter
from .endpoints import Endpoints, Request, conversion_errors
from .errors import GatewayError
from .json_body import parse_object_off_loop
from .relay import open_relay
from .request_log import Exchange, logger
from .steering import (
    MAX_PENDING_STEERS,
    Steer,
    invalid_steer,
    required_input,
    steer_failed,
    unsteerable,
    with_steering,
)
from .store import StoreError
from .tracing import request_span

__all__ = ["SocketSession"]

#: Keys of a ``response.create`` event that are the socket's, not the create parameters'.
_ENVELOPE = ("type", "stream_id", "stream", "stream_options", "generate")
_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
#: Responses whose steering input waits for the client's continuation, at most (the oldest dropped).
MAX_WAITING = 16
#: Response ids of this socket remembered for ``response_already_completed`` (the oldest forgotten).
_REMEMBERED = 256


@dataclass(slots=True, eq=False)
class Turn:
    """One response on the socket, from its ``response.create`` (or its steered predecessor) to its end."""

    body: dict[str, Any]
    lane: str | None
    exchange: Exchange
    warmup: bool = False
    #: accepted steering input this response starts with (committed by its ``response.created``)
    carried: list[Steer] = field(default_factory=list)
    #: accepted steering input for this response, not yet committed
    steers: list[Steer] = field(default_factory=list)
    translator: InterruptibleChatToResponses | None = None
    response_id: str | None = None
    conversation: list[dict[str, Any]] = field(default_factory=list)
    final: dict[str, Any] | None = None
    #: why it cannot be steered (``None``: it can)
    unsteerable: str | None = None
    #: the terminal event was made: steering input is no longer taken
    ended: bool = False
    #: what follows the terminal event: ``none``, ``pending``, ``successor`` or ``failed`` (steering)
    next: str = "none"
    #: the sequence number after the last event sent, and steering events waiting for the pump
    sent_next: int = 0
    outbox: list[dict[str, Any]] = field(default_factory=list)

    def interrupt(self) -> bool:
        """The bridge's ``hooks.interrupt``: stop at this read when input is queued and no tool call started
        (a response calling tools completes; the input then waits for the client's tool results)."""
        translator = self.translator
        return bool(self.steers) and translator is not None and not translator.has_tool_calls


class SocketSession:
    """Runs one accepted WebSocket until the client closes it, it idles out, or it stalls."""

    def __init__(self, endpoints: Endpoints, scope: Scope, receive: Receive, send: Send, owner: str) -> None:
        self.endpoints = endpoints
        #: whose responses these are (:mod:`translator.gateway.owners`): the upgrade's credential
        self.owner = owner
        self.state = endpoints.state
        self.config = endpoints.config
        self.scope = scope
        self.receive = receive
        self.path = str(scope.get("path", ""))
        self.writer = SocketWriter(send, client_timeout=self.config.client_timeout, on_stall=self._stalled)
        self.lock = asyncio.Lock()
        #: the task whose response holds the socket (until its terminal event left with no successor
        #: to come), and every task still running (a finished response's last steps)
        self.holder: asyncio.Task[None] | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.current: Turn | None = None
        #: the latest response of the socket: its id and its conversation (input and output items)
        self.latest: tuple[str, list[dict[str, Any]]] | None = None
        #: response id -> (required input stubs, steering input waiting for the client's continuation)
        self.waiting: dict[str, tuple[list[dict[str, Any]], list[Steer]]] = {}
        self.made: OrderedDict[str, None] = OrderedDict()
        self.numbering: InterruptibleChatToResponses | None = None
        self._main: asyncio.Task[Any] | None = None
        self.stalled = False
        self.last_active = 0.0

    # -- the connection ---------------------------------------------------------------------------

    async def run(self) -> None:
        self._main = asyncio.current_task()
        loop = asyncio.get_running_loop()
        self.last_active = loop.time()
        try:
            await self.writer.accept()
            await self._read(loop)
        except ClientGone:
            pass
        except asyncio.CancelledError:
            if not self.stalled:
                raise
        finally:
            await self._stop_running()
        if self.stalled:
            await self.writer.close(1008, "the client stopped reading")

    def _stalled(self) -> None:
        """A send the client did not take within ``client_timeout``: drop the socket."""
        self.stalled = True
        self.writer.closed = True
        for task in self.tasks:
            task.cancel()
        if self._main is not None:
            self._main.cancel()

    async def _stop_running(self) -> None:
        for task in list(self.tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _read(self, loop: asyncio.AbstractEventLoop) -> None:
        idle, limit = self.config.websocket_idle_timeout, self.config.websocket_max_message_bytes
        while True:
            try:
                message = await asyncio.wait_for(self.receive(), idle)
            except asyncio.TimeoutError:
                if not self.tasks and loop.time() - self.last_active >= idle:
                    await self.writer.close(1000, "idle timeout")
                    return
                continue
            kind = message["type"]
            if kind == "websocket.disconnect":
                return
            if kind != "websocket.receive":
                continue
            self.last_active = loop.time()
            data: str | bytes | None = message.get("text")
            if data is None:
                data = message.get("bytes") or b""
            size = len(data) if isinstance(data, bytes) or len(data) * 4 <= limit else len(data.encode())
            if size > limit:
                await self.writer.close(1009, f"message of {size} bytes is over the limit of {limit} bytes")
                return
            await self._dispatch(data)

    async def _dispatch(self, data: str | bytes) -> None:
        try:
            event = await parse_object_off_loop(
                data, what="the message", code="invalid_json", max_values=self.config.max_json_values
            )
        except GatewayError as exc:
            await self._error(exc)
            return
        kind = event.get("type")
        if kind == "response.create":
            await self._create(event)
        elif kind == "response.steer":
            await self._steer(event)
        elif kind == "response.processed":  # Codex acknowledging a response: nothing to answer
            return
        else:
            what = f"event type {kind!r}" if isinstance(kind, str) else "a message without a string 'type'"
            message = f"unknown {what}: send response.create or response.steer"
            await self._error(GatewayError.bad_request(message, param="type", code="unknown_event_type"))

    async def _error(
        self, error: GatewayError, exchange: Exchange | None = None, lane: str | None = None
    ) -> None:
        async with self.lock:
            await self.writer.error(error, exchange, lane)

    # -- response.create --------------------------------------------------------------------------

    async def _create(self, event: dict[str, Any]) -> None:
        lane = event.get("stream_id") if isinstance(event.get("stream_id"), str) else None
        if self.holder is not None:
            message = (
                "a response is already running on this socket: send response.create after its terminal event"
            )
            await self._error(GatewayError.bad_request(message, code="response_in_progress"), lane=lane)
            return
        if event.get("background") is True:
            await self._error(
                GatewayError.bad_request("background is not supported over WebSocket", param="background"),
                lane=lane,
            )
            return
        body = {key: value for key, value in event.items() if key not in _ENVELOPE}
        body["stream"] = True
        turn = Turn(body, lane, self._exchange(), warmup=event.get("generate") is False)
        task = self.holder = asyncio.create_task(self._turns(turn))
        self.tasks.add(task)
        task.add_done_callback(self._turns_done)

    def _turns_done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if self.holder is task:
            self.holder = None
        self.last_active = asyncio.get_running_loop().time()

    async def _turns(self, turn: Turn | None) -> None:
        """A response, then the successors steering starts from it."""
        while turn is not None:
            self.current = turn
            turn = await self._respond(turn)

    def _exchange(self) -> Exchange:
        """The log record of one response on the socket (its line, metrics and span)."""
        exchange = Exchange("GET", self.path, transport="websocket", observer=self.endpoints.metrics)
        exchange.routed("responses_socket", "/v1/responses")
        exchange.client_protocol = "responses"
        return exchange

    async def _respond(self, turn: Turn) -> Turn | None:
        exchange = turn.exchange
        with request_span(exchange):
            try:
                served = await self._serve(turn)
            finally:
                exchange.finish()
        return await self._after(turn) if served else None

    async def _serve(self, turn: Turn) -> bool:
        """Run the response; whether it started (else the client got an ``error`` event)."""
        exchange = turn.exchange
        try:
            try:
                request = Request(self.scope, self.receive, {}, exchange, self.owner)
                targets = self.endpoints.targets(request, turn.body)
                with conversion_errors():
                    if targets.protocol == "responses":
                        await self._relay(turn, targets)
                    else:
                        await self._translate(turn, targets)
            except StoreError as exc:
                answer = GatewayError.from_store(exc)
                if answer.code == "store_unavailable":
                    exchange.failed("store_unavailable", store=True)
                raise answer from None
        except GatewayError as exc:
            await self._refused(turn, exc)
            return False
        except ClientGone:
            exchange.client_left()
            return False
        except asyncio.CancelledError:
            exchange.client_left()
            raise
        except Exception as exc:  # a bug: the client gets an error event, the log the traceback
            logger.exception("unexpected error serving a WebSocket response")
            error = GatewayError(500, f"internal gateway error ({type(exc).__name__})", type="server_error")
            await self._refused(turn, error)
            exchange.failed("internal_error")
            return False
        return True

    async def _refused(self, turn: Turn, error: GatewayError) -> None:
        """The response could not start: the ``error`` event, and the steering input it carried back."""
        if self.holder is asyncio.current_task():  # the client may send the next one at once
            self.holder = None
        with contextlib.suppress(ClientGone):
            await self._error(error, turn.exchange, turn.lane)
            for steer in turn.carried:
                await self._send_steer(steer.failed("successor_creation_failed", error.message), turn.lane)

    async def _relay(self, turn: Turn, to: Targets) -> None:
        turn.unsteerable = "a response relayed to a Responses upstream cannot be steered here"
        body, exchange = turn.body, turn.exchange
        async with await to.open(
            exchange, lambda there: open_relay("responses", body, there, exchange)
        ) as relayed:
            await self._pump(turn, relayed.events())

    async def _translate(self, turn: Turn, to: Targets) -> None:
        body, exchange = turn.body, turn.exchange
        previous = body.get("previous_response_id")
        if isinstance(previous, str) and previous in self.waiting:  # the client's explicit continuation
            turn.carried = self.waiting.pop(previous)[1] + turn.carried
        if turn.carried:
            body["input"] = with_steering(turn.carried, body.get("input"))
        latest = self.latest
        history = latest[1] if latest is not None and previous == latest[0] else None
        request, own, turn.conversation = await self.state.prepare_continuing(body, self.owner, history)
        turn.unsteerable = unsteerable(body)
        hooks = self.state.hooks(body, own, exchange, self.owner)
        hooks.interrupt = turn.interrupt
        if turn.warmup:
            bridge = open_warmup(request, exchange, hooks)
        else:
            bridge = await to.open(
                exchange, lambda there: open_bridge("responses", request, there, exchange, hooks)
            )
        async with bridge:
            assert isinstance(bridge.translator, InterruptibleChatToResponses)
            turn.translator = self.numbering = bridge.translator
            await self._pump(turn, bridge.events())

    async def _pump(self, turn: Turn, events: AsyncGenerator[list[dict[str, Any]], None]) -> None:
        """Send the response's events as they come; steering events queued meanwhile go right after."""
        writer, lock, exchange, lane = self.writer, self.lock, turn.exchange, turn.lane
        async with contextlib.aclosing(events) as stream, _streaming(exchange):
            async for out in stream:
                first, last = out[0], out[-1]
                if turn.response_id is None and first["type"] == "response.created":
                    turn.response_id = first["response"]["id"]
                    self._remember(turn.response_id)
                if last["type"] in _TERMINAL:
                    self._ended(turn, last["response"])
                async with lock:
                    await writer.events(out, exchange, lane)
                    if turn.ended:
                        exchange.end_sent()
                    turn.sent_next = last.get("sequence_number", -1) + 1
                    if turn.outbox:
                        await self._flush(turn)
        turn.ended = True
        async with lock:
            await self._flush(turn)

    async def _flush(self, turn: Turn) -> None:
        """Steering events that waited for the pump, numbered now (the lock is held)."""
        outbox, turn.outbox = turn.outbox, []
        numbered = [self._number(event, turn.translator) for event in outbox]
        if numbered:
            await self.writer.events(numbered, None, turn.lane)
        if turn.translator is not None:
            turn.sent_next = turn.translator.next_sequence

    def _remember(self, response_id: str) -> None:
        self.made[response_id] = None
        if len(self.made) > _REMEMBERED:
            self.made.popitem(last=False)

    # -- after a response: the connection's history, and steering input still queued ----------------

    def _ended(self, turn: Turn, final: dict[str, Any]) -> None:
        """The response's terminal event is about to leave: what the client may act on at once is set
        first (the socket's latest response, steering input waiting for a continuation), and the socket is
        free for the next ``response.create`` unless a successor is to follow."""
        turn.final, turn.ended = final, True
        response_id = turn.response_id
        if response_id is not None:
            self.latest = (response_id, turn.conversation + list(final.get("output") or ()))
        if not turn.steers or response_id is None:
            turn.next = "none"
        elif final.get("status") == "completed" and (
            required := required_input(list(final.get("output") or ()))
        ):
            self.waiting[response_id] = (required, turn.steers)
            while len(self.waiting) > MAX_WAITING:  # the oldest parent's input is dropped (bounded memory)
                del self.waiting[next(iter(self.waiting))]
            turn.next = "pending"
        elif (
            final.get("status") == "completed"
            or (final.get("incomplete_details") or {}).get("reason") == "steered"
        ):
            turn.next = "successor"
        else:
            turn.next = "failed"
        if turn.next != "successor" and self.holder is asyncio.current_task():
            self.holder = None

    async def _after(self, turn: Turn) -> Turn | None:
        """After the terminal event: the steering events that follow it, or the successor."""
        steers, turn.steers = turn.steers, []
        final, response_id = turn.final or {}, turn.response_id
        if turn.next == "pending":
            required = self.waiting[response_id][0] if response_id in self.waiting else []
            for steer in steers:
                await self._send_steer(steer.pending(required), turn.lane, turn)
        elif turn.next == "successor" and response_id is not None:
            return self._successor(turn, response_id, steers)
        elif turn.next == "failed":
            message = f"the response ended {final.get('status')}"
            for steer in steers:
                await self._send_steer(steer.failed("response_not_active", message), turn.lane, turn)
        return None

    def _successor(self, turn: Turn, response_id: str, steers: list[Steer]) -> Turn:
        """The response that continues from ``turn`` with the queued input, with its settings."""
        body = {
            key: value for key, value in turn.body.items() if key not in ("input", "previous_response_id")
        }
        body["previous_response_id"] = response_id
        body["input"] = []
        return Turn(body, turn.lane, self._exchange(), carried=steers)

    # -- response.steer ---------------------------------------------------------------------------

    async def _steer(self, event: dict[str, Any]) -> None:
        target, value = event.get("previous_response_id"), event.get("input")
        problem = invalid_steer(event)
        if problem is not None or not isinstance(target, str):
            await self._send_steer(steer_failed("invalid_input", str(problem), target, value))
            return
        turn = self.current
        if turn is not None and turn.response_id == target and not turn.ended:
            await self._steer_running(turn, Steer(target, value))
        elif target in self.waiting:
            required, queued = self.waiting[target]
            if len(queued) >= MAX_PENDING_STEERS:
                await self._send_steer(steer_failed("too_many_pending_steers", _TOO_MANY, target, value))
                return
            steer = Steer(target, value)
            queued.append(steer)
            await self._send_steer(steer.accepted())
            await self._send_steer(steer.pending(required))
        elif target in self.made:
            message = f"response {target!r} has completed and takes no more steering input"
            await self._send_steer(steer_failed("response_already_completed", message, target, value))
        else:
            message = f"no response {target!r} is running on this connection"
            await self._send_steer(steer_failed("response_not_found", message, target, value))

    async def _steer_running(self, turn: Turn, steer: Steer) -> None:
        if turn.unsteerable is not None:
            failed = steer_failed(
                "steering_not_supported", turn.unsteerable, steer.previous_response_id, steer.input
            )
            await self._send_steer(failed, turn.lane, turn)
        elif len(turn.steers) >= MAX_PENDING_STEERS:
            failed = steer_failed(
                "too_many_pending_steers", _TOO_MANY, steer.previous_response_id, steer.input
            )
            await self._send_steer(failed, turn.lane, turn)
        else:
            turn.steers.append(steer)
            await self._send_steer(steer.accepted(), turn.lane, turn)

    async def _send_steer(
        self, event: dict[str, Any], lane: str | None = None, turn: Turn | None = None
    ) -> None:
        """A steering event, numbered in the response's sequence: at once when every event the response
        numbered was sent, else right after them (by the pump, which is sending them)."""
        async with self.lock:
            translator = turn.translator if turn is not None else self.numbering
            if turn is not None and translator is not None and translator.next_sequence != turn.sent_next:
                turn.outbox.append(event)
                return
            await self.writer.events([self._number(event, translator)], None, lane)
            if turn is not None and translator is not None:
                turn.sent_next = translator.next_sequence

    @staticmethod
    def _number(event: dict[str, Any], translator: InterruptibleChatToResponses | None) -> dict[str, Any]:
        if translator is None:
            event["sequence_number"] = 0
            return event
        return translator.number(event)


_TOO_MANY = f"the response already holds {MAX_PENDING_STEERS} steering submissions"


@contextlib.asynccontextmanager
async def _streaming(exchange: Exchange) -> AsyncIterator[None]:
    """:meth:`Exchange.streaming` around a response's events (the metrics count it open)."""
    with exchange.streaming():
        yield
