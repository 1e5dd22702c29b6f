"""Translated exchanges: a client of one protocol served by an upstream of the other.

``POST /v1/responses`` over a chat upstream and ``POST /v1/chat/completions`` over a responses upstream
are the same exchange seen from two sides, so one :func:`open_bridge` serves both.  The request is
converted (dropped parameters collected), the upstream is called (streaming, unless its capabilities
say ``stream = false``: then its final object is replayed as a stream, see
:mod:`translator.streams.object_stream`),
and every upstream read goes through the core translator at once; each read's events become one piece
of SSE (:mod:`translator.wire`), which the client writer sends as it comes.  A stream that fails after it
started (an upstream error frame, silence past the read timeout, a broken connection, data that cannot be
translated) still ends with the client protocol's terminal failure carrying everything received.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

from ..convert.requests import RequestConversion, convert_chat_request, convert_responses_request
from ..engine.feed import FeedBase
from ..errors import TranslatorError
from ..ids import IdSource, random_id
from ..protocol.capabilities import UpstreamProfile
from ..protocol.mapping import RESPONSE_DEFAULTS
from ..protocol.provider_errors import classify_error
from ..streams.accumulate import ChatAccumulator
from ..streams.interruptible import InterruptibleChatToResponses
from ..streams.object_stream import completion_as_chunks, response_as_events
from ..streams.responses_to_chat import Phase, ResponsesToChat
from ..wire.chat_sse import ChatSSEWriter
from ..wire.responses_sse import event_frames
from .asgi import json_bytes
from .errors import GatewayError
from .offload import off_loop
from .request_log import Exchange
from .response_hooks import NO_HOOKS, ResponseHooks
from .upstream_client import Destination, UpstreamReadError, UpstreamResponse

__all__ = ["OpenBridge", "open_bridge", "open_warmup"]

#: What a failure is fed to: the translator (event or chunk lists) or its SSE writer (bytes).
_Out = TypeVar("_Out", bytes, list[dict[str, Any]])

#: HTTP status for a failure known only once the upstream stream had started (non-streaming clients).
_STATUS_BY_CODE = {
    "context_length_exceeded": 400,
    "invalid_prompt": 400,
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
    "upstream_timeout": 504,
}

#: Response fields echoed from a Responses request (the rest come from the upstream's stream).
_ECHOED = tuple(RESPONSE_DEFAULTS)
_TERMINAL = ("response.completed", "response.incomplete", "response.failed")
#: A Chat client's stream has what ends it (the finish_reason chunk and usage, or the error frame).
_CHAT_ENDED = (Phase.DONE, Phase.FAILED)


@dataclass(frozen=True, slots=True)
class _Direction:
    """What differs between the two bridges."""

    client_protocol: str
    upstream_path: str
    convert: Callable[[dict[str, Any], UpstreamProfile], RequestConversion]
    new_translator: Callable[[dict[str, Any], RequestConversion, ResponseHooks], FeedBase]
    final_of: Callable[[list[dict[str, Any]]], dict[str, Any] | None]
    error_payload: Callable[[str, str], dict[str, Any]]
    replay: Callable[[Any], list[dict[str, Any]]]
    #: what the log record keeps of each list of events (``None``: a Chat stream, which ``ChatSSEWriter``
    #: writes and accounts for itself)
    note: Callable[[list[dict[str, Any]], Exchange], None] | None
    finish: Callable[[list[dict[str, Any]], Exchange], tuple[int, bytes]]
    #: the tokens the upstream reported, noted once its stream has been read (when the client's own
    #: output does not carry them)
    note_tokens: Callable[[FeedBase, Exchange], None] = lambda translator, exchange: None
    interrupt: Callable[[FeedBase, str], list[dict[str, Any]]] | None = None


# -- Responses client, chat upstream --------------------------------------------------------------------


def _responses_translator(
    body: dict[str, Any], converted: RequestConversion, hooks: ResponseHooks
) -> FeedBase:
    return _chat_to_responses(body, hooks, converted.tool_map)


def _chat_to_responses(
    body: dict[str, Any], hooks: ResponseHooks, tool_map: Any = None
) -> InterruptibleChatToResponses:
    echo = {key: body[key] for key in _ECHOED if body.get(key) is not None}
    echo.setdefault("store", True)  # the Responses API's default
    echo.update(hooks.fields)
    ids: IdSource = random_id if hooks.response_id is None else _FixedResponseId(hooks.response_id)
    return InterruptibleChatToResponses(response_fields=echo, ids=ids, tool_map=tool_map)


class _FixedResponseId:
    """An id source whose ``resp`` id is given (the rest are random)."""

    def __init__(self, response_id: str) -> None:
        self._response_id = response_id

    def __call__(self, prefix: str) -> str:
        return self._response_id if prefix == "resp" else random_id(prefix)


def _final_response_of(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    last = events[-1]
    return last["response"] if last["type"] in _TERMINAL else None


def _note_events(events: list[dict[str, Any]], exchange: Exchange) -> None:
    last = events[-1]
    if last["type"] in _TERMINAL:
        exchange.note_usage(last["response"].get("usage"), "input_tokens", "output_tokens")
        if last["type"] == "response.failed":
            code = (last["response"].get("error") or {}).get("code") or "server_error"
            exchange.failed(code, first=True, upstream=True)


def _interrupt(translator: FeedBase, reason: str) -> list[dict[str, Any]]:
    assert isinstance(translator, InterruptibleChatToResponses)
    return translator.interrupt(reason)


def _final_response(events: list[dict[str, Any]], exchange: Exchange) -> tuple[int, bytes]:
    _note_events(events, exchange)
    response = events[-1]["response"]
    if events[-1]["type"] == "response.failed":
        raise _upstream_failure(response.get("error") or {}, exchange)
    return 200, json_bytes(response)


def _upstream_failure(error: dict[str, Any], exchange: Exchange) -> GatewayError:
    """A failed exchange as the HTTP error a non-streaming client gets.

    The transport failure (``upstream_timeout``...), when there was one, names it better than the
    code the translator put in the failed response or error chunk.
    """
    exchange.failed(error.get("code") or "server_error", first=True, upstream=True)
    code = exchange.error or "server_error"
    message = str(error.get("message") or "the upstream failed")
    return GatewayError(
        _STATUS_BY_CODE.get(code, 502), message, type="upstream_error", code=code, upstream=exchange.upstream
    )


_RESPONSES_OVER_CHAT = _Direction(
    client_protocol="responses",
    upstream_path="/chat/completions",
    convert=convert_responses_request,
    new_translator=_responses_translator,
    final_of=_final_response_of,
    error_payload=lambda message, code: {
        "error": {"message": message, "type": "upstream_error", "code": code}
    },
    replay=completion_as_chunks,
    note=_note_events,
    finish=_final_response,
    interrupt=_interrupt,
)


# -- Chat client, responses upstream --------------------------------------------------------------------


def _chat_translator(body: dict[str, Any], converted: RequestConversion, hooks: ResponseHooks) -> FeedBase:
    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    return ResponsesToChat(include_usage=include_usage or body.get("stream") is not True)


def _note_chat_outcome(writer: ChatSSEWriter, exchange: Exchange) -> None:
    """What the log line keeps of a Chat stream as written: its usage, and the error that ended it."""
    if writer.usage:
        exchange.note_usage(writer.usage, "prompt_tokens", "completion_tokens")
    if writer.error is not None:
        code = writer.error.get("code") or writer.error.get("type") or "server_error"
        exchange.failed(code, first=True, upstream=True)


def _final_completion(chunks: list[dict[str, Any]], exchange: Exchange) -> tuple[int, bytes]:
    accumulator = ChatAccumulator()
    for chunk in chunks:
        if "error" in chunk:
            raise _upstream_failure(chunk["error"], exchange)
        if chunk.get("usage"):
            exchange.note_usage(chunk["usage"], "prompt_tokens", "completion_tokens")
        accumulator.feed(chunk)
    accumulator.close()
    return 200, json_bytes(accumulator.result())


def _note_upstream_usage(translator: FeedBase, exchange: Exchange) -> None:
    if exchange.input_tokens is None and isinstance(translator, ResponsesToChat):
        exchange.note_usage(translator.upstream_usage, "input_tokens", "output_tokens")


_CHAT_OVER_RESPONSES = _Direction(
    client_protocol="chat",
    upstream_path="/responses",
    convert=lambda body, profile: convert_chat_request(body),
    new_translator=_chat_translator,
    final_of=lambda chunks: None,
    error_payload=lambda message, code: {"type": "error", "message": message, "code": code, "param": None},
    replay=response_as_events,
    note=None,  # a Chat stream is written by ChatSSEWriter (OpenBridge._chat_frames)
    finish=_final_completion,
    note_tokens=_note_upstream_usage,
)

BRIDGES = {"responses": _RESPONSES_OVER_CHAT, "chat": _CHAT_OVER_RESPONSES}


# -- the exchange ---------------------------------------------------------------------------------------


class _Upstream(Protocol):
    """What the exchange does with the upstream's answer once it stops reading it."""

    async def aclose(self) -> None: ...


class _NoUpstream:
    """The upstream of a ``generate: false`` response: there is none."""

    async def aclose(self) -> None:
        return None


@dataclass(slots=True)
class OpenBridge:
    """A translated exchange whose upstream has answered: read it as lists of events (a WebSocket sends
    each as a JSON message), as SSE frames made of them, or as one JSON answer.

    Every upstream read goes through the translator at once, and the upstream request is closed when
    reading stops (at the end, on a failure, when ``hooks.interrupt`` says so, or when the client writer
    closes the frames because the client left).
    """

    direction: _Direction
    translator: FeedBase
    source: AsyncIterator[Any]
    response: _Upstream
    headers: list[tuple[bytes, bytes]]
    hooks: ResponseHooks
    exchange: Exchange
    failure: tuple[str, str] | None = None
    #: ``hooks.interrupt`` stopped the exchange (the response ended ``incomplete``, ``steered``)
    interrupted: bool = False

    async def __aenter__(self) -> OpenBridge:
        return self

    async def __aexit__(self, *exc: object) -> None:
        """The upstream answer closed, also when nothing was ever read (the client left first)."""
        await self.response.aclose()

    def frames(self) -> AsyncIterator[bytes]:
        """The client's event stream, one piece of SSE per upstream read, as the reads arrive."""
        return self._chat_frames() if self.direction.note is None else self._event_frames()

    async def _event_frames(self) -> AsyncIterator[bytes]:
        """A Responses client's stream: :meth:`events`, framed by :mod:`translator.wire.responses_sse`."""
        exchange = self.exchange
        async with contextlib.aclosing(self.events()) as events:
            async for out in events:
                yield event_frames(out)
                if out[-1]["type"] in _TERMINAL:  # (resumed: the writer wrote it)
                    exchange.end_sent()

    async def _chat_frames(self) -> AsyncIterator[bytes]:
        """A Chat client's stream, written by :class:`ChatSSEWriter` (its frame templates for the runs of
        plain deltas, its error-frame and ``[DONE]`` rules)."""
        assert isinstance(self.translator, ResponsesToChat)
        writer, exchange = ChatSSEWriter(self.translator), self.exchange
        try:
            with self._upstream_failures():
                async for piece in self.source:
                    data = writer.feed(piece)
                    if data:
                        yield data
                        if self.translator.phase in _CHAT_ENDED:  # (resumed: the writer wrote it)
                            exchange.end_sent()
                    if writer.failed:
                        return
            last = self._failure_output(writer.feed, b"") + writer.close()
            if last:
                yield last
                exchange.end_sent()
        finally:
            await self.response.aclose()
            _note_chat_outcome(writer, exchange)
            self.direction.note_tokens(self.translator, exchange)

    async def events(self) -> AsyncGenerator[list[dict[str, Any]], None]:
        """What the translator emits, one list per upstream read as it arrives, then its close() output
        (the final response handed to ``hooks.on_final`` before the list that ends with it); for a
        Responses client each list is noted in the log record first (usage, failures).  A WebSocket sends
        them as messages, :meth:`frames` as SSE, :meth:`collect` gathers them."""
        note, exchange = self.direction.note, self.exchange
        try:
            async with contextlib.aclosing(self._reads()) as reads:
                async for out in reads:
                    if note is not None:
                        note(out, exchange)
                    yield out
            tail = await self._tail()
            if tail:
                if note is not None:
                    note(tail, exchange)
                yield tail
        finally:
            await self.response.aclose()

    async def collect(self) -> list[dict[str, Any]]:
        """Everything the translator emits, then its close() output."""
        collected: list[dict[str, Any]] = []
        async with contextlib.aclosing(self.events()) as lists:
            async for out in lists:
                collected += out
        return collected

    async def answer(self) -> tuple[int, bytes]:
        """The status and body of one JSON answer (a ``Response`` or a ``chat.completion``)."""
        return self.direction.finish(await self.collect(), self.exchange)

    async def _reads(self) -> AsyncGenerator[list[dict[str, Any]], None]:
        """The translator's output for each upstream read (a failure is kept for :meth:`_tail`).

        The final response is handed to ``hooks.on_final`` before the output that ends with it.
        """
        direction, translator, hooks = self.direction, self.translator, self.hooks
        with self._upstream_failures():
            async for piece in self.source:
                out = translator.feed(piece)
                if out:
                    await self._hand_final(out)
                    yield out
                if hooks.interrupt is not None and hooks.interrupt() and direction.interrupt is not None:
                    out = direction.interrupt(translator, "steered")
                    if out:
                        self.interrupted = True
                        await self._hand_final(out)
                        yield out
                        return

    async def _tail(self) -> list[dict[str, Any]]:
        """What ends the stream: the close() output, after a failure event when the upstream failed."""
        translator = self.translator
        tail = self._failure_output(translator.feed, []) + translator.close()
        self.direction.note_tokens(translator, self.exchange)
        if tail:
            await self._hand_final(tail)
        return tail

    async def _hand_final(self, out: list[dict[str, Any]]) -> None:
        """``hooks.on_final`` with the final response, when ``out`` ends with it."""
        on_final = self.hooks.on_final
        if on_final is not None and (final := self.direction.final_of(out)) is not None:
            await on_final(final)

    @contextlib.contextmanager
    def _upstream_failures(self) -> Iterator[None]:
        """Keep what ends reading the upstream early as :attr:`failure` (message, code): a broken or
        silent upstream, data that cannot be translated, a replayed final object that was no JSON."""
        try:
            yield
        except UpstreamReadError as exc:
            self.failure = (exc.message, exc.code)
        except TranslatorError as exc:
            self.failure = (f"the upstream sent data that cannot be translated: {exc}", "bad_upstream")
        except GatewayError as exc:
            self.failure = (exc.message, exc.code or "bad_upstream")

    def _failure_output(self, feed: Callable[[Any], _Out], nothing: _Out) -> _Out:
        """What ``feed`` (the translator's, or its SSE writer's) makes of the failure, noted in the log
        record; ``nothing`` when the upstream did not fail."""
        if self.failure is None:
            return nothing
        self.exchange.failed(self.failure[1], upstream=True)
        with contextlib.suppress(TranslatorError):  # past taking input: close() still ends the stream
            return feed(self.direction.error_payload(*self.failure))
        return nothing


async def open_bridge(
    client_protocol: str,
    body: dict[str, Any],
    to: Destination,
    exchange: Exchange,
    hooks: ResponseHooks = NO_HOOKS,
) -> OpenBridge:
    """Convert the request and call the upstream; :class:`GatewayError` for failures before it answers."""
    direction = BRIDGES[client_protocol]
    profile = to.upstream.config.capabilities
    converted = await off_loop(_weight(body), direction.convert, body, profile)
    dropped = [str(drop) for drop in converted.dropped]
    exchange.dropped = dropped
    params = converted.params
    upstream_streams = profile.stream
    if upstream_streams:
        params["stream"] = True
        if direction.upstream_path == "/chat/completions":
            params["stream_options"] = {"include_usage": True}
    else:
        params.pop("stream", None)
        params.pop("stream_options", None)
    translator = direction.new_translator(body, converted, hooks)
    response = await to.post(direction.upstream_path, params, stream=upstream_streams)
    if upstream_streams and response.is_event_stream():
        source: AsyncIterator[Any] = _stream_source(response)
    else:  # asked not to stream, or answered one object anyway: replay it through the translator
        source = _replayed(_replay(await _final_object(response), direction, to.upstream.name))
    return OpenBridge(direction, translator, source, response, _dropped_header(dropped), hooks, exchange)


def open_warmup(body: dict[str, Any], exchange: Exchange, hooks: ResponseHooks = NO_HOOKS) -> OpenBridge:
    """A ``generate: false`` Responses request (a WebSocket client warming up): no upstream call; the
    translator, given only the stream's end, makes the completed response with no output, which the
    hooks store like any other (its id can be continued from)."""
    translator = _chat_to_responses(body, hooks)
    source = _replayed([b"data: [DONE]\n\n"])
    return OpenBridge(_RESPONSES_OVER_CHAT, translator, source, _NoUpstream(), [], hooks, exchange)


def _weight(body: dict[str, Any]) -> int:
    """How much converting ``body`` costs, in items (its input or messages, and its tools)."""
    weight = 0
    for field in ("input", "messages", "tools"):
        value = body.get(field)
        if isinstance(value, list):
            weight += len(value)
    return weight


async def _stream_source(response: UpstreamResponse) -> AsyncIterator[Any]:
    async for data in response.chunks():
        yield data


async def _final_object(response: UpstreamResponse) -> Any:
    try:
        final = await response.json()
    finally:
        await response.aclose()
    if isinstance(final, dict) and final.get("error"):  # an error answered with 200
        raise GatewayError.from_provider(502, classify_error(final), upstream=response.upstream_name)
    return final


def _replay(final: Any, direction: _Direction, upstream: str) -> list[dict[str, Any]]:
    try:
        return direction.replay(final)
    except TranslatorError as exc:
        raise GatewayError.bad_upstream(
            upstream, f"answered with an object that cannot be read: {exc}"
        ) from None


async def _replayed(pieces: list[Any]) -> AsyncIterator[Any]:
    for piece in pieces:
        yield piece


#: What ``x-translator-dropped`` keeps as it is: printable ASCII but ``%`` (the rest is percent-encoded).
_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


def _dropped_header(dropped: list[str]) -> list[tuple[bytes, bytes]]:
    """``x-translator-dropped``: the dropped options' notes, ``; ``-separated, UTF-8 and percent-encoded
    where not printable ASCII (a client's body key may hold any character; a header may not), cut at
    8 KiB (never inside an escape)."""
    if not dropped:
        return []
    value = quote("; ".join(dropped), safe=_HEADER_SAFE, errors="replace")
    if len(value) > 8192:
        value = value[:8192]
        value = value[: value.rfind("%")] if "%" in value[-2:] else value
    return [(b"x-translator-dropped", value.encode("ascii"))]
