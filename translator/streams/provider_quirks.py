"""What Chat Completions providers send beyond OpenAI's chunk shape, read in one place.

Each reader or table names the providers it is for and a recording that shows it: a file of the
shared corpus (``corpus/chat/<file>``, sources in ``corpus/SOURCES.md``) or, where the corpus has no
recording, the test that pins the behaviour.  The stream translator
(:class:`~translator.streams.chat_to_responses.ChatToResponses`) asks these readers and routes what
they find to its item writers; it has no provider names of its own.  Mapping reference:
``docs/mapping.md`` §4e.  (The llama.cpp ``error:`` SSE line is read by the SSE decoder,
:mod:`translator.engine.sse`.)

Reasoning dialects (one reasoning item; ``summary`` parts are summary_text, ``content`` reasoning_text):

* ``delta.reasoning_content`` (DeepSeek, Qwen, xAI, Z.ai) -> ``summary``: :data:`REASONING_FIELDS`;
* ``delta.reasoning`` (OpenRouter, Groq gpt-oss) -> ``content``: :data:`REASONING_FIELDS`;
* ``delta.reasoning_details`` (OpenRouter, Snowflake): :func:`reasoning_details`;
* Mistral ``content: [{"type": "thinking", ...}]`` arrays: :func:`content_parts`;
* ``<think>...</think>`` inside ``content`` (DeepSeek-R1 as served by Groq and Together): opt-in,
  :func:`think_tag_reader`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from ..errors import InvalidChunkError
from .think_tags import ThinkTagSplitter

__all__ = [
    "CONTENT",
    "PASSIVE_DELTA_KEYS",
    "REASONING_FIELDS",
    "SECRET",
    "SERVICE_TIERS",
    "STATUS_AT_DONE_WITHOUT_FINISH",
    "SUMMARY",
    "arguments_text",
    "carries_nothing",
    "content_parts",
    "deduplicated_call_id",
    "flat_annotation",
    "reasoning_details",
    "service_tier",
    "starts_another_call",
    "think_tag_reader",
    "upstream_error",
]

#: The two parts of a reasoning item reasoning text can fill, and encrypted reasoning (not text).
SUMMARY = "summary"
CONTENT = "content"
SECRET = "secret"

# -- deltas ----------------------------------------------------------------------------------------

#: Delta fields that carry nothing to translate: ``role``; Groq's gpt-oss ``channel``
#: (``groq__gpt_oss_reasoning_then_text.sse``); Together's ``token_id``
#: (``huggingface_router__together_deepseek_r1_think_tags.sse``).
PASSIVE_DELTA_KEYS = frozenset({"role", "channel", "token_id"})

#: Plain reasoning text fields -> the part of the reasoning item they fill, in the order a delta
#: carrying both is read:
#:
#: * ``reasoning_content``: DeepSeek (``deepseek__reasoner_reasoning_content_usage.sse``), Qwen
#:   (``alibaba__qwen_reasoning_content.sse``), xAI (``xai__grok_reasoning_content_text.sse``), Z.ai
#:   (``zai__glm_reasoning_content.sse``): a summary;
#: * ``reasoning``: OpenRouter (``openrouter__claude_reasoning_and_reasoning_details.sse``), Groq
#:   gpt-oss (``groq__gpt_oss_reasoning_then_text.sse``): the reasoning text itself.
REASONING_FIELDS = {"reasoning_content": SUMMARY, "reasoning": CONTENT}


def reasoning_details(details: list[Any], text_carried: bool) -> Iterator[tuple[str, str]]:
    """OpenRouter's and Snowflake's ``delta.reasoning_details``: ``(SUMMARY | CONTENT | SECRET, text)``.

    ``reasoning.text`` entries are reasoning text and ``reasoning.summary`` ones a summary, unless a
    plain field of the same delta already carried the text (``text_carried``: OpenRouter sends both,
    ``openrouter__claude_reasoning_and_reasoning_details.sse``); ``reasoning.encrypted`` data
    (``openrouter__o3_encrypted_reasoning_details.sse``) and Anthropic signatures on text entries are
    secrets (the item's ``encrypted_content``).  Snowflake sends text entries alone
    (``snowflake__cortex_reasoning_details.sse``).  Entries that are not objects are skipped.
    """
    for detail in details:
        if not isinstance(detail, dict):
            continue
        kind = detail.get("type")
        if kind == "reasoning.text" and not text_carried and detail.get("text"):
            yield CONTENT, str(detail["text"])
        elif kind == "reasoning.summary" and not text_carried and detail.get("summary"):
            yield SUMMARY, str(detail["summary"])
        secret = detail.get("data") if kind == "reasoning.encrypted" else detail.get("signature")
        if secret and isinstance(secret, str):
            yield SECRET, secret


def content_parts(parts: list[Any], index: int, field: str) -> Iterator[tuple[bool, str]]:
    """Mistral's ``content`` arrays (magistral, ``mistral__magistral_thinking_content_array.sse``):
    ``(is_reasoning, text)`` for each ``text`` part and each text of a ``thinking`` part, in order.

    A part that is not an object is an :class:`InvalidChunkError` when it is reached (the parts before
    it have been read).
    """
    for n, part in enumerate(parts):
        if not isinstance(part, dict):
            raise InvalidChunkError("content part must be an object", index=index, field=f"{field}[{n}]")
        kind = part.get("type")
        if kind == "text" and part.get("text"):
            yield False, str(part["text"])
        elif kind == "thinking":
            inner = part.get("thinking")
            for piece in inner if isinstance(inner, list) else [{"text": inner}]:
                text = piece.get("text") if isinstance(piece, dict) else None
                if text:
                    yield True, str(text)


def think_tag_reader(enabled: bool) -> ThinkTagSplitter | None:
    """The ``<think>`` splitter when asked for (``think_tags=True``): DeepSeek-R1 distills on Groq
    (``groq__deepseek_r1_distill_think_tags_in_content.sse``) and DeepSeek-R1 on Together
    (``huggingface_router__together_deepseek_r1_think_tags.sse``) stream their reasoning inside
    ``content``.  Off by default: ordinary text may contain the tag."""
    return ThinkTagSplitter() if enabled else None


def flat_annotation(raw: Any, index: int, field: str) -> dict[str, Any] | None:
    """OpenRouter's ``delta.annotations`` (its web search plugin,
    ``openrouter__web_search_url_citation_annotations.sse``): Chat
    ``{type: url_citation, url_citation: {...}}`` -> the flat Responses annotation.

    A url_citation already flat is kept; other annotation types have no Responses form here and are
    dropped (``None``).  A malformed url_citation is an :class:`InvalidChunkError`.
    """
    if not isinstance(raw, dict) or raw.get("type") != "url_citation":
        return None
    inner = raw.get("url_citation", raw)
    if not isinstance(inner, dict):
        raise InvalidChunkError("url_citation must be an object", index=index, field=f"{field}.url_citation")
    start, end = inner.get("start_index", 0), inner.get("end_index", 0)
    url, title = inner.get("url"), inner.get("title") or ""
    if (
        start.__class__ is not int
        or end.__class__ is not int
        or url.__class__ is not str
        or title.__class__ is not str
    ):
        raise InvalidChunkError(
            "url_citation needs integer start_index/end_index and string url/title", index=index, field=field
        )
    return {"type": "url_citation", "start_index": start, "end_index": end, "title": title, "url": url}


# -- tool calls ------------------------------------------------------------------------------------


def arguments_text(arguments: Any) -> str | None:
    """Tool-call arguments as text: some OpenAI-compatible servers send them already parsed (a JSON
    object instead of its text; no corpus recording: ``tests/streams/test_chat_quirks.py``)."""
    if arguments is None or isinstance(arguments, str):
        return arguments
    return orjson.dumps(arguments).decode()


def starts_another_call(current_id: str | None, given_id: str) -> bool:
    """Whether a tool-call delta at the index of the call ``current_id`` starts a call of its own.

    Google's OpenAI-compatible endpoint sends every parallel call at index 0, each with its own id
    (no corpus recording: ``tests/streams/test_chat_tool_calls.py``
    ``test_google_sends_every_parallel_call_at_index_0_with_its_own_id``); Qwen repeats ``id: ""`` on
    continuations (``alibaba__qwen_tool_call.sse``), which the caller reads as no id.
    """
    return current_id is not None and current_id != given_id


def deduplicated_call_id(given: str, taken: set[str]) -> str:
    """``given``, or ``<given>_2``, ``<given>_3``... when another call of the response has it.

    DeepSeek, GLM and Kimi repeat call ids across indexes (no corpus recording:
    ``tests/streams/test_chat_tool_calls.py``
    ``test_the_same_id_at_two_indexes_gives_two_unique_call_ids``);
    a Responses ``call_id`` must be unique within the response.
    """
    call_id, n = given, 1
    while call_id in taken:
        n += 1
        call_id = f"{given}_{n}"
    return call_id


# -- whole chunks ----------------------------------------------------------------------------------


def upstream_error(chunk: dict[str, Any]) -> Any:
    """The error a chunk carries, if any: ``{"error": {...}}`` (OpenRouter,
    ``openrouter__minimax_reasoning_finish_length.sse``), or the chunk itself when vLLM or SGLang send
    a flat ``{"object": "error", "message": ...}`` (no corpus recording:
    ``tests/streams/test_chat_stream_endings.py``
    ``test_an_object_error_chunk_as_a_dict_fails_the_response``).
    """
    return chunk.get("error") or (chunk if chunk.get("object") == "error" else None)


def carries_nothing(chunk: dict[str, Any]) -> bool:
    """Whether a first chunk has nothing to translate: Azure OpenAI starts with ``choices: []``, empty
    id and model and only ``prompt_filter_results`` (``azure__model_router_content_filter_results.sse``);
    it does not start the response."""
    get = chunk.get
    return not (get("model") or get("choices") or get("usage") is not None or upstream_error(chunk))


#: The status open items close with when ``[DONE]`` comes without any finish_reason: Snowflake Cortex
#: never sends one (``snowflake__cortex_no_finish_reason.sse``), so ``[DONE]`` is taken as a normal end
#: and the response completes (input that stops without ``[DONE]`` was cut, and fails).
STATUS_AT_DONE_WITHOUT_FINISH = "completed"

#: The ``service_tier`` values a Responses ``Response`` may carry.  OpenAI sends ``"default"`` on
#: every chunk (``openai__tool_call_with_usage_obfuscation.sse``); Snowflake sends ``""``
#: (``snowflake__cortex_no_finish_reason.sse``), which is not a tier and is ignored.
SERVICE_TIERS = frozenset({"auto", "default", "flex", "scale", "priority", "fast", "ultrafast"})


def service_tier(chunk: dict[str, Any]) -> str | None:
    """The tier that served the request, when the chunk names one Responses knows."""
    tier = chunk.get("service_tier")
    return tier if tier.__class__ is str and tier in SERVICE_TIERS else None
