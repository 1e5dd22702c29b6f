"""Chat chunks as SSE frames: ``data: <compact JSON>``, an error chunk as ``event: error``, ``[DONE]``.

The rules of a Chat stream on the wire, in one place: an error chunk (``{"error": {...}}``) is written
as ``event: error`` (as Groq sends it) and is the last frame, with no ``data: [DONE]`` after it (the
SDK raises on it, and a bare client must not mistake the end for success); a stream that did not
fail ends with ``data: [DONE]``.  The library wrappers, the CLI and the gateway write through it.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Sequence
from typing import Any

import orjson

from ..engine.jsonio import dump_json
from ..engine.sse import DONE_FRAME, encode_sse
from ..streams.chat_segments import DeltaShape, HotRun
from ..streams.responses_to_chat import ResponsesToChat, register_sse_writer

__all__ = [
    "DONE_FRAME",
    "ChatSSEWriter",
    "aresponses_stream_to_chat_sse",
    "chunk_frame",
    "chunk_frames",
    "responses_stream_to_chat_sse",
]


def chunk_frame(chunk: dict[str, Any]) -> bytes:
    """One chunk as its frame (an error chunk as ``event: error``)."""
    if "error" in chunk and "choices" not in chunk:
        return encode_sse(chunk, event="error")
    return encode_sse(chunk)


def chunk_frames(chunks: Iterable[Any]) -> tuple[bytes, bool]:
    """Chunks (dicts, or frames already written) as frames; whether an error chunk ended the stream.

    Nothing after an error chunk is written.
    """
    frames = []
    for chunk in chunks:
        if chunk.__class__ is bytes:
            frames.append(chunk)
        elif "error" in chunk and "choices" not in chunk:
            frames.append(encode_sse(chunk, event="error"))
            return b"".join(frames), True
        else:
            frames.append(encode_sse(chunk))
    return b"".join(frames), False


class ChatSSEWriter:
    """A :class:`ResponsesToChat` writing Chat SSE bytes: ``feed(item) -> bytes``, ``close() -> bytes``.

    The frames are byte for byte those of the chunks ``translator.feed`` returns (``chunk_frames``),
    but the streaming deltas (the runs of ``translator.feed_runs``) are written straight into a frame
    template of their shape, cut from the frame of that shape's chunk around a marker, without
    building a chunk per delta: the end-to-end path.  ``close()`` ends with ``data: [DONE]`` unless
    the stream failed; after an error frame, and after ``close()``, both return ``b""``.

    What a caller logs is kept as it is written: ``failed`` (an error frame ended the stream),
    ``error`` (that chunk's ``error`` object) and ``usage`` (the last ``usage`` object written).
    """

    __slots__ = ("_closed", "_templates", "error", "translator", "usage")

    def __init__(self, translator: ResponsesToChat) -> None:
        self.translator = translator
        self.usage: dict[str, Any] | None = None
        self.error: dict[str, Any] | None = None
        self._closed = False
        self._templates: dict[DeltaShape, tuple[bytes, bytes, bytes]] = {}  #: see :meth:`_template`

    @property
    def failed(self) -> bool:
        return self.error is not None

    def feed(self, item: Any) -> bytes:
        if self.error is not None or self._closed:
            return b""
        return self._write(self.translator.feed_runs(item))

    def close(self) -> bytes:
        if self._closed:
            return b""
        self._closed = True
        if self.error is not None:
            return b""
        frames = self._write(self.translator.close())
        return frames if self.error is not None else frames + DONE_FRAME

    def _write(self, outputs: Sequence[dict[str, Any] | HotRun]) -> bytes:
        """Chunks and runs as frames; an error chunk is the last frame."""
        frames = []
        for chunk in outputs:
            if isinstance(chunk, tuple):
                frames.append(self._run(*chunk))
                continue
            if "error" in chunk and "choices" not in chunk:
                error = chunk["error"]
                self.error = error if isinstance(error, dict) else {"message": str(error)}
                frames.append(encode_sse(chunk, event="error"))
                break
            usage = chunk.get("usage")
            if usage:
                self.usage = usage
            frames.append(encode_sse(chunk))
        return b"".join(frames)

    def _run(self, shape: DeltaShape, texts: list[str]) -> bytes:
        """The frames of a run: its texts, each in the template of ``shape``."""
        template = self._templates.get(shape)
        if template is None:
            template = self._templates[shape] = self._template(shape)
        head, joint, tail = template
        try:
            return head + joint.join(map(_dumps, texts)) + tail
        except TypeError:  # lone surrogates: dump_json repairs them, as encode_sse does for the chunk
            return head + joint.join(map(dump_json, texts)) + tail

    def _template(self, shape: DeltaShape) -> tuple[bytes, bytes, bytes]:
        """The frame of ``shape`` cut around its text: (head, tail + head, tail)."""
        frame = chunk_frame(self.translator.delta_chunk(shape, _MARK))
        head, found, tail = frame.partition(_MARK_JSON)
        if not found or _MARK_JSON in tail:
            raise AssertionError("the frame template marker is not unique")  # pragma: no cover
        return head, tail + head, tail


#: Stands for the text in a frame template (see ``ChatSSEWriter._template``); never in real text.
_MARK = "\x00\x01hot-text\x01\x00"
_MARK_JSON = orjson.dumps(_MARK)
_dumps = orjson.dumps

register_sse_writer(ChatSSEWriter)  # the deprecated ResponsesToChat.feed_sse/close_sse write through it


def responses_stream_to_chat_sse(events: Iterable[Any], **options: Any) -> Iterator[bytes]:
    """Chat SSE frames for Responses events (SSE bytes in any slices, dicts or SDK objects).

    One ``bytes`` per input item that produced output, then the last frames and ``data: [DONE]``; an
    error chunk ends the stream without ``[DONE]``.
    """
    writer = ChatSSEWriter(ResponsesToChat(**options))
    for item in events:
        frames = writer.feed(item)
        if frames:
            yield frames
        if writer.failed:
            return
    yield writer.close()


async def aresponses_stream_to_chat_sse(events: AsyncIterable[Any], **options: Any) -> AsyncIterator[bytes]:
    """Async twin of :func:`responses_stream_to_chat_sse`."""
    writer = ChatSSEWriter(ResponsesToChat(**options))
    async for item in events:
        frames = writer.feed(item)
        if frames:
            yield frames
        if writer.failed:
            return
    yield writer.close()
