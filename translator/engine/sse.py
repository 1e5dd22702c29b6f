"""Incremental server-sent-events (and JSONL) decoding and encoding, sans-I/O.

``SSEDecoder.feed(data)`` takes bytes split anywhere (inside a line, between CR and LF, inside a
multi-byte UTF-8 character) and returns the events completed so far; ``close()`` flushes an event
whose final blank line never came.  Lines end in CR, LF or CRLF.  Comment lines (``: ...``) are
skipped, ``event:`` may come before or after ``data:``, several ``data:`` lines join with ``\\n``.
See https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

Splitting happens on bytes: CR and LF never occur inside a multi-byte UTF-8 sequence, so only
complete lines are decoded.

``iter_payloads`` / ``decode_payload`` turn events into what the translators consume: a JSON dict,
or the ``DONE`` sentinel for ``data: [DONE]``.  JSON holding a lone UTF-16 surrogate escape
(``"\\ud83d"``: an upstream that split an emoji between two deltas) is accepted.

``encode_sse`` writes one frame; its JSON is valid UTF-8 whatever the strings hold (``jsonio.dump_json``).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

import orjson

from ..errors import SSEError
from .jsonio import dump_json, load_json

__all__ = [
    "DONE",
    "DONE_FRAME",
    "EVENT_HEADS",
    "Done",
    "JSONLDecoder",
    "SSEDecoder",
    "SSEEvent",
    "StreamDecoder",
    "aiter_sse",
    "decode_payload",
    "encode_sse",
    "iter_sse",
]

_LINE_END = re.compile(rb"\r\n|\r|\n")
_BOM: Final = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched server-sent event."""

    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None


class Done:
    """The ``data: [DONE]`` sentinel that ends a Chat Completions stream."""

    _instance: Done | None = None

    def __new__(cls) -> Done:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DONE"


DONE: Final = Done()
DONE_FRAME: Final = b"data: [DONE]\n\n"


class SSEDecoder:
    """Incremental SSE decoder. ``feed(bytes) -> list[SSEEvent]``, ``close() -> list[SSEEvent]``."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._skip_lf = False  # the previous feed ended in CR: a leading LF belongs to it
        self._line_no = 0
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self._retry: int | None = None
        self._has_field = False

    def feed(self, data: bytes) -> list[SSEEvent]:
        if not data:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if data[:1] == b"\n":
                data = data[1:]
        events: list[SSEEvent] = []
        buf = self._buffer
        if b"\r" not in data:  # fast path (nearly every real stream): LF-only line ends
            if b"\n" not in data:
                buf += data
                return events
            lines = (bytes(buf) + data if buf else data).split(b"\n")
            self._buffer = bytearray(lines.pop())
            line = self._line
            try:
                for raw in lines:
                    event = line(raw)
                    if event is not None:
                        events.append(event)
            except SSEError as exc:
                exc.partial = events
                raise
            return events
        # the kept partial line holds no CR or LF (a trailing CR was consumed above): scan only new bytes
        scan_from = len(buf)
        buf += data
        start = 0
        for match in _LINE_END.finditer(buf, scan_from):
            end = match.start()
            if match.group() == b"\r" and match.end() == len(buf):
                # a CR at the very end may be the first half of CRLF
                self._skip_lf = True
            try:
                event = self._line(bytes(buf[start:end]))
            except SSEError as exc:
                exc.partial = events
                raise
            if event is not None:
                events.append(event)
            start = match.end()
        if start:
            del buf[:start]
        return events

    def close(self) -> list[SSEEvent]:
        """End of input: a last line without its line end and an event without its blank line count."""
        events: list[SSEEvent] = []
        if self._buffer:
            event = self._line(bytes(self._buffer))
            self._buffer.clear()
            if event is not None:
                events.append(event)
        event = self._dispatch()
        if event is not None:
            events.append(event)
        return events

    def _line(self, raw: bytes) -> SSEEvent | None:
        self._line_no += 1
        if raw[:6] == b"data: " and self._line_no > 1:  # hot path
            try:
                self._data.append(raw[6:].decode())
            except UnicodeDecodeError as exc:
                raise SSEError(f"invalid UTF-8 at byte {exc.start + 6}", line=self._line_no) from None
            self._has_field = True
            return None
        if self._line_no == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]  # the UTF-8 decode step of the spec strips one leading BOM
        if not raw:
            return self._dispatch()
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SSEError(f"invalid UTF-8 at byte {exc.start}", line=self._line_no) from None
        if line[0] == ":":
            return None
        name, sep, value = line.partition(":")
        if sep and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
            self._has_field = True
        elif name == "event":
            self._event = value or None
            self._has_field = True
        elif name == "error":  # llama.cpp's server writes ``error: {json}`` (not a spec field) on failure
            self._data.append(value)
            self._event = "error"
            self._has_field = True
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():  # ASCII only: int("²") raises
            self._retry = int(value)
        # other field names are ignored, as the spec says (``error`` above is the one exception)
        return None

    def _dispatch(self) -> SSEEvent | None:
        if not self._has_field:
            return None
        event = None
        if self._data or self._event is not None:
            event = SSEEvent(data="\n".join(self._data), event=self._event, id=self._id, retry=self._retry)
        self._data = []
        self._event = None
        self._retry = None
        self._has_field = False
        return event


class JSONLDecoder:
    """Incremental JSON-lines decoder: one JSON value per line; blank lines are skipped."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._line_no = 0

    def feed(self, data: bytes) -> list[Any]:
        self._buffer += data
        out: list[Any] = []
        if b"\n" not in data:
            return out  # no new line end: do not copy the growing partial line again
        *lines, rest = bytes(self._buffer).split(b"\n")
        self._buffer = bytearray(rest)
        try:
            for line in lines:
                self._take(line, out)
        except SSEError as exc:
            exc.partial = out
            raise
        return out

    def close(self) -> list[Any]:
        out: list[Any] = []
        if self._buffer:
            self._take(bytes(self._buffer), out)
            self._buffer.clear()
        return out

    def _take(self, line: bytes, out: list[Any]) -> None:
        self._line_no += 1
        line = line.strip()
        if not line:
            return
        if line == b"[DONE]":
            out.append(DONE)
            return
        try:
            out.append(load_json(line))
        except ValueError as exc:
            raise SSEError(f"invalid JSON: {exc}", line=self._line_no) from None


def decode_payload(event: SSEEvent) -> dict[str, Any] | Done | None:
    """The JSON object an event carries, ``DONE`` for ``[DONE]``, ``None`` for an empty data field.

    An ``event:`` name that the JSON lacks as ``type`` is copied in (Responses streams sent with
    event lines only).  ``event: error`` data without a ``type`` is an upstream failure: a body with an
    ``error`` key is kept as it is, a flat one (``{"message", "code"}``; llama.cpp's ``error:`` line) is
    wrapped as ``{"error": body}``, the shape both translators treat as a failure.
    """
    data = event.data
    if not data:
        return None
    if data == "[DONE]":
        return DONE
    try:
        obj = load_json(data)
    except ValueError as exc:
        raise SSEError(f"invalid JSON in data field: {exc}: {data[:80]!r}") from None
    if not isinstance(obj, dict):
        raise SSEError(f"data field is JSON but not an object: {data[:80]!r}")
    if event.event == "error":
        return _error_body(obj)
    if event.event and "type" not in obj:
        obj["type"] = event.event
    return obj


def _error_body(obj: dict[str, Any]) -> dict[str, Any]:
    """The data of an ``event: error`` frame: a Responses ``error`` event or ``{"error": {...}}`` as it is,
    a flat body (``{"message", "code", "type": "server_error"}``) wrapped as ``{"error": body}``."""
    return obj if "error" in obj or obj.get("type") == "error" else {"error": obj}


class StreamDecoder:
    """Bytes in, payloads out: SSE, or JSONL when the first non-blank byte is ``{`` or ``[``.

    The format is sniffed once, on the first non-blank byte.

    A bad frame raises :class:`~translator.errors.SSEError` whose ``partial`` holds the payloads that
    the same ``feed()`` decoded before it, in order, so a consumer loses none of them.

    End of input (``close()``): a last frame that never got its blank line (or a last JSON line without
    its line end) is used when it decodes; one cut inside (incomplete JSON, an unfinished UTF-8
    character) is discarded, as the SSE spec discards an incomplete event at end of input, and ``cut``
    is then true.
    """

    def __init__(self) -> None:
        self._inner: SSEDecoder | JSONLDecoder | None = None
        self._pending = bytearray()
        self._carry = b""  # the unfinished last frame of a fast-path read, put before the next read
        self.cut = False  #: close() discarded a last frame that the end of input had cut

    def feed(self, data: bytes) -> list[dict[str, Any] | Done]:
        if self._inner is None:
            self._pending += data
            stripped = self._pending.lstrip()
            if not stripped:
                return []
            self._inner = JSONLDecoder() if stripped.startswith((b"{", b"[")) else SSEDecoder()
            data = bytes(self._pending)
            self._pending.clear()
        out: list[dict[str, Any] | Done] = []
        try:
            if self._inner.__class__ is SSEDecoder:
                self._feed_sse(self._inner, data, out)
            else:
                self._decode(self._inner, data, out)
        except SSEError as exc:
            exc.partial = out
            raise
        return out

    def _decode(
        self, decoder: SSEDecoder | JSONLDecoder, data: bytes, out: list[dict[str, Any] | Done]
    ) -> None:
        """The full decoder over ``data``; its payloads go to ``out`` (also those before an error)."""
        try:
            items: list[Any] = decoder.feed(data)
        except SSEError as exc:
            self._payloads(exc.partial, out)
            raise
        self._payloads(items, out)

    def _feed_sse(self, decoder: SSEDecoder, data: bytes, out: list[dict[str, Any] | Done]) -> None:
        """SSE with a fast path for the two common frames, LF line ends only.

        The frames are ``data: <json>\\n\\n`` and ``event: <name>\\ndata: <json>\\n\\n``.

        Any other frame (comments, ``event:`` lines, several data lines, CR line ends, a frame cut
        by the read) goes through the full decoder, which also produces the exact error messages.
        """
        if self._carry:  # the frame the last read cut: it goes through the fast path with its rest
            carry, self._carry = self._carry, b""
            if len(carry) + len(data) <= _CARRY_MAX:
                data = carry + data
            else:  # a long frame: the full decoder buffers it without copying it again and again
                self._decode(decoder, carry, out)
        if b"\r" in data or decoder._skip_lf:
            self._decode(decoder, data, out)
            return
        if decoder._buffer or decoder._has_field or decoder._line_no == 0:
            cut = data.find(b"\n\n")
            if cut < 0:
                self._decode(decoder, data, out)
                return
            self._decode(decoder, data[: cut + 2], out)
            data = data[cut + 2 :]
            if decoder._buffer or decoder._has_field:
                self._decode(decoder, data, out)
                return
        if data[:6] == b"data: ":
            self._data_frames(decoder, data, out)
        elif data[:7] == b"event: ":
            self._event_frames(decoder, data, out)
        else:
            self._frames(decoder, data, out)

    def _data_frames(self, decoder: SSEDecoder, data: bytes, out: list[dict[str, Any] | Done]) -> None:
        """Data-only streams (Chat): split on ``\\n\\ndata: ``, so each piece is a JSON body already.

        A piece that is not one JSON object (a comment or ``event:`` frame follows it, a multi-line
        frame, ``[DONE]``) is handed back to :meth:`_frames` as the bytes it was.
        """
        pieces, last = _split_frames(data, b"data: ")
        loads = orjson.loads
        lines = 0
        for body in pieces:
            try:
                payload = loads(body)
            except orjson.JSONDecodeError:
                payload = None
            if payload.__class__ is dict:
                lines += 2
                out.append(payload)
                continue
            decoder._line_no += lines
            lines = 0
            self._frames(decoder, b"data: " + body + b"\n\n", out)
        decoder._line_no += lines
        self._keep(decoder, last, out)

    def _event_frames(self, decoder: SSEDecoder, data: bytes, out: list[dict[str, Any] | Done]) -> None:
        """Responses streams: split on ``\\n\\nevent: ``; each piece is ``<name>\\ndata: <json>``.

        Pieces of any other shape are handed back to :meth:`_frames` as the bytes they were.
        """
        pieces, last = _split_frames(data, b"event: ")
        loads = orjson.loads
        append = out.append
        mark = len(out)  # the payloads after this one came from fast frames: 3 lines each
        for piece in pieces:
            # the name line, then the data line (partition on one byte and slices: no argument
            # parsing, unlike find() and startswith(), which cost more than the rest of the frame)
            name, _, rest = piece.partition(b"\n")
            if name and rest[:6] == b"data: ":
                try:
                    payload = loads(rest[6:])
                except orjson.JSONDecodeError:
                    payload = None
                if payload.__class__ is dict:
                    if name == b"error":
                        payload = _error_body(payload)
                    elif "type" not in payload:
                        payload["type"] = name.decode()
                    append(payload)
                    continue
            decoder._line_no += 3 * (len(out) - mark)
            self._frames(decoder, b"event: " + piece + b"\n\n", out)
            mark = len(out)
        decoder._line_no += 3 * (len(out) - mark)
        self._keep(decoder, last, out)

    def _keep(self, decoder: SSEDecoder, last: bytes, out: list[dict[str, Any] | Done]) -> None:
        """The unfinished end of a read: one cut frame waits for the next read (``_carry``).

        Anything else (complete frames of other shapes before it) goes to the full decoder now, so a
        complete frame is never held back.
        """
        if not last:
            return
        if b"\n\n" in last:
            self._decode(decoder, last, out)
        else:
            self._carry = last

    def _frames(self, decoder: SSEDecoder, data: bytes, out: list[dict[str, Any] | Done]) -> None:
        """Whole frames (and perhaps a partial last one); ``data:`` and ``event:``+``data:`` frames fast."""
        blocks = data.split(b"\n\n")
        rest = blocks.pop()
        for block in blocks:
            # A raw LF inside JSON is only possible between tokens, and the next line would start with
            # a field name or a colon: not JSON.  So when the body parses, the frame was this shape.
            name = None
            if block[:6] == b"data: ":
                body = block[6:]
                if body == b"[DONE]":
                    decoder._line_no += 2
                    out.append(DONE)
                    continue
            elif block[:7] == b"event: ":  # Responses frames: "event: <type>\ndata: <json>"
                cut = block.find(b"\ndata: ")
                name = block[7:cut]
                body = block[cut + 7 :] if cut > 0 and b"\n" not in name else b""
            else:
                body = b""
            if body:
                try:
                    payload = orjson.loads(body)
                except orjson.JSONDecodeError:
                    payload = None
                if payload.__class__ is dict:
                    if name is not None:
                        decoder._line_no += 1
                        if name == b"error":
                            payload = _error_body(payload)
                        elif name and "type" not in payload:
                            payload["type"] = name.decode()
                    decoder._line_no += 2
                    out.append(payload)
                    continue
            if block:
                self._decode(decoder, block + b"\n\n", out)
            else:
                decoder._line_no += 1  # an extra blank line
        if rest:
            self._decode(decoder, rest, out)

    def close(self) -> list[dict[str, Any] | Done]:
        if self._inner is None:
            return []
        out: list[dict[str, Any] | Done] = []
        try:
            if self._carry:
                carry, self._carry = self._carry, b""
                self._decode(self._inner, carry, out)
            self._payloads(self._inner.close(), out)
        except SSEError:
            self.cut = True  # the last frame was cut by the end of input: discarded
            return []
        return out

    @staticmethod
    def _payloads(items: list[Any], out: list[dict[str, Any] | Done]) -> None:
        for item in items:
            if isinstance(item, SSEEvent):
                payload = decode_payload(item)
                if payload is not None:
                    out.append(payload)
            elif isinstance(item, dict) or item is DONE:
                out.append(item)
            else:
                raise SSEError(f"JSON line is not an object: {item!r:.80}")


#: The most bytes of one cut frame the fast path carries to the next read (more: the full decoder).
_CARRY_MAX = 64 * 1024


def _split_frames(data: bytes, head: bytes) -> tuple[list[bytes], bytes]:
    """``data`` (starting with ``head``) cut at every frame that starts with ``head``.

    The pieces lack ``head`` and the blank line; the second value is the unfinished last frame
    (with its ``head``), ``b""`` when ``data`` ended on a blank line.
    """
    pieces = data[len(head) :].split(b"\n\n" + head)
    last = pieces.pop()
    if last.endswith(b"\n\n"):
        pieces.append(last[:-2])
        return pieces, b""
    return pieces, head + last


def iter_sse(chunks: Iterable[bytes]) -> Iterator[dict[str, Any] | Done]:
    """Payloads (dicts or ``DONE``) from an iterable of byte chunks (SSE or JSONL)."""
    decoder = StreamDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.close()


async def aiter_sse(chunks: AsyncIterable[bytes]) -> AsyncIterator[dict[str, Any] | Done]:
    """Async twin of :func:`iter_sse`."""
    decoder = StreamDecoder()
    async for chunk in chunks:
        for payload in decoder.feed(chunk):
            yield payload
    for payload in decoder.close():
        yield payload


def encode_sse(payload: dict[str, Any] | Done, *, event: str | None = None) -> bytes:
    """One SSE frame: ``event: <event>`` (when given), ``data: <compact JSON>``, blank line.

    CR and LF are removed from ``event`` so a name cannot end the line early and inject fields.
    The JSON is always valid UTF-8 (lone surrogates replaced, see :func:`dump_json`).
    """
    if payload is DONE:
        return DONE_FRAME
    try:
        body = orjson.dumps(payload)
    except TypeError:
        body = dump_json(payload)
    if event is None:
        return b"data: " + body + b"\n\n"
    return EVENT_HEADS[event] + body + b"\n\n"


class _EventHeads(dict[str, bytes]):
    """Event name -> the start of its frame, ``event: <name>\\ndata: ``; made on first use.

    CR and LF are removed from the name so it cannot end the line early and inject fields.  The first
    256 names are kept (a stream has a few dozen; a bound, whatever names a caller passes).
    """

    def __missing__(self, event: str) -> bytes:
        head = b"event: " + event.replace("\r", "").replace("\n", "").encode() + b"\ndata: "
        if len(self) < 256:
            self[event] = head
        return head


#: The ``event:`` line and the ``data:`` field name of a frame, by event name (see ``encode_sse``).
EVENT_HEADS: Final = _EventHeads()
