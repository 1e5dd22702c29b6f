"""The input side every stream translator shares: dicts, SDK objects, raw SSE/JSONL bytes, ``DONE``."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Any

from ..errors import InvalidChunkError, SSEError, StreamError, StreamStateError, TranslatorError
from .sse import Done, StreamDecoder

__all__ = ["FeedBase", "adrive", "as_payload", "drive", "dump_model"]


def dump_model(item: Any) -> Any:
    """An SDK (pydantic) object as plain JSON data; anything else is returned as it is.

    What ``to_dict()`` gives (JSON mode, API names, unset fields left out, extras kept), without its
    Python-level argument handling.
    """
    serializer = getattr(type(item), "__pydantic_serializer__", None)
    if serializer is not None:
        # (warnings off: objects the SDK built without validation may hold lists where it expects str)
        return serializer.to_python(item, mode="json", by_alias=True, exclude_unset=True, warnings=False)
    if callable(to_dict := getattr(item, "to_dict", None)):
        return to_dict()
    dump = getattr(item, "model_dump", None)
    if callable(dump):
        return dump(mode="json", exclude_unset=True)
    return item


def as_payload(item: Any, index: int) -> dict[str, Any] | Done:
    """A chunk or event as a plain dict: dicts pass through, SDK (pydantic) objects are dumped."""
    if isinstance(item, dict):
        return item
    if isinstance(item, Done):
        return item
    result = dump_model(item)
    if result is item:
        raise InvalidChunkError(
            f"expected a dict, bytes or an SDK object, got {type(item).__name__}", index=index
        )
    if not isinstance(result, dict):
        raise InvalidChunkError(f"{type(item).__name__} did not dump to a dict", index=index)
    return result


#: ``_payloads``' signature: translate payloads into an output list (see ``FeedBase._feed_item``).
Translate = Callable[[list[dict[str, Any] | Done], list[Any]], None]


class FeedBase:
    """``feed(item) -> list[out]`` over any input form; subclasses implement ``_feed_payload``/``_finish``.

    ``feed`` accepts one chunk/event as a dict or SDK object, the ``DONE`` sentinel, or ``bytes``/``str``
    holding any part of an SSE or JSONL stream (split anywhere).  ``close`` flushes the byte decoder
    and lets the subclass end the stream; it is idempotent.

    Errors lose nothing: when ``feed`` raises a :class:`TranslatorError`, the output already produced
    for that call (earlier frames of the same read, the part of the bad item that was applied) is kept
    and returned first by the next ``feed`` or by ``close``, so what was returned plus ``close()`` is
    a whole stream.  The error is remembered (``failure``) and the subclass's terminal output names it.
    A last frame cut by the end of the input is discarded (``StreamDecoder.cut``).
    """

    #: SDK object class read by ``_feed_model`` (set by the subclass on the first object it accepts)
    _model_class: type | None = None

    def __init__(self) -> None:
        self._decoder: StreamDecoder | None = None
        self._index = 0  # number of payloads seen so far (names the chunk in errors)
        self._closed = False
        self._plain = True  # not closed and nothing held back: the hot path's one check
        self._unsent: list[dict[str, Any]] = []  # output produced before an error, not yet returned
        self.failure: TranslatorError | None = None  #: the first error feed() raised, if any

    def feed(self, item: Any) -> list[dict[str, Any]]:
        cls = type(item)  # (not item.__class__: SDK models define __getattr__, which slows attribute reads)
        if self._plain:
            if cls is dict:  # hot path
                index = self._index
                self._index = index + 1
                try:
                    return self._feed_payload(item, index)
                except StreamError as exc:
                    raise self._stopped(exc.at(index), []) from exc.__cause__
            if cls is self._model_class:  # SDK objects of the class seen before
                index = self._index
                self._index = index + 1
                try:
                    out = self._feed_model(item, index)
                    return self._feed_payload(as_payload(item, index), index) if out is None else out
                except StreamError as exc:
                    raise self._stopped(exc.at(index), []) from exc.__cause__
        return self._feed_item(item, self._payloads)

    def _feed_item(self, item: Any, translate: Translate) -> list[Any]:
        """``feed()``'s general way (bytes, objects, after an error or ``close()``); ``translate`` does
        what ``_payloads`` does for ``feed()``, so a subclass can give another output form over the same
        input handling (``ResponsesToChat.feed_runs``).  SDK objects read directly (``_accepts_model``)
        take ``feed()``'s form."""
        if self._closed:
            raise StreamStateError("feed() after close()", index=self._index)
        out, self._unsent = self._unsent, []
        self._plain = True
        if isinstance(item, (bytes, bytearray, memoryview, str)):
            if self._decoder is None:
                self._decoder = StreamDecoder()
            data = item.encode() if isinstance(item, str) else bytes(item)
            try:
                payloads = self._decoder.feed(data)
            except SSEError as exc:
                translate(exc.partial, out)  # the frames before the bad one
                raise self._stopped(exc, out) from None
            translate(payloads, out)
            return out
        if self._model_class is None and self._accepts_model(cls := item.__class__):
            self._model_class = cls
            return out + self.feed(item)
        translate([as_payload(item, self._index)], out)
        return out

    def _payloads(self, payloads: list[dict[str, Any] | Done], out: list[dict[str, Any]]) -> None:
        """Translate ``payloads`` into ``out``; on an error ``out`` is kept for close()."""
        handle = self._feed_payload
        for payload in payloads:
            index = self._index
            self._index = index + 1
            try:
                out += handle(payload, index)
            except StreamError as exc:
                raise self._stopped(exc.at(index), out) from exc.__cause__

    def _stopped(self, exc: TranslatorError, out: list[dict[str, Any]]) -> TranslatorError:
        """Keep the output produced before ``exc`` (``out`` then the error's ``partial``) for later."""
        if isinstance(exc, StreamError):
            out += exc.partial
            exc.partial = []
        self._unsent += out
        if self._unsent:
            self._plain = False
        if self.failure is None:
            self.failure = exc
        return exc

    def stop(self, error: TranslatorError) -> None:
        """Record that the input stopped at ``error`` found outside (e.g. by the caller's own decoder).

        ``close()`` then ends the stream naming it, as for an error ``feed()`` raised.
        """
        if self.failure is None:
            self.failure = error

    def close(self) -> list[dict[str, Any]]:
        if self._closed:
            return []
        out, self._unsent = self._unsent, []
        self._closed = True
        self._plain = False
        if self._decoder is not None:
            try:
                self._payloads(self._decoder.close(), out)
            except StreamError:  # a last frame that cannot be translated: the terminal names it
                out, self._unsent = self._unsent, []
        out += self._finish()
        return out

    def _feed_payload(self, payload: dict[str, Any] | Done, index: int) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _feed_model(self, item: Any, index: int) -> list[dict[str, Any]] | None:
        """Translate an SDK object of ``_model_class`` directly; ``None``: dump it and use the dict path."""
        return None

    def _accepts_model(self, cls: type) -> bool:
        """Whether ``_feed_model`` reads objects of ``cls`` (checked once per translator)."""
        return False

    def _finish(self) -> list[dict[str, Any]]:
        raise NotImplementedError


def drive(translator: FeedBase, items: Iterable[Any]) -> Iterator[dict[str, Any]]:
    """Everything ``translator`` emits for ``items``, then what ``close()`` emits (the sync wrapper).

    A :class:`TranslatorError` (from the translator or from ``items`` itself, e.g. a decoder) still
    ends the output properly: ``close()``'s events (the terminal one names the error) come out, then
    the error is raised.
    """
    try:
        for item in items:
            yield from translator.feed(item)
    except TranslatorError as exc:
        translator.stop(exc)
        yield from translator.close()
        raise
    yield from translator.close()


async def adrive(translator: FeedBase, items: AsyncIterable[Any]) -> AsyncIterator[dict[str, Any]]:
    """Async twin of :func:`drive`: the core is sans-I/O, only the iteration awaits."""
    try:
        async for item in items:
            for out in translator.feed(item):
                yield out
    except TranslatorError as exc:
        translator.stop(exc)
        for out in translator.close():
            yield out
        raise
    for out in translator.close():
        yield out
