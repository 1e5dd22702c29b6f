"""Split ``<think>...</think>`` reasoning out of streamed content (DeepSeek-R1 style providers).

Tags may be cut anywhere across chunks.  The splitter holds back only the few characters that could
still turn out to be the start of a tag (at most ``len("</think>") - 1``); everything else leaves on
the chunk that carried it.
"""

from __future__ import annotations

__all__ = ["ThinkTagSplitter"]


class ThinkTagSplitter:
    """``feed(text) -> [(is_reasoning, text), ...]``; ``flush()`` returns what was held back."""

    def __init__(self, open_tag: str = "<think>", close_tag: str = "</think>") -> None:
        self._tags = (open_tag, close_tag)
        self.inside = False
        self._held = ""

    def feed(self, text: str) -> list[tuple[bool, str]]:
        s = self._held + text if self._held else text
        self._held = ""
        out: list[tuple[bool, str]] = []
        while s:
            tag = self._tags[self.inside]
            at = s.find(tag)
            if at >= 0:
                if at:
                    out.append((self.inside, s[:at]))
                s = s[at + len(tag) :]
                self.inside = not self.inside
                continue
            keep = _partial_tag_suffix(s, tag)
            if keep:
                self._held = s[-keep:]
                s = s[:-keep]
            if s:
                out.append((self.inside, s))
            break
        return out

    def flush(self) -> list[tuple[bool, str]]:
        held, self._held = self._held, ""
        return [(self.inside, held)] if held else []


def _partial_tag_suffix(s: str, tag: str) -> int:
    """Length of the longest suffix of ``s`` that is a proper prefix of ``tag``."""
    if "<" not in s[-len(tag) :]:
        return 0
    for size in range(min(len(tag) - 1, len(s)), 0, -1):
        if tag.startswith(s[-size:]):
            return size
    return 0
