"""Calls to one upstream over HTTP (aiohttp), with the gateway's timeouts and error mapping.

Three clocks bound every call: ``connect_timeout`` (TCP/TLS connect, and the wait for a free pooled
connection), ``first_byte_timeout`` (until the response headers: a local server may load a model first)
and ``read_timeout`` (the longest silence inside a stream).  Failures before the answer starts become a
:class:`GatewayError` (502 unreachable, 504 timeout, 503 when every pooled connection is busy, the
upstream's own status for its error answers); failures while a stream is being read become
:class:`UpstreamReadError`, which the endpoints turn into the client protocol's terminal failure.

Each call is a tracing span (``upstream POST /chat/completions``, :mod:`translator.gateway.tracing`)
from the request until its answer has been read or closed.

aiohttp rather than httpx (measured, see the README's "Why this stack"): httpx hands over every HTTP
chunk of the upstream's body on its own, parsed by h11 in Python, at 5-8x the CPU per chunk;
aiohttp parses in C and hands over what has arrived in one piece, so the pump translates and writes
once per read.  Its reader stops reading the socket while its buffer is full (about 64 KiB), so a
slow client, which holds back the pump, holds back the upstream too.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from aiohttp.http_exceptions import (
    ContentEncodingError,
    ContentLengthError,
    DecompressSizeError,
    HttpProcessingError,
    TransferEncodingError,
)
from yarl import URL

from ..protocol.provider_errors import classify_error
from .config import UpstreamConfig
from .errors import GatewayError
from .redaction import Redactor, credential_of
from .tracing import UpstreamSpan, upstream_span

__all__ = ["Destination", "Upstream", "UpstreamReadError", "UpstreamResponse"]

#: Largest upstream error body read (the rest is ignored), and largest non-streaming answer.
_ERROR_BODY_LIMIT = 1 << 20
_OBJECT_LIMIT = 64 << 20
#: Request bodies from this size are sent from a buffer rather than as one bytes object.
_LARGE_BODY = 1 << 20
#: Upstream answer headers passed on to the client with an error.
_PASSED_ERROR_HEADERS = (
    "retry-after",
    "retry-after-ms",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
)


_STREAM_TYPES = (
    "",
    "text/event-stream",
    "application/x-ndjson",
    "application/jsonl",
    "application/json-lines",
)
_JSON_TYPES = ("application/json",)


class UpstreamReadError(Exception):
    """The upstream stream failed after it started: silence past ``read_timeout``, or a broken connection."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class UpstreamResponse:
    """An upstream answer whose headers have arrived (2xx); read it as a stream or as one JSON object."""

    def __init__(
        self, upstream: Upstream, response: aiohttp.ClientResponse, span: UpstreamSpan, redactor: Redactor
    ) -> None:
        self._upstream = upstream
        self._response = response
        self._span = span
        self._redactor = redactor

    @property
    def upstream_name(self) -> str:
        return self._upstream.name

    def is_event_stream(self) -> bool:
        """Whether the answer is a stream (SSE or JSON lines) rather than one JSON object."""
        return _content_type(self._response) in _STREAM_TYPES

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives, cleaned of the keys the request sent (:mod:`.redaction`).  Raises
        :class:`UpstreamReadError` on silence or a broken connection."""
        content = self._response.content
        redactor = self._redactor
        received = 0
        try:
            while True:
                data = await content.readany()
                if not data:
                    tail = redactor.end()
                    if tail:
                        yield tail
                    return
                received += len(data)
                if redactor:
                    data = redactor.feed(data)
                    if not data:
                        continue
                yield data
        except aiohttp.ServerTimeoutError:
            seconds = self._upstream.config.read_timeout
            raise UpstreamReadError(
                f"upstream {self._upstream.name!r} sent nothing for {seconds:g} s (read timeout)",
                "upstream_timeout",
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise self._broken(exc, received) from None

    def _broken(self, exc: BaseException, received: int) -> UpstreamReadError:
        """What broke the body after ``received`` bytes, in words: never the HTTP library's own error
        codes (aiohttp words a cut body as ``400, message: Not enough data to satisfy transfer length
        header.``, a status the upstream never sent)."""
        name = self._upstream.name
        body = "the stream" if self.is_event_stream() else "the answer"
        after = f"after {received:,} bytes of {body}"
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        if isinstance(cause, (ContentEncodingError, DecompressSizeError)):
            reason = _reason(cause)
            return UpstreamReadError(
                f"upstream {name!r} sent a body that cannot be decoded {after} ({reason})", "bad_upstream"
            )
        if isinstance(cause, ContentLengthError):
            announced = self._response.headers.get("content-length", "")
            of = f", of the {int(announced):,} its Content-Length announced" if announced.isdigit() else ""
            message = f"upstream {name!r} closed the connection {after}{of}"
        elif _reset(exc):
            message = f"upstream {name!r} reset the connection {after}"
        elif isinstance(cause, (TransferEncodingError, aiohttp.ServerDisconnectedError)):
            message = f"upstream {name!r} closed the connection {after}, before its end"
        else:
            message = f"upstream {name!r} broke the connection {after} ({_reason(cause)})"
        return UpstreamReadError(message, "upstream_disconnected")

    async def json(self) -> Any:
        """The whole body parsed as JSON (bounded); a bad body is a 502 naming the upstream."""
        body = bytearray()
        try:
            async for data in self.chunks():
                body += data
                if len(body) > _OBJECT_LIMIT:
                    raise GatewayError.bad_upstream(
                        self._upstream.name, f"answered more than {_OBJECT_LIMIT} bytes"
                    )
        except UpstreamReadError as exc:
            code = 504 if exc.code == "upstream_timeout" else 502
            raise GatewayError(
                code, exc.message, type="upstream_error", code=exc.code, upstream=self._upstream.name
            ) from None
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            preview = bytes(body[:120]).decode("utf-8", "replace")
            raise GatewayError.bad_upstream(
                self._upstream.name, f"answered with a body that is not JSON: {preview!r}"
            ) from None

    async def aclose(self) -> None:
        """Done with the answer: a fully read one gives its connection back, an unfinished one closes it."""
        response = self._response
        complete = response.content.is_eof()
        if complete:
            response.release()
        else:
            response.close()  # the upstream sees the request closed at once
        self._span.end(complete=complete)


class Upstream:
    """One configured upstream and its connection pool (created in the event loop, on first use)."""

    def __init__(self, config: UpstreamConfig) -> None:
        self.config = config
        self.name = config.name
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, URL] = {}

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            config = self.config
            connector = aiohttp.TCPConnector(
                limit=config.max_connections, limit_per_host=0, keepalive_timeout=30, ttl_dns_cache=60
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=config.connect_timeout,  # a free pooled connection, then the TCP/TLS connect
                    sock_connect=config.connect_timeout,
                    sock_read=config.first_byte_timeout,  # until the headers; read_timeout after them
                ),
                trust_env=False,
                json_serialize=lambda value: orjson.dumps(value).decode(),
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    def connection_counts(self) -> tuple[int, int]:
        """Connections the pool holds: (busy, idle).  For the load tests and the pool-busy check."""
        connector = None if self._session is None or self._session.closed else self._session.connector
        if connector is None:
            return 0, 0
        return len(connector._acquired), sum(len(conns) for conns in connector._conns.values())

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
            # the closed transports close their sockets on the next pass of the loop, which may be
            # the last (the server stopping): let it run, or a socket is left for the GC to warn about
            await asyncio.sleep(0)

    def headers(self, client_authorization: str | None, *, stream: bool) -> dict[str, str]:
        """Request headers: the configured key, else (without ``key_env``) the client's own
        ``Authorization`` when allowed."""
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream" if stream else "application/json",
        }
        key = self.config.api_key()
        if key is not None:
            headers["authorization"] = f"Bearer {key}"
        elif self.config.key_env is not None:  # its variable was unset since the start: never the client's
            raise GatewayError(
                503,
                f"upstream {self.name!r}: its key variable {self.config.key_env} is not set",
                type="upstream_error",
                code="upstream_key_missing",
            )
        elif client_authorization:
            headers["authorization"] = client_authorization
        return headers

    def _url(self, path: str) -> URL:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = URL(self.config.base_url + path)
        return url

    async def post(
        self, path: str, body: dict[str, Any], *, authorization: str | None, stream: bool
    ) -> UpstreamResponse:
        """POST ``body`` and wait for a 2xx answer's headers; errors as :class:`GatewayError`."""
        headers = self.headers(authorization, stream=stream)
        return await self._send("POST", path, headers, orjson.dumps(body))

    async def post_root(
        self, path: str, body: dict[str, Any], *, authorization: str | None
    ) -> UpstreamResponse:
        """POST ``body`` to ``path`` at the server's root (``base_url`` without a trailing ``/v1``): where
        vLLM and llama.cpp serve ``/tokenize``."""
        base = self.config.base_url
        url = URL((base[: -len("/v1")] if base.endswith("/v1") else base) + path)
        return await self._send("POST", url, self.headers(authorization, stream=False), orjson.dumps(body))

    async def get(self, path: str, *, authorization: str | None) -> UpstreamResponse:
        return await self._send("GET", path, self.headers(authorization, stream=False), None)

    async def forward(
        self, method: str, path: str, query: str, *, authorization: str | None
    ) -> UpstreamResponse:
        """A bodiless request (``GET``/``DELETE``/``POST .../cancel``) answered with JSON."""
        url = URL(self.config.base_url + path)  # not cached: one per response id
        if query:
            url = url.with_query(query)
        return await self._send(method, url, self.headers(authorization, stream=False), None)

    async def _send(
        self, method: str, path: str | URL, headers: dict[str, str], data: bytes | None
    ) -> UpstreamResponse:
        """The call in its tracing span (:mod:`.tracing`), which the answer ends when it is closed."""
        span = upstream_span(self.name, method, path if isinstance(path, str) else "/responses/{id}")
        try:
            response, redactor = await self._call(method, path, headers, data)
        except BaseException as exc:
            span.failed(exc)
            raise
        span.answered(response.status)
        return UpstreamResponse(self, response, span, redactor)

    async def _call(
        self, method: str, path: str | URL, headers: dict[str, str], data: bytes | None
    ) -> tuple[aiohttp.ClientResponse, Redactor]:
        config = self.config
        session = self._client()
        url = self._url(path) if isinstance(path, str) else path
        # what this request sends that the upstream could quote back: never passed on (redaction.py)
        redactor = Redactor((config.api_key(), credential_of(headers.get("authorization"))))
        try:
            # (a large body as a stream of its bytes: aiohttp warns about, and copies, a large bytes body)
            payload = io.BytesIO(data) if data is not None and len(data) > _LARGE_BODY else data
            response = await session.request(
                method, url, data=payload, headers=headers, allow_redirects=False
            )
        except aiohttp.ConnectionTimeoutError:
            if sum(self.connection_counts()) >= config.max_connections:
                raise GatewayError(
                    503,
                    f"upstream {self.name!r}: all {config.max_connections} connections are busy",
                    type="upstream_error",
                    code="upstream_busy",
                    upstream=self.name,
                ) from None
            raise GatewayError.timeout(
                self.name, "did not accept the connection", config.connect_timeout
            ) from None
        except aiohttp.ServerTimeoutError:
            raise GatewayError.timeout(
                self.name, "sent no response headers", config.first_byte_timeout
            ) from None
        except aiohttp.ClientConnectorError as exc:
            raise GatewayError.unreachable(self.name, _reason(exc.os_error)) from None
        except asyncio.TimeoutError as exc:
            raise GatewayError.timeout(
                self.name, f"timed out ({type(exc).__name__})", config.connect_timeout
            ) from None
        except aiohttp.ClientResponseError as exc:  # not HTTP: a malformed status line or headers
            raise GatewayError.bad_upstream(
                self.name, f"answered with malformed HTTP ({redactor.clean_text(str(exc.message))})"
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise GatewayError.bad_upstream(
                self.name, f"closed the connection before answering ({redactor.clean_text(_reason(exc))})"
            ) from None
        if response.status >= 300:
            raise await self._error(response, redactor)
        kind = _content_type(response)
        if kind not in _STREAM_TYPES and kind not in _JSON_TYPES:
            preview = await _preview(response, redactor)
            kind = redactor.clean_text(kind)
            raise GatewayError.bad_upstream(
                self.name,
                f"answered HTTP {response.status} with {kind!r}, not JSON or an event stream: {preview!r}",
            )
        # From here on, a read waits at most read_timeout: the first-byte allowance ends with the headers.
        connection = response.connection
        if connection is not None and connection.protocol is not None:
            connection.protocol.read_timeout = config.read_timeout
            if not response.content.is_eof():  # (at the end of the body aiohttp stops the clock itself)
                connection.protocol.start_timeout()  # it restarts now, with the stream's allowance
        return response, redactor

    async def _error(self, response: aiohttp.ClientResponse, redactor: Redactor) -> GatewayError:
        body = bytearray()
        try:
            while len(body) < _ERROR_BODY_LIMIT:
                data = await response.content.readany()
                if not data:
                    break
                body += data
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError):
            pass
        finally:
            response.close()
        status = response.status
        # some providers quote the key they were given: cleaned before anything reads the body, and
        # before it is cut (a key cut at the limit is replaced too)
        cleaned = redactor.clean(bytes(body[:_ERROR_BODY_LIMIT]))
        error = classify_error(None, status=status, body=cleaned)
        passed = [
            (name.encode(), redactor.clean(response.headers[name].encode()))
            for name in _PASSED_ERROR_HEADERS
            if name in response.headers
        ]
        if status < 400:  # a redirect: not followed (it could carry the key elsewhere)
            return GatewayError.bad_upstream(self.name, f"answered with a redirect (HTTP {status})")
        return GatewayError.from_provider(status, error, passed, upstream=self.name)


def _content_type(response: aiohttp.ClientResponse) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip().lower()


async def _preview(response: aiohttp.ClientResponse, redactor: Redactor) -> str:
    """The start of an unexpected answer, cleaned, for the error message (the connection is then closed)."""
    try:
        data = await response.content.read(160)
        return redactor.clean(data).decode("utf-8", "replace")
    except (aiohttp.ClientError, OSError, asyncio.TimeoutError):
        return ""
    finally:
        response.close()


def _reason(exc: BaseException) -> str:
    """What an exception says, without the HTTP library's codes: ``message`` of aiohttp's protocol
    errors (whose text starts with a made-up ``400, message:``), ``strerror`` of an ``OSError``."""
    if isinstance(exc, HttpProcessingError) and exc.message:
        return str(exc.message).strip()
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip()
    return text or type(exc).__name__


def _reset(exc: BaseException) -> bool:
    """Whether the peer reset the connection: a ``ConnectionResetError`` in the chain, or named in the
    payload error's text (where aiohttp puts the reset it met while the body was incomplete)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionResetError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "ConnectionResetError" in str(exc)


@dataclass(frozen=True, slots=True)
class Destination:
    """Where one request goes: the upstream, its name for the model, and the ``Authorization`` to send
    when the upstream has no key of its own (the client's, when the gateway has no inbound keys)."""

    upstream: Upstream
    model: str
    authorization: str | None

    async def post(self, path: str, body: dict[str, Any], *, stream: bool) -> UpstreamResponse:
        """``body`` for the routed model, POSTed to ``path``."""
        body["model"] = self.model
        return await self.upstream.post(path, body, authorization=self.authorization, stream=stream)
