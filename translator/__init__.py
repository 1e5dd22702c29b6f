"""translator: Chat Completions <-> Responses, streams and objects, both ways."""

from __future__ import annotations

from .convert.drop_policy import Dropped, DroppedParameterWarning
from .convert.requests import RequestConversion, convert_chat_request, convert_responses_request
from .engine.sse import DONE, SSEDecoder, StreamDecoder, encode_sse, iter_sse
from .errors import (
    ConversionError,
    EncodeError,
    InvalidChunkError,
    ProfileError,
    SSEError,
    StreamError,
    StreamStateError,
    TranslatorError,
    UnsupportedParameterError,
    UnsupportedStreamError,
)
from .ids import SequentialIds, fixed_clock, random_id, system_clock
from .protocol.capabilities import UpstreamProfile
from .streams.chat_to_responses import ChatToResponses, atranslate_chat_stream, translate_chat_stream
from .streams.responses_to_chat import (
    ResponsesToChat,
    atranslate_responses_stream,
    translate_responses_stream,
)
from .testing.normalize import normalize, normalize_stream
from .testing.validate import Violation, validate_chat_stream, validate_responses_stream, validate_sse_bytes
from .wire.chat_sse import aresponses_stream_to_chat_sse, responses_stream_to_chat_sse
from .wire.responses_sse import chat_stream_to_responses_sse

__all__ = [
    "DONE",
    "ChatToResponses",
    "ConversionError",
    "Dropped",
    "DroppedParameterWarning",
    "EncodeError",
    "InvalidChunkError",
    "ProfileError",
    "RequestConversion",
    "ResponsesToChat",
    "SSEDecoder",
    "SSEError",
    "SequentialIds",
    "StreamDecoder",
    "StreamError",
    "StreamStateError",
    "TranslatorError",
    "UnsupportedParameterError",
    "UnsupportedStreamError",
    "UpstreamProfile",
    "Violation",
    "aresponses_stream_to_chat_sse",
    "atranslate_chat_stream",
    "atranslate_responses_stream",
    "chat_stream_to_responses_sse",
    "convert_chat_request",
    "convert_responses_request",
    "encode_sse",
    "fixed_clock",
    "iter_sse",
    "normalize",
    "normalize_stream",
    "random_id",
    "responses_stream_to_chat_sse",
    "system_clock",
    "translate_chat_stream",
    "translate_responses_stream",
    "validate_chat_stream",
    "validate_responses_stream",
    "validate_sse_bytes",
]
