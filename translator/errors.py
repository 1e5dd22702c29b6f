"""The exceptions translator raises.

::

    TranslatorError
    ├── SSEError                  bytes that are not a valid event stream (bad UTF-8, bad JSON in data:)
    ├── EncodeError               a value that cannot be written as JSON (a non-string key, a set...)
    ├── StreamError               a chunk/event that cannot be translated; names the item number and field
    │   ├── InvalidChunkError     wrong shape or type in one chunk or event
    │   ├── UnsupportedStreamError  valid input the translator will not map (n>1 without choice=)
    │   └── StreamStateError      the API was misused (feed after close)
    ├── ConversionError           a whole object/request that cannot be converted; names the path
    │   ├── UnsupportedParameterError  a request option with no equivalent on the other side
    │   └── WrongProtocolError    the input is of the other protocol (the direction is the wrong way)
    └── ProfileError              an upstream capability profile with a bad value; names the key
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConversionError",
    "EncodeError",
    "InvalidChunkError",
    "ProfileError",
    "SSEError",
    "StreamError",
    "StreamStateError",
    "TranslatorError",
    "UnsupportedParameterError",
    "UnsupportedStreamError",
    "WrongProtocolError",
]


class TranslatorError(Exception):
    """Base class of every error this library raises on purpose."""


class SSEError(TranslatorError):
    """The byte stream is not a valid server-sent event stream (or JSONL stream).

    ``partial`` holds what the same ``feed()`` call decoded before the bad frame (events, values or
    payloads, by decoder), so that nothing before the error is lost.
    """

    def __init__(self, reason: str, *, line: int | None = None) -> None:
        self.reason = reason
        self.line = line
        self.partial: list[Any] = []
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{where}{reason}")


class EncodeError(TranslatorError):
    """A value cannot be written as JSON: an object key that is not a string, a type JSON lacks.

    ``path`` is where it sits (``$.choices[0].delta``).  Text is never the cause: lone surrogates are
    replaced when written (see :func:`translator.engine.jsonio.dump_json`).
    """

    def __init__(self, reason: str, *, path: str | None = None) -> None:
        self.reason = reason
        self.path = path
        super().__init__(f"{path}: {reason}" if path else reason)


class StreamError(TranslatorError):
    """A stream item could not be translated.

    ``index`` is the 0-based number of the chunk (or event) in the input stream, ``field`` the dotted
    path of the offending field inside it (``None`` when the whole item is wrong).
    """

    def __init__(self, reason: str, *, index: int | None = None, field: str | None = None) -> None:
        self.reason = reason
        self.index = index
        self.field = field
        self.partial: list[Any] = []  # output produced for the item before the error (see FeedBase)
        parts = []
        if index is not None:
            parts.append(f"chunk {index}")
        if field is not None:
            parts.append(f"field {field!r}")
        where = ", ".join(parts)
        super().__init__(f"{where}: {reason}" if where else reason)

    def at(self, index: int) -> StreamError:
        """This error with the chunk number filled in (for errors raised where it was unknown)."""
        if self.index is not None:
            return self
        located = type(self)(self.reason, index=index, field=self.field)
        located.__cause__ = self.__cause__
        located.partial = self.partial
        return located


class InvalidChunkError(StreamError):
    """A chunk or event has the wrong shape: a missing field, a wrong type, unparsable JSON."""


class UnsupportedStreamError(StreamError):
    """A valid stream that this translator will not map without an explicit option."""


class StreamStateError(StreamError):
    """The translator was used out of order (for example ``feed()`` after ``close()``)."""


class ConversionError(TranslatorError):
    """A non-streaming object, request or transcript could not be converted.

    ``path`` is the dotted/indexed location of the offending value (``messages[3].content[0]``).
    ``problems`` lists every problem found in the input, this one first: a strict conversion goes on
    after a value with no equivalent and raises once, at the end, naming all of them (see
    :func:`translator.convert.drop_policy.raise_problems`).
    """

    def __init__(self, reason: str, *, path: str | None = None) -> None:
        self.reason = reason
        self.path = path
        self.problems: tuple[ConversionError, ...] = (self,)
        super().__init__(f"{path}: {reason}" if path else reason)


class UnsupportedParameterError(ConversionError):
    """A request parameter has no equivalent in the target API (pass ``lenient=True`` to drop it)."""


class ProfileError(TranslatorError, ValueError):
    """An upstream capability profile has an unknown or wrong-typed value; ``key`` names it."""

    def __init__(self, reason: str, *, key: str) -> None:
        self.reason = reason
        self.key = key
        super().__init__(f"{key}: {reason}")


class WrongProtocolError(ConversionError):
    """The input is of the other protocol (a Responses request given to a Chat -> Responses conversion).

    ``found`` names the protocol the input looks like: ``"chat"`` or ``"responses"``.
    """

    def __init__(self, reason: str, *, found: str, path: str | None = None) -> None:
        super().__init__(reason, path=path)
        self.found = found
