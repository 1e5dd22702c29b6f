"""The ASGI plumbing the endpoints share: bounded body reading, JSON answers, and streamed answers that
stop (and close their upstream) as soon as the client goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

import orjson

from .errors import GatewayError

__all__ = [
    "Receive",
    "Scope",
    "Send",
    "read_body",
    "send_answer",
    "send_error",
    "send_json",
    "stream_until_disconnect",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON_HEADERS = [(b"content-type", b"application/json")]
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


def header(scope: Scope, name: bytes) -> str | None:
    """The first request header ``name`` (lower-case bytes), decoded as latin-1."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def read_body(scope: Scope, receive: Receive, limit: int, timeout: float) -> bytes:
    """The request body, at most ``limit`` bytes (413 beyond, checked on Content-Length first), received
    within ``timeout`` seconds (408 after: a client trickling its body must not hold the worker)."""
    try:
        return await asyncio.wait_for(_read_body(scope, receive, limit), timeout)
    except asyncio.TimeoutError:
        raise GatewayError.request_timeout(f"request body not received within {timeout:g} s") from None


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    declared = header(scope, b"content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise GatewayError.too_large(limit)
        except ValueError:
            raise GatewayError.bad_request("Content-Length is not a number") from None
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        body += message.get("body", b"")
        if len(body) > limit:
            raise GatewayError.too_large(limit)
        if not message.get("more_body", False):
            return bytes(body)


class ClientGone(Exception):
    """The client disconnected before its request was read."""


async def send_json(
    send: Send, status: int, body: bytes, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*JSON_HEADERS, (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_answer(send: Send, answer: tuple[int, list[tuple[bytes, bytes]], bytes]) -> None:
    """A whole answer at once: status, headers, body (the operations endpoints make one)."""
    status, headers, body = answer
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, error: GatewayError, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    await send_json(send, error.status, error.body(), [*error.headers, *headers])


def json_bytes(value: Any) -> bytes:
    return orjson.dumps(value)


async def stream_until_disconnect(receive: Receive, pump: Awaitable[None]) -> bool:
    """Run ``pump`` (which writes a streamed answer) until it ends or the client disconnects.

    On a disconnect ``pump`` is cancelled at once, so its ``finally`` closes the upstream request
    even while it waits on a silent upstream.  Returns whether the client disconnected.
    """
    task = asyncio.ensure_future(pump)
    watcher = asyncio.ensure_future(_disconnected(receive))
    try:
        done, _ = await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        watcher.cancel()
        raise
    if task in done:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        task.result()  # re-raise what the pump raised
        return False
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return True


async def _disconnected(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
