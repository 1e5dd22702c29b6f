"""The one place the gateway writes to a client: status lines, JSON answers, streamed answers, errors,
and WebSocket messages.

A :class:`ClientWriter` serves one HTTP request.  It tags every answer with the request id, records the
status it sends in the request's log record, and bounds every write: uvicorn's ``send()`` waits while the
client's socket is full (backpressure), and a client that does not take one write within
``client_timeout`` has stopped reading, so the request is cancelled as if the client had disconnected
(and its upstream request closed).  A streamed answer is read from an async iterator of ready SSE frames
(the bridge's and the relay's) and stops the moment the client disconnects: the iterator is closed at
once, which closes its upstream request, even while it waits on a silent upstream.

:meth:`ClientWriter.run` runs an endpoint and turns what it raises into the answer the client gets: a
:class:`GatewayError` in OpenAI's error shape (or, once a stream has started, the stream's end), a store
failure as a 503, a bug as a 500 that names no more than the exception's type.

A :class:`SocketWriter` serves one WebSocket (:mod:`translator.gateway.socket_session`): it accepts it,
sends each event as one JSON text message (echoing the response's ``stream_id``; a stream's ``error``
event in the WebSocket's ``error`` shape), errors as the API's ``error`` event, and closes it; its sends
are bounded by ``client_timeout`` the same way.  An upgrade on a path that serves none, or without a
valid key, is refused before it is accepted (:func:`refuse_websocket`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import orjson

from .asgi import SSE_HEADERS, ClientGone, Message, Receive, Scope, Send
from .errors import GatewayError
from .request_log import Exchange, logger
from .store import StoreError

__all__ = ["ClientWriter", "SocketWriter", "refuse_websocket", "socket_error"]

_JSON = (b"content-type", b"application/json")
_END = {"type": "http.response.body", "body": b"", "more_body": False}


class ClientWriter:
    """Writes one request's answer (see the module's docstring)."""

    __slots__ = ("_receive", "_send", "_stalled", "_tag", "_task", "client_timeout", "exchange", "started")

    def __init__(self, send: Send, receive: Receive, exchange: Exchange, *, client_timeout: float) -> None:
        self._send = send
        self._receive = receive
        self.exchange = exchange
        self.client_timeout = client_timeout
        self.started = False
        self._stalled = False
        self._tag = (b"x-request-id", exchange.request_id.encode())
        self._task = asyncio.current_task()

    # -- writing ------------------------------------------------------------------------------------

    async def _write(self, message: Message) -> None:
        timer = asyncio.get_running_loop().call_later(self.client_timeout, self._stall)
        try:
            await self._send(message)
        finally:
            timer.cancel()

    def _stall(self) -> None:
        self._stalled = True
        if self._task is not None:
            self._task.cancel()

    async def _start(self, status: int, headers: Iterable[tuple[bytes, bytes]]) -> None:
        self.started = True
        self.exchange.answered(status)
        await self._write({"type": "http.response.start", "status": status, "headers": [*headers, self._tag]})

    async def json(self, status: int, body: bytes, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
        """One JSON answer."""
        self.exchange.sent_first_byte()
        await self._start(status, [_JSON, (b"content-length", str(len(body)).encode()), *headers])
        await self._write({"type": "http.response.body", "body": body})

    async def body(self, status: int, body: bytes, headers: Iterable[tuple[bytes, bytes]]) -> None:
        """One answer of any other type (``headers`` name it): the metrics, the status page."""
        self.exchange.sent_first_byte()
        await self._start(status, [*headers, (b"content-length", str(len(body)).encode())])
        await self._write({"type": "http.response.body", "body": body})

    async def error(self, error: GatewayError) -> None:
        """``error`` in OpenAI's shape; once an answer has started, its end (the client must not wait)."""
        self.exchange.failed(
            error.code or (None if error.upstream is None else f"http_{error.status}"),
            upstream=error.upstream is not None,
        )
        if self.started:
            with contextlib.suppress(Exception):
                await self._write(_END)
            return
        with contextlib.suppress(Exception):
            await self.json(error.status, error.body(), error.headers)

    async def stream(self, frames: AsyncIterator[bytes], headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
        """A 200 event stream of ``frames``, written as each arrives, until it ends or the client leaves."""
        await self._start(200, [*SSE_HEADERS, *headers])
        pump = asyncio.ensure_future(self._pump(frames))
        watcher = asyncio.ensure_future(self._disconnect())
        try:
            with self.exchange.streaming():  # (the in-flight gauge: open until this ends, however)
                done, _ = await asyncio.wait({pump, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pump, watcher):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        if pump in done:
            pump.result()  # re-raise what the source raised
        else:
            self.exchange.client_left()

    async def _pump(self, frames: AsyncIterator[bytes]) -> None:
        try:
            async for frame in frames:
                self.exchange.sent_first_byte()
                await self._write({"type": "http.response.body", "body": frame, "more_body": True})
        finally:
            aclose = getattr(frames, "aclose", None)
            if aclose is not None:
                await aclose()
        await self._write(_END)

    async def _disconnect(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass

    # -- running an endpoint ------------------------------------------------------------------------

    async def run(self, endpoint: Awaitable[None]) -> None:
        """Run ``endpoint`` (which answers through this writer); every failure becomes an answer."""
        try:
            await endpoint
        except asyncio.CancelledError:
            if not self._stalled:
                raise
            if self._task is not None and hasattr(self._task, "uncancel"):  # Python 3.11+
                self._task.uncancel()
            self.exchange.client_left()
            self.exchange.failed("client_stalled")
        except GatewayError as exc:
            await self.error(exc)
        except ClientGone:
            self.exchange.client_left()
        except StoreError as exc:  # a quota passed, or the store failed (unreachable Redis, full disk)
            answer = GatewayError.from_store(exc)
            await self.error(answer)
            if answer.code == "store_unavailable":
                self.exchange.failed("store_unavailable", store=True)
        except Exception as exc:  # a bug: answer 500 in the client's shape and log it
            exchange = self.exchange
            logger.exception("unexpected error serving %s %s", exchange.method, exchange.path)
            await self.error(
                GatewayError(500, f"internal gateway error ({type(exc).__name__})", type="server_error")
            )
            exchange.failed("internal_error")


class SocketWriter:
    """Writes to one WebSocket client (see the module's docstring).

    A send the client does not take within ``client_timeout`` calls ``on_stall`` (the session closes the
    socket and cancels what it runs); a send to a client that is gone raises :class:`ClientGone`.
    """

    __slots__ = ("_loop", "_on_stall", "_send", "client_timeout", "closed")

    def __init__(self, send: Send, *, client_timeout: float, on_stall: Callable[[], None]) -> None:
        self._send = send
        self._on_stall = on_stall
        self._loop = asyncio.get_running_loop()
        self.client_timeout = client_timeout
        self.closed = False

    async def _write(self, message: Message) -> None:
        if self.closed:
            raise ClientGone
        timer = self._loop.call_later(self.client_timeout, self._on_stall)
        try:
            await self._send(message)
        except OSError:  # uvicorn's ClientDisconnected: the client went away under the send
            self.closed = True
            raise ClientGone from None
        finally:
            timer.cancel()

    async def accept(self, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
        await self._write({"type": "websocket.accept", "headers": list(headers)})

    async def events(
        self, events: Iterable[dict[str, Any]], exchange: Exchange | None = None, lane: str | None = None
    ) -> None:
        """Each event as one JSON text message, in order; ``lane`` is echoed as ``stream_id``."""
        if exchange is not None:
            if not exchange.status:
                exchange.answered(200)
            exchange.sent_first_byte()
        dumps, write = orjson.dumps, self._write
        for event in events:
            if event["type"] == "error" and "error" not in event:
                event = _socket_stream_error(event)
            if lane is not None:
                event["stream_id"] = lane
            await write({"type": "websocket.send", "text": dumps(event).decode()})

    async def error(
        self, error: GatewayError, exchange: Exchange | None = None, lane: str | None = None
    ) -> None:
        """``error`` as the API's WebSocket ``error`` event (its HTTP status in ``status``)."""
        if exchange is not None:
            exchange.answered(error.status)
            exchange.failed(error.code)
        await self.events([socket_error(error)], None, lane)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the socket (nothing more is sent); quietly when the client is gone already."""
        if self.closed:
            return
        with contextlib.suppress(ClientGone):
            await self._write({"type": "websocket.close", "code": code, "reason": reason})
        self.closed = True


def _socket_stream_error(event: dict[str, Any]) -> dict[str, Any]:
    """A stream's ``error`` event (before its ``response.failed``) in the WebSocket's shape
    (``ResponseWsError``: the fields under ``error``, the sequence number kept)."""
    body = {
        "type": "server_error",
        "code": event.get("code"),
        "message": event.get("message", ""),
        "param": event.get("param"),
    }
    return {"type": "error", "sequence_number": event.get("sequence_number"), "error": body}


def socket_error(error: GatewayError) -> dict[str, Any]:
    """The WebSocket ``error`` event for ``error`` (``ResponseWsError``: ``status`` and ``error``)."""
    body = {"type": error.type, "code": error.code, "message": error.message, "param": error.param}
    return {"type": "error", "status": error.status, "error": body}


async def refuse_websocket(
    scope: Scope, receive: Receive, send: Send, error: GatewayError, exchange: Exchange
) -> None:
    """Refuse a WebSocket upgrade with ``error`` (a 404 on a path that serves none, a 401 without a valid
    key) in OpenAI's error shape when the server can send an HTTP answer to an upgrade (the ASGI
    ``websocket.http.response`` extension, which uvicorn has), else a close before accepting (which
    uvicorn answers with a 403).  Never a 500."""
    if (await receive())["type"] != "websocket.connect":
        exchange.client_left()
        return
    exchange.answered(error.status)
    exchange.failed(error.code)
    if "websocket.http.response" in scope.get("extensions", {}):
        body = error.body()
        headers = [_JSON, (b"content-length", str(len(body)).encode()), *error.headers]
        await send({"type": "websocket.http.response.start", "status": error.status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})
