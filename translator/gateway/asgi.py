"""The ASGI plumbing the endpoints share: the message types, request headers, bounded body reading.

Writing to the client is :mod:`translator.gateway.client_writer`'s alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import orjson

from .errors import GatewayError

__all__ = [
    "SSE_HEADERS",
    "ClientGone",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "header",
    "json_bytes",
    "list_options",
    "read_body",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

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


def list_options(query: bytes) -> dict[str, Any]:
    """``after``, ``limit``, ``order`` of a list request's query (400 naming ``limit`` when it is no integer;
    the store checks the ranges)."""
    fields = parse_qs(query.decode("latin-1"), keep_blank_values=True)
    options: dict[str, Any] = {name: fields[name][-1] for name in ("after", "order") if name in fields}
    if "limit" in fields:
        raw = fields["limit"][-1]
        try:
            options["limit"] = int(raw)
        except ValueError:
            message = f"'limit' must be an integer, got {raw!r}"
            raise GatewayError.bad_request(message, param="limit") from None
    return options


def json_bytes(value: Any) -> bytes:
    return orjson.dumps(value)
