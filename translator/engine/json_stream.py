"""Incremental JSON over text that arrives in fragments (tool-call arguments), each fragment read once.

* :class:`JsonCompleteness` answers "is the text so far one complete JSON value?" in time linear in the
  whole text, however often it is asked (the stream translator asks after fragments of interleaved
  calls; re-parsing the joined text each time was quadratic).
* :class:`JsonStringField` unwraps the string of ``{"input": "..."}`` as it arrives (custom tools
  declared to a Chat model as a function with one string parameter), and :func:`fallback_string`
  says what the call meant when the arguments are not that shape.
"""

from __future__ import annotations

import re

import orjson

__all__ = ["JsonCompleteness", "JsonStringField", "fallback_string"]

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
        if self._ended or self._scalar:
            self._after_value(fragment)
            return
        pos, end = 0, len(fragment)
        if not self._started:
            pos = self._start(fragment)
            if pos < 0:
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

    def _start(self, fragment: str) -> int:
        """Before the first non-blank character: where the value starts in ``fragment``, or -1 when
        there is nothing to scan (all blank, or a top-level scalar, which only parsing can judge)."""
        stripped = fragment.lstrip()
        if not stripped:
            return -1
        self._started = True
        if stripped[0] not in "{[":
            self._scalar = True
            return -1
        return len(fragment) - len(stripped)

    def _after_value(self, fragment: str) -> None:
        """A fragment after the top-level container closed, or inside a top-level scalar."""
        if self._ended:
            if fragment.strip():
                self._verdict = False  # trailing data: never valid
        else:
            self._verdict = None  # the scalar goes on: parse again when asked

    @property
    def complete(self) -> bool:
        if self._verdict is None and (self._ended or self._scalar):
            try:
                orjson.loads("".join(self._parts))
                self._verdict = True
            except orjson.JSONDecodeError:
                self._verdict = False
        return bool(self._verdict)


_STRING_HEAD = re.compile(r'\s*\{\s*"([^"\\]*)"\s*:\s*"')
_HEAD_LIMIT = 256  # a head this long that still is not ``{"input": "`` is not going to be one
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_HEX = frozenset("0123456789abcdefABCDEF")


class JsonStringField:
    """Unwraps the string value of ``{"<key>": "<string>"}`` as the JSON text arrives in fragments.

    ``feed(fragment)`` returns the decoded characters of the string that this fragment completed, at
    once: escapes split across fragments (``\\``, ``\\u00``...), ``\\uXXXX`` and surrogate pairs are
    decoded when their last character arrives; a lone surrogate becomes U+FFFD.  Text after the
    closing quote (more keys) is ignored.  When the text does not start as ``{"<key>": "`` (another
    key, another value type, not an object), nothing is streamed: ``streaming`` stays false and the
    caller falls back on the whole text (see ``fallback``).
    """

    __slots__ = ("_head", "_pending", "_state", "key", "parts")

    def __init__(self, key: str) -> None:
        self.key = key
        self._state = 0  # 0: before the string, 1: inside it, 2: after it, 3: not this shape
        self._head = ""
        self._pending = ""  # an escape sequence cut by the end of a fragment
        self.parts: list[str] = []  # the decoded string, as delivered

    @property
    def streaming(self) -> bool:
        """The string started: what ``feed`` returned is (the start of) the value."""
        return self._state in (1, 2)

    def feed(self, fragment: str) -> str:
        state = self._state
        if state == 1:
            return self._string(fragment)
        if state != 0:
            return ""
        head = self._head + fragment
        match = _STRING_HEAD.match(head)
        if match is not None:
            if match.group(1) != self.key:
                self._state = 3
                return ""
            self._state = 1
            self._head = ""
            return self._string(head[match.end() :])
        compact = "".join(head.split())
        target = '{"' + self.key + '":"'
        if len(head) > _HEAD_LIMIT or not (target.startswith(compact) or compact.startswith(target)):
            self._state = 3
        else:
            self._head = head
        return ""

    def _string(self, text: str) -> str:
        if self._pending:
            text = self._pending + text
            self._pending = ""
        out: list[str] = []
        pos, end = 0, len(text)
        while pos < end:
            match = _IN_STRING.search(text, pos)
            if match is None:
                out.append(text[pos:])
                break
            out.append(text[pos : match.start()])
            pos = match.start()
            if match.group() == '"':
                self._state = 2
                break
            decoded, used = _escape(text, pos)
            if used == 0:  # cut inside the escape: wait for the rest
                self._pending = text[pos:]
                break
            out.append(decoded)
            pos += used
        piece = "".join(out)
        if piece:
            self.parts.append(piece)
        return piece

    @property
    def value(self) -> str:
        return "".join(self.parts)


def _escape(text: str, pos: int) -> tuple[str, int]:
    """The escape at ``text[pos]`` (a backslash): its characters and length; ``("", 0)`` if cut short."""
    n = len(text)
    if pos + 1 >= n:
        return "", 0
    char = text[pos + 1]
    if char != "u":
        return _ESCAPES.get(char, char), 2  # an unknown escape keeps its character (lenient)
    if n < pos + 6:
        return "", 0
    unit = _unit(text, pos)
    if unit is None:
        return "\ufffd", 2  # not four hex digits (lenient): a replacement character
    if not 0xD800 <= unit < 0xE000:
        return chr(unit), 6
    if unit >= 0xDC00:  # a low surrogate with no high one before it
        return "\ufffd", 6
    # a high surrogate: the low one must follow as the next \uXXXX
    if n == pos + 6 or (text[pos + 6] == "\\" and (n == pos + 7 or (text[pos + 7] == "u" and n < pos + 12))):
        return "", 0
    low = _unit(text, pos + 6) if text[pos + 6 : pos + 8] == "\\u" else None
    if low is not None and 0xDC00 <= low < 0xE000:
        return chr(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)), 12
    return "\ufffd", 6


def _unit(text: str, pos: int) -> int | None:
    """The code unit of ``\\uXXXX`` at ``pos``, or None when the four hex digits are not all there."""
    digits = text[pos + 2 : pos + 6]
    if len(digits) != 4 or not all(d in _HEX for d in digits):
        return None
    return int(digits, 16)


def fallback_string(text: str, key: str) -> str:
    """The string a call means when its JSON arguments are not ``{"<key>": "<string>"}``.

    ``{"<key>": <other value>}`` -> that value as JSON; an object with exactly one string value under
    another key -> that string; anything else (more keys, not JSON, not an object) -> the text itself.
    """
    if not text.strip():
        return ""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
    if isinstance(value, dict):
        if key in value:
            inner = value[key]
            return inner if isinstance(inner, str) else orjson.dumps(inner).decode()
        strings = [v for v in value.values() if isinstance(v, str)]
        if len(value) == 1 and len(strings) == 1:
            return strings[0]
    return text
