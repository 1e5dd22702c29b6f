"""Incremental JSON over text that arrives in fragments (tool-call arguments), each fragment read once.

* :class:`JsonCompleteness` answers "is the text so far one complete JSON value?" in time linear in the
  whole text, however often it is asked (the stream translator asks after fragments of interleaved
  calls; re-parsing the joined text each time was quadratic).
"""

from __future__ import annotations

import re

import orjson

__all__ = ["JsonCompleteness"]

_IN_STRING = re.compile(r'["\\]')  # what ends a run of plain string characters
_OUTSIDE = re.compile(r'["{}\[\]]')  # what matters between strings: quotes and brackets


class JsonCompleteness:
    """Whether fragments fed so far form one complete JSON value (``complete``); O(total length).

    Brackets and strings are tracked as the fragments arrive; when the top-level value closes, the
    text is parsed once to confirm it is valid JSON.  Anything but whitespace after it makes the text
    invalid for good.  A top-level scalar (``5``, ``"x"``, ``true``) cannot be known to be over until
    it is parsed: it is, when asked, at most once per fragment.
    """

    __slots__ = ("_depth", "_ended", "_escape", "_in_string", "_parts", "_scalar", "_started", "_verdict")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._depth = 0
        self._in_string = False
        self._escape = False
        self._started = False  # a non-blank character arrived
        self._scalar = False  # the top-level value is not an object or array
        self._ended = False  # the top-level container closed
        self._verdict: bool | None = None  # parsed once the top level closed (None: not yet)

    def feed(self, fragment: str) -> None:
        self._parts.append(fragment)
        if self._ended:
            if fragment.strip():
                self._verdict = False  # trailing data: never valid
            return
        if self._scalar:
            self._verdict = None
            return
        pos, end = 0, len(fragment)
        if not self._started:
            stripped = fragment.lstrip()
            if not stripped:
                return
            self._started = True
            pos = end - len(stripped)
            if stripped[0] not in "{[":
                self._scalar = True
                return
        while pos < end:
            if self._in_string:
                if self._escape:
                    self._escape = False
                    pos += 1
                    continue
                match = _IN_STRING.search(fragment, pos)
                if match is None:
                    return
                pos = match.end()
                if match.group() == "\\":
                    self._escape = True
                else:
                    self._in_string = False
                continue
            match = _OUTSIDE.search(fragment, pos)
            if match is None:
                return
            pos = match.end()
            char = match.group()
            if char == '"':
                self._in_string = True
            elif char in "{[":
                self._depth += 1
            else:
                self._depth -= 1
                if self._depth == 0:
                    self._ended = True
                    if fragment[pos:].strip():
                        self._verdict = False
                    return

    @property
    def complete(self) -> bool:
        if self._verdict is None and (self._ended or self._scalar):
            try:
                orjson.loads("".join(self._parts))
                self._verdict = True
            except orjson.JSONDecodeError:
                self._verdict = False
        return bool(self._verdict)
