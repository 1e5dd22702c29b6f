"""Deprecated path of :mod:`translator.streams.responses_to_chat`
(kept for one release, see :mod:`translator._moved`)."""

from __future__ import annotations

from ._moved import warn_moved
from .streams.responses_to_chat import *  # noqa: F403
from .streams.responses_to_chat import __all__ as _stream_names
from .wire.chat_sse import aresponses_stream_to_chat_sse, responses_stream_to_chat_sse

__all__ = [*_stream_names, "aresponses_stream_to_chat_sse", "responses_stream_to_chat_sse"]

warn_moved(__name__)
