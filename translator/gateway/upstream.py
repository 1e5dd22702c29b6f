"""Calls to one upstream over HTTP (httpx), with the gateway's timeouts and error mapping.

Three clocks bound every call: ``connect_timeout`` (TCP/TLS connect), ``first_byte_timeout`` (until the
response headers: a local server may load a model first) and ``read_timeout`` (the longest silence
inside a stream).  Failures before the answer starts become a :class:`GatewayError` (502 unreachable,
504 timeout, the upstream's own status for its error answers); failures while a stream is being read
become :class:`UpstreamReadError`, which the endpoints turn into the client protocol's terminal
failure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from ..provider_errors import classify_error
from .config import UpstreamConfig
from .errors import GatewayError

__all__ = ["Upstream", "UpstreamReadError", "UpstreamResponse"]

#: Largest upstream error body read (the rest is ignored), and largest non-streaming answer.
_ERROR_BODY_LIMIT = 1 << 20
_OBJECT_LIMIT = 64 << 20
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

    def __init__(self, upstream: Upstream, response: httpx.Response) -> None:
        self._upstream = upstream
        self._response = response

    @property
    def upstream_name(self) -> str:
        return self._upstream.name

    def is_event_stream(self) -> bool:
        """Whether the answer is a stream (SSE or JSON lines) rather than one JSON object."""
        kind = self._response.headers.get("content-type", "").split(";")[0].strip().lower()
        return kind in _STREAM_TYPES

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives.  Raises :class:`UpstreamReadError` on silence or a broken connection."""
        name = self._upstream.name
        try:
            async for data in self._response.aiter_bytes():
                yield data
        except httpx.ReadTimeout:
            seconds = self._upstream.config.read_timeout
            raise UpstreamReadError(
                f"upstream {name!r} sent nothing for {seconds:g} s (read timeout)", "upstream_timeout"
            ) from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise UpstreamReadError(
                f"upstream {name!r} broke the connection mid-stream ({_reason(exc)})", "upstream_disconnected"
            ) from None
        except httpx.DecodingError as exc:
            raise UpstreamReadError(
                f"upstream {name!r} sent an undecodable body ({_reason(exc)})", "bad_upstream"
            ) from None

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
            raise GatewayError(code, exc.message, type="upstream_error", code=exc.code) from None
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            preview = bytes(body[:120]).decode("utf-8", "replace")
            raise GatewayError.bad_upstream(
                self._upstream.name, f"answered with a body that is not JSON: {preview!r}"
            ) from None

    async def aclose(self) -> None:
        await self._response.aclose()


class Upstream:
    """One configured upstream and its connection pool."""

    def __init__(self, config: UpstreamConfig) -> None:
        self.config = config
        self.name = config.name
        self._client = httpx.AsyncClient(
            base_url=config.base_url,
            limits=httpx.Limits(max_connections=config.max_connections, max_keepalive_connections=100),
            timeout=httpx.Timeout(
                connect=config.connect_timeout,
                read=config.first_byte_timeout,
                write=config.read_timeout,
                pool=config.connect_timeout,
            ),
            follow_redirects=False,
            trust_env=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    def headers(self, client_authorization: str | None, *, stream: bool) -> dict[str, str]:
        """Request headers: the configured key, else the client's own ``Authorization`` when allowed."""
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream" if stream else "application/json",
        }
        key = self.config.api_key()
        if key is not None:
            headers["authorization"] = f"Bearer {key}"
        elif client_authorization:
            headers["authorization"] = client_authorization
        return headers

    async def post(
        self, path: str, body: dict[str, Any], *, authorization: str | None, stream: bool
    ) -> UpstreamResponse:
        """POST ``body`` and wait for a 2xx answer's headers; errors as :class:`GatewayError`."""
        request = self._client.build_request(
            "POST", path, content=orjson.dumps(body), headers=self.headers(authorization, stream=stream)
        )
        return await self._send(request)

    async def get(self, path: str, *, authorization: str | None) -> UpstreamResponse:
        request = self._client.build_request("GET", path, headers=self.headers(authorization, stream=False))
        return await self._send(request)

    async def _send(self, request: httpx.Request) -> UpstreamResponse:
        config = self.config
        try:
            response = await self._client.send(request, stream=True)
        except httpx.ConnectTimeout:
            raise GatewayError.timeout(
                self.name, "did not accept the connection", config.connect_timeout
            ) from None
        except httpx.PoolTimeout:
            raise GatewayError(
                503,
                f"upstream {self.name!r}: all {config.max_connections} connections are busy",
                type="upstream_error",
                code="upstream_busy",
            ) from None
        except httpx.ReadTimeout:
            raise GatewayError.timeout(
                self.name, "sent no response headers", config.first_byte_timeout
            ) from None
        except httpx.ConnectError as exc:
            raise GatewayError.unreachable(self.name, _reason(exc)) from None
        except httpx.TimeoutException as exc:
            raise GatewayError.timeout(
                self.name, f"timed out ({type(exc).__name__})", config.connect_timeout
            ) from None
        except httpx.TransportError as exc:
            raise GatewayError.bad_upstream(
                self.name, f"closed the connection before answering ({_reason(exc)})"
            ) from None
        if response.status_code >= 300:
            raise await self._error(response)
        # From here on, a read waits at most read_timeout (httpcore reads the request's timeout table
        # on every body read, so the first-byte allowance ends with the headers).
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in _STREAM_TYPES and kind not in _JSON_TYPES:
            preview = await _preview(response)
            raise GatewayError.bad_upstream(
                self.name,
                f"answered HTTP {response.status_code} with {kind!r},"
                f" not JSON or an event stream: {preview!r}",
            )
        timeouts = response.request.extensions.get("timeout")
        if isinstance(timeouts, dict):
            timeouts["read"] = config.read_timeout
        return UpstreamResponse(self, response)

    async def _error(self, response: httpx.Response) -> GatewayError:
        body = bytearray()
        try:
            async for data in response.aiter_bytes():
                body += data
                if len(body) >= _ERROR_BODY_LIMIT:
                    break
        except httpx.HTTPError:
            pass
        finally:
            await response.aclose()
        status = response.status_code
        error = classify_error(None, status=status, body=bytes(body[:_ERROR_BODY_LIMIT]))
        key = self.config.api_key()
        if key and key in error.message:  # some providers quote the key they were given
            error = dataclasses.replace(error, message=error.message.replace(key, "[redacted]"))
        passed = [
            (name.encode(), response.headers[name].encode())
            for name in _PASSED_ERROR_HEADERS
            if name in response.headers
        ]
        if status < 400:  # a redirect: not followed (it could carry the key elsewhere)
            return GatewayError.bad_upstream(self.name, f"answered with a redirect (HTTP {status})")
        return GatewayError.from_provider(status, error, passed)


async def _preview(response: httpx.Response) -> str:
    """The start of an unexpected answer, for the error message (the connection is then closed)."""
    try:
        async for data in response.aiter_bytes():
            return data[:160].decode("utf-8", "replace")
    except httpx.HTTPError:
        pass
    finally:
        await response.aclose()
    return ""


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
