"""Deprecated path of :mod:`translator.streams.chat_to_responses`
(kept for one release, see :mod:`translator._moved`)."""

from __future__ import annotations

from ._moved import warn_moved
from .streams.chat_to_responses import *  # noqa: F403
from .streams.chat_to_responses import __all__ as _stream_names
from .wire.responses_sse import chat_stream_to_responses_sse

__all__ = [*_stream_names, "chat_stream_to_responses_sse"]

warn_moved(__name__)
