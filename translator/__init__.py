"""translator: Chat Completions <-> Responses, streams and objects, both ways."""

from __future__ import annotations

from .errors import (
    ConversionError,
    InvalidChunkError,
    SSEError,
    StreamError,
    StreamStateError,
    TranslatorError,
    UnsupportedParameterError,
    UnsupportedStreamError,
)
from .ids import SequentialIds, fixed_clock, random_id, system_clock
from .sse import DONE, SSEDecoder, StreamDecoder, encode_sse, iter_sse

__all__ = [
    "DONE",
    "ConversionError",
    "InvalidChunkError",
    "SSEDecoder",
    "SSEError",
    "SequentialIds",
    "StreamDecoder",
    "StreamError",
    "StreamStateError",
    "TranslatorError",
    "UnsupportedParameterError",
    "UnsupportedStreamError",
    "encode_sse",
    "fixed_clock",
    "iter_sse",
    "random_id",
    "system_clock",
]
