"""Hand-written Chat Completions chunks for unit tests: one builder, configured per stream.

A stream's chunks all carry the same ``id``, ``created`` and ``model``, so a test module makes one
:class:`ChatChunks` with its header and calls it like a function::

    chunk = ChatChunks(id="chatcmpl-1", created=1_700_000_000, model="gpt-x", logprobs=True)
    chunk({"role": "assistant", "content": ""})         # a delta for choice 0
    chunk({}, "stop")                                    # the finishing chunk
    chunk({"content": "b"}, index=1)                    # another choice (n > 1)
    chunk(None, usage={"prompt_tokens": 3, ...})         # no choices: the include_usage chunk

:func:`data_frame` writes a payload (or ``DONE``) as the SSE frame a Chat server sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from translator.engine.sse import DONE, DONE_FRAME

__all__ = ["ChatChunks", "data_frame"]


@dataclass(frozen=True)
class ChatChunks:
    """Builds the chunks of one hand-written Chat stream.

    ``logprobs=True`` writes ``"logprobs": null`` in every choice, as OpenAI does; ``fields`` are
    keys every chunk carries after ``choices`` (``{"usage": None}``: OpenAI with ``include_usage``).
    """

    id: str = "c1"
    created: int = 7
    model: str = "m"
    logprobs: bool = False
    fields: Mapping[str, Any] = field(default_factory=dict)

    def __call__(
        self,
        delta: dict[str, Any] | None = None,
        finish_reason: str | None = None,
        *,
        index: int = 0,
        **extra: Any,
    ) -> dict[str, Any]:
        """One chunk: ``delta`` for choice ``index`` (no choice at all when ``delta`` is None), then
        ``extra`` as top-level keys (``usage=...``, or anything a provider adds)."""
        choices: list[dict[str, Any]] = []
        if delta is not None:
            choice: dict[str, Any] = {"index": index, "delta": delta}
            if self.logprobs:
                choice["logprobs"] = None
            choice["finish_reason"] = finish_reason
            choices.append(choice)
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
            **self.fields,
            **extra,
        }


def data_frame(payload: Any) -> bytes:
    """``data: <json>\\n\\n`` for a chunk (orjson's compact form), ``data: [DONE]\\n\\n`` for ``DONE``."""
    return DONE_FRAME if payload is DONE else b"data: " + orjson.dumps(payload) + b"\n\n"
