"""UTF-16 surrogate pairs split between two pieces of a stream's text.

An upstream that cuts text by UTF-16 units (a JavaScript server, a proxy) can end one delta with the
high half of a character outside the Basic Multilingual Plane and start the next delta with its low
half, each written as a ``\\ud83d``-style escape; decoded, each delta holds a lone surrogate.  Sent on
as they are, each half becomes U+FFFD when written as UTF-8.  The translators instead hold a trailing
high half back (:func:`hold_split_pair`) and send it joined with the low half that starts the next
piece of the same text, as one character; a half still held when its text ends goes out alone.
"""

from __future__ import annotations

__all__ = ["HIGH_FIRST", "HIGH_LAST", "hold_split_pair", "join_pairs"]

#: The range of UTF-16 high (leading) surrogates.  ``HIGH_FIRST <= text[-1] <= HIGH_LAST`` is the check
#: the per-delta paths make inline before calling :func:`hold_split_pair` (nearly always false).
HIGH_FIRST = "\ud800"
HIGH_LAST = "\udbff"


def hold_split_pair(held: str, text: str) -> tuple[str, str]:
    """``(to send now, to hold)`` for the next piece ``text`` of a text whose previous piece left
    ``held`` (a high surrogate, or ``""``): a held half and a low half starting ``text`` become one
    character; a high half ending the result is held back for the next piece."""
    if held:
        if text and "\udc00" <= text[0] <= "\udfff":
            text = chr(0x10000 + ((ord(held) - 0xD800) << 10) + (ord(text[0]) - 0xDC00)) + text[1:]
        else:
            text = held + text
    if text and HIGH_FIRST <= text[-1] <= HIGH_LAST:
        return text[:-1], text[-1]
    return text, ""


def join_pairs(text: str) -> str:
    """``text`` with every high surrogate followed by a low one joined into their character (lone
    halves stay as they are)."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
