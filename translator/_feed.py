"""The input side every stream translator shares: dicts, SDK objects, raw SSE/JSONL bytes, ``DONE``."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any

from .errors import InvalidChunkError, StreamError, StreamStateError
from .sse import Done, StreamDecoder

__all__ = ["FeedBase", "adrive", "as_payload", "drive"]


def as_payload(item: Any, index: int) -> dict[str, Any] | Done:
    """A chunk or event as a plain dict: dicts pass through, SDK (pydantic) objects are dumped."""
    if isinstance(item, dict):
        return item
    if isinstance(item, Done):
        return item
    serializer = getattr(type(item), "__pydantic_serializer__", None)
    if serializer is not None:
        # pydantic v2 models (the openai SDK's): what ``to_dict()`` gives (JSON mode, API names, unset
        # fields left out, extras kept), without its Python-level argument handling
        result = serializer.to_python(item, mode="json", by_alias=True, exclude_unset=True)
    elif callable(to_dict := getattr(item, "to_dict", None)):
        result = to_dict()
    else:
        dump = getattr(item, "model_dump", None)
        if not callable(dump):
            raise InvalidChunkError(
                f"expected a dict, bytes or an SDK object, got {type(item).__name__}", index=index
            )
        result = dump(mode="json", exclude_unset=True)
    if not isinstance(result, dict):
        raise InvalidChunkError(f"{type(item).__name__} did not dump to a dict", index=index)
    return result


class FeedBase:
    """``feed(item) -> list[out]`` over any input form; subclasses implement ``_feed_payload``/``_finish``.

    ``feed`` accepts one chunk/event as a dict or SDK object, the ``DONE`` sentinel, or ``bytes``/``str``
    holding any part of an SSE or JSONL stream (split anywhere).  ``close`` flushes the byte decoder
    and lets the subclass end the stream; it is idempotent.
    """

    def __init__(self) -> None:
        self._decoder: StreamDecoder | None = None
        self._index = 0  # number of payloads seen so far (names the chunk in errors)
        self._closed = False

    def feed(self, item: Any) -> list[dict[str, Any]]:
        if item.__class__ is dict and not self._closed:  # hot path
            index = self._index
            self._index = index + 1
            try:
                return self._feed_payload(item, index)
            except StreamError as exc:
                raise exc.at(index) from exc.__cause__
        if self._closed:
            raise StreamStateError("feed() after close()", index=self._index)
        if isinstance(item, (bytes, bytearray, memoryview, str)):
            if self._decoder is None:
                self._decoder = StreamDecoder()
            data = item.encode() if isinstance(item, str) else bytes(item)
            out: list[dict[str, Any]] = []
            handle = self._feed_payload
            for payload in self._decoder.feed(data):
                index = self._index
                self._index = index + 1
                try:
                    out += handle(payload, index)
                except StreamError as exc:
                    raise exc.at(index) from exc.__cause__
            return out
        return self._take(as_payload(item, self._index))

    def close(self) -> list[dict[str, Any]]:
        if self._closed:
            return []
        out: list[dict[str, Any]] = []
        if self._decoder is not None:
            for payload in self._decoder.close():
                out += self._take(payload)
        self._closed = True
        out += self._finish()
        return out

    def _take(self, payload: dict[str, Any] | Done) -> list[dict[str, Any]]:
        index = self._index
        self._index += 1
        try:
            return self._feed_payload(payload, index)
        except StreamError as exc:
            raise exc.at(index) from exc.__cause__

    def _feed_payload(self, payload: dict[str, Any] | Done, index: int) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _finish(self) -> list[dict[str, Any]]:
        raise NotImplementedError


def drive(translator: FeedBase, items: Iterable[Any]) -> Iterator[dict[str, Any]]:
    """Everything ``translator`` emits for ``items``, then what ``close()`` emits (the sync wrapper)."""
    for item in items:
        yield from translator.feed(item)
    yield from translator.close()


async def adrive(translator: FeedBase, items: AsyncIterable[Any]) -> AsyncIterator[dict[str, Any]]:
    """Async twin of :func:`drive`: the core is sans-I/O, only the iteration awaits."""
    async for item in items:
        for out in translator.feed(item):
            yield out
    for out in translator.close():
        yield out
