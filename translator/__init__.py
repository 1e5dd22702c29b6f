"""translator: Chat Completions <-> Responses, streams and objects, both ways."""

from __future__ import annotations

from .chat_to_responses import (
    ChatToResponses,
    atranslate_chat_stream,
    chat_stream_to_responses_sse,
    translate_chat_stream,
)
from .dropped import Dropped, DroppedParameterWarning
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
from .normalize import normalize, normalize_stream
from .requests import RequestConversion, convert_chat_request, convert_responses_request
from .responses_to_chat import (
    ResponsesToChat,
    atranslate_responses_stream,
    responses_stream_to_chat_sse,
    translate_responses_stream,
)
from .sse import DONE, SSEDecoder, StreamDecoder, encode_sse, iter_sse
from .upstream import UpstreamProfile
from .validate import Violation, validate_chat_stream, validate_responses_stream, validate_sse_bytes

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
