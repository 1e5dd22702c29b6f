"""uvicorn's HTTP protocol (httptools) with a deadline and a size limit for each request's head.

uvicorn bounds the idle time between keep-alive requests, but neither the time a client takes to send
a request's headers nor their size: a client that opens a connection and sends nothing, or sends its
header bytes one at a time (slowloris), holds the connection and its file descriptor forever, and one
that sends headers without end grows the header list without bound.  Here the head of every request
(from the connection's start, or from the first byte of a keep-alive request) must be complete within
``client_timeout`` seconds and :data:`MAX_HEAD_BYTES`; otherwise the client gets ``408`` (or ``431``)
in OpenAI's error shape and the connection is closed.  The body has its own deadline and limit, in
:func:`translator.gateway.asgi.read_body`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .errors import GatewayError

__all__ = ["MAX_HEAD_BYTES", "HeadTimeoutProtocol"]

#: Largest request head (request line and headers) accepted.
MAX_HEAD_BYTES = 64 * 1024
#: How long a refused connection is kept half-closed, reading and dropping, before it is closed.
_LINGER_SECONDS = 1.0


class HeadTimeoutProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` whose request heads must arrive within :attr:`head_timeout` seconds.

    The timeout is a class attribute because uvicorn builds the protocol itself (in every worker
    process): :func:`translator.gateway.server.serve` sets it from the configuration.
    """

    head_timeout: float = 60.0
    _head_timer: asyncio.TimerHandle | None = None
    _head_bytes = 0
    _refused = False

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._refused:  # answered and half-closed: what still comes is read and dropped
            return
        super().data_received(data)
        if self._head_timer is not None:  # the head is still incomplete after this read
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._disarm()
                self._refuse(
                    431, b"Request Header Fields Too Large", f"request head over {MAX_HEAD_BYTES} bytes"
                )

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_bytes = 0
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        self._refuse(408, b"Request Timeout", f"request headers not received within {self.head_timeout:g} s")

    def _refuse(self, status: int, reason: bytes, message: str) -> None:
        """Answer ``status`` and close: a lingering close, so that the answer is not lost to a reset.

        Closing a socket with unread bytes (the client may still be trickling its head) sends a TCP
        reset, which can discard the answer before the client reads it.  So the write side is shut
        first, what the client still sends is read and dropped, and the socket closes a second later.
        """
        transport = self.transport
        if transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:  # never inside another answer
            transport.close()
            return
        code = "request_timeout" if status == 408 else "request_too_large"
        body = GatewayError(status, message, type="invalid_request_error", code=code).body()
        transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (status, reason, len(body), body)
        )
        self._refused = True
        if transport.can_write_eof():
            transport.write_eof()
            self.loop.call_later(_LINGER_SECONDS, transport.close)
        else:
            transport.close()
