"""Same-protocol exchanges: the upstream's answer is passed on byte for byte.

Only the model name is rewritten in the request (routing).  A streamed answer is watched as it
passes (decoded on the side, never re-encoded) so that a stream the upstream cuts or abandons still
ends properly for the client: a Responses stream with ``response.failed`` carrying the output received
so far, a Chat stream with an ``event: error`` chunk (no ``[DONE]``), as the translators end theirs.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from ..engine.sse import Done, StreamDecoder
from ..errors import TranslatorError
from ..streams.accumulate import ResponsesAccumulator
from ..wire.chat_sse import chunk_frame
from ..wire.responses_sse import event_frames
from .asgi import json_bytes
from .request_log import Exchange
from .upstream_client import Destination, UpstreamReadError, UpstreamResponse

__all__ = ["OpenRelay", "open_relay"]

_PATHS = {"responses": "/responses", "chat": "/chat/completions"}
_TERMINAL = ("response.completed", "response.incomplete", "response.failed")


class _Watch:
    """What the client has been sent, decoded on the side, to end a cut stream properly."""

    def __init__(self, protocol: str, exchange: Exchange) -> None:
        self.protocol = protocol
        self.exchange = exchange
        self.decoder = StreamDecoder()
        self.ended = False  # a terminal event, [DONE] or an error frame went out
        self.accumulator = ResponsesAccumulator() if protocol == "responses" else None
        self.last_sequence = -1

    def see(self, data: bytes) -> None:
        for payload in self.decoder.feed(data):
            self._payload(payload)

    def _payload(self, payload: dict[str, Any] | Done) -> None:
        if isinstance(payload, Done):
            self.ended = True
            return
        if self.accumulator is not None:
            kind = payload.get("type")
            number = payload.get("sequence_number")
            if isinstance(number, int):
                self.last_sequence = number
            if kind in _TERMINAL or kind == "error":
                self.ended = kind != "error" or self.ended
                response = payload.get("response")
                if isinstance(response, dict):
                    self.exchange.note_usage(response.get("usage"), "input_tokens", "output_tokens")
                    if kind == "response.failed":
                        self._failed(response.get("error"))
                elif kind == "error":
                    self._failed(payload)
            self.accumulator.feed(payload)
        else:
            if "error" in payload:
                self.ended = True
                self._failed(payload["error"])
            usage = payload.get("usage")
            if usage:
                self.exchange.note_usage(usage, "prompt_tokens", "completion_tokens")

    def _failed(self, error: Any) -> None:
        """The upstream's stream carried its own failure (passed on as it is)."""
        code = error.get("code") or error.get("type") if isinstance(error, dict) else None
        self.exchange.failed(str(code or "server_error"), first=True, upstream=True)

    def ending(self, message: str, code: str) -> bytes:
        """The frames that end a stream the upstream left unfinished."""
        self.exchange.failed(code, upstream=True)
        if self.accumulator is None:
            return chunk_frame(
                {"error": {"message": message, "type": "upstream_error", "code": code, "param": None}}
            )
        response = self.accumulator.result()  # (items never done are listed with status incomplete)
        response.update(status="failed", error={"code": "server_error", "message": message})
        number = self.last_sequence + 1
        error = {"type": "error", "code": code, "message": message, "param": None, "sequence_number": number}
        failed = {"type": "response.failed", "response": response, "sequence_number": number + 1}
        return event_frames([error, failed])


_USAGE_KEYS = {"responses": ("input_tokens", "output_tokens"), "chat": ("prompt_tokens", "completion_tokens")}


class OpenRelay:
    """A same-protocol exchange whose upstream has answered: pass it on as frames, or as one JSON body."""

    __slots__ = ("exchange", "protocol", "response")

    def __init__(self, protocol: str, response: UpstreamResponse, exchange: Exchange) -> None:
        self.protocol = protocol
        self.response = response
        self.exchange = exchange

    async def __aenter__(self) -> OpenRelay:
        return self

    async def __aexit__(self, *exc: object) -> None:
        """The upstream answer closed, also when its frames were never asked for (the client left first)."""
        await self.response.aclose()

    async def answer(self) -> bytes:
        """The upstream's JSON answer (its usage noted in the log record)."""
        try:
            payload = await self.response.json()
        finally:
            await self.response.aclose()
        if isinstance(payload, dict):
            self.exchange.note_usage(payload.get("usage"), *_USAGE_KEYS[self.protocol])
        return json_bytes(payload)

    async def frames(self) -> AsyncGenerator[bytes, None]:
        """The upstream's stream, complete frames as they arrive, properly ended if the upstream did not."""
        watch = _Watch(self.protocol, self.exchange)
        response = self.response
        failure: tuple[str, str] | None = None
        pending = b""  # the start of a frame not yet complete: held back so a cut never leaves half a frame
        try:
            async for data in response.chunks():
                pending += data
                cut = _frames_end(pending)
                if not cut:
                    continue
                complete, pending = pending[:cut], pending[cut:]
                try:
                    watch.see(complete)
                except TranslatorError as exc:
                    failure = (f"the upstream sent a malformed stream: {exc}", "bad_upstream")
                    break
                yield complete
                if watch.ended:  # (resumed: the writer wrote it)
                    self.exchange.end_sent()
        except UpstreamReadError as exc:
            failure = (exc.message, exc.code)
        finally:
            await response.aclose()
        last = b""
        if failure is None and pending:
            try:
                last = pending + b"\n\n"  # the upstream's last frame lacked its blank line
                watch.see(last)
            except TranslatorError as exc:
                failure = (f"the upstream sent a malformed stream: {exc}", "bad_upstream")
        if not watch.ended:
            message, code = failure or (
                f"upstream {response.upstream_name!r} ended the stream before its end",
                "stream_incomplete",
            )
            last = watch.ending(message, code)
        if last:
            yield last
            self.exchange.end_sent()

    async def events(self) -> AsyncGenerator[list[dict[str, Any]], None]:
        """The stream's events, decoded from :meth:`frames` as they arrive (a WebSocket sends each as one
        message); ``[DONE]`` is not an event."""
        decoder = StreamDecoder()
        frames = self.frames()
        try:
            async for data in frames:
                events = [payload for payload in decoder.feed(data) if not isinstance(payload, Done)]
                if events:
                    yield events
        finally:
            await frames.aclose()


async def open_relay(protocol: str, body: dict[str, Any], to: Destination, exchange: Exchange) -> OpenRelay:
    """Pass one request to a same-protocol upstream; :class:`GatewayError` for failures before it answers."""
    response = await to.post(_PATHS[protocol], body, stream=body.get("stream") is True)
    return OpenRelay(protocol, response, exchange)


def _frames_end(data: bytes) -> int:
    """Where the last complete SSE frame (or JSON line) of ``data`` ends; 0 when none is complete."""
    lf = data.rfind(b"\n\n")
    crlf = data.rfind(b"\r\n\r\n")
    return max(lf + 2 if lf >= 0 else 0, crlf + 4 if crlf >= 0 else 0)
