"""Counting a request's input tokens for ``POST /v1/responses/input_tokens`` over a chat upstream.

The count is of the request as the upstream receives it: the Chat request the gateway converted (the
stored conversation, referenced items and compaction summaries already in its messages).  How it is
counted is the upstream's ``count_tokens`` capability (:mod:`translator.protocol.capabilities`):

``estimate``
    :func:`estimate_tokens`, computed here without calling anyone.  An estimate: a tokenizer's count
    depends on the model's vocabulary and chat template, which the gateway does not have (and does
    not download).
``vllm``
    vLLM's ``POST /tokenize`` with the messages and tools (``add_generation_prompt``): its ``count``,
    the chat template applied.  Exact.
``llama.cpp``
    llama.cpp's ``POST /apply-template`` (the prompt the template makes of the messages), then
    ``POST /tokenize`` of that prompt: the number of tokens.  Exact.
``completion``
    The Chat request itself with ``max_tokens`` 1 (not streamed): the answer's
    ``usage.prompt_tokens``.  Exact for any server that reports usage; it costs one request (its prompt
    and one output token).

``/tokenize`` and ``/apply-template`` are served at a server's root, so they are asked at the upstream's
``base_url`` without its trailing ``/v1``.
"""

from __future__ import annotations

import asyncio
import math
import re
from typing import Any

from ..protocol.capabilities import UpstreamProfile
from .errors import GatewayError
from .upstream_client import Destination

__all__ = ["count_tokens", "estimate_tokens"]

#: Tokens every message costs besides its text (role and separators), and the reply's priming.
MESSAGE_OVERHEAD = 3
REPLY_PRIMING = 3
#: What an image part is counted as (a low-detail image in OpenAI's accounting).
IMAGE_TOKENS = 85

# Pieces the way byte-pair tokenizers pre-split text: words with their leading space, 1-3 digit groups,
# runs of punctuation, runs of whitespace.
_PIECES = re.compile(r" ?[^\W\d_]+| ?\d{1,3}| ?[^\w\s]+|\s+|_+")


def _text_tokens(text: str) -> int:
    """An estimate of one text's tokens, piece by piece: an ASCII word one token per 6 letters (rounded
    up), a digit group one, a punctuation run one per 2 characters, a non-ASCII character one, a line
    break one (spaces ride on the word after them)."""
    total = 0
    for piece in _PIECES.findall(text):
        body = piece.strip()
        if not body:
            total += "\n" in piece
        elif body.isascii():
            if body[0].isdigit():
                total += 1
            else:
                total += math.ceil(len(body) / (6 if body[0].isalpha() else 2))
        else:
            wide = sum(1 for ch in body if not ch.isascii())
            total += wide + math.ceil((len(body) - wide) / 6)
    return total


def _value_tokens(value: Any) -> int:
    """Tokens of every string inside ``value`` (content parts, tool calls, reasoning)."""
    if isinstance(value, str):
        return _text_tokens(value)
    if isinstance(value, list):
        return sum(_value_tokens(part) for part in value)
    if isinstance(value, dict):
        if value.get("type") == "image_url":
            return IMAGE_TOKENS
        return sum(_value_tokens(item) for key, item in value.items() if key not in ("type", "id", "index"))
    return 0


def estimate_tokens(params: dict[str, Any]) -> int:
    """An estimate of the input tokens of a Chat request (``messages`` and ``tools``).

    Per message :data:`MESSAGE_OVERHEAD` plus the tokens of its text (content, reasoning, tool calls
    and their arguments, names), the tools' definitions as text, and :data:`REPLY_PRIMING`.
    """
    total = REPLY_PRIMING
    for message in params.get("messages") or []:
        total += MESSAGE_OVERHEAD
        if isinstance(message, dict):
            total += sum(_value_tokens(value) for key, value in message.items() if key != "role")
    for tool in params.get("tools") or []:
        total += MESSAGE_OVERHEAD + _value_tokens(tool)
    return total


async def count_tokens(params: dict[str, Any], to: Destination, profile: UpstreamProfile) -> tuple[int, bool]:
    """The input tokens of the converted Chat request ``params``, and whether the count is exact."""
    method = profile.count_tokens
    if method == "estimate":  # (off the event loop: a long conversation takes milliseconds)
        return await asyncio.to_thread(estimate_tokens, params), False
    if method == "completion":
        body = {key: value for key, value in params.items() if key not in ("stream", "stream_options")}
        body.pop("max_completion_tokens", None)
        body.pop("max_tokens", None)
        body[profile.max_tokens_field] = 1
        answer = await _post_json(to, "/chat/completions", body)
        return _number(answer, ("usage", "prompt_tokens"), to), True
    tokenize: dict[str, Any] = {"model": to.model, "messages": params.get("messages") or []}
    if params.get("tools"):
        tokenize["tools"] = params["tools"]
    if method == "vllm":
        answer = await _post_json(to, "/tokenize", {**tokenize, "add_generation_prompt": True}, root=True)
        return _number(answer, ("count",), to), True
    template = await _post_json(to, "/apply-template", tokenize, root=True)
    prompt = template.get("prompt") if isinstance(template, dict) else None
    if not isinstance(prompt, str):
        raise GatewayError.bad_upstream(to.upstream.name, "answered /apply-template without a 'prompt'")
    answer = await _post_json(to, "/tokenize", {"content": prompt, "add_special": True}, root=True)
    tokens = answer.get("tokens") if isinstance(answer, dict) else None
    if not isinstance(tokens, list):
        raise GatewayError.bad_upstream(to.upstream.name, "answered /tokenize without a 'tokens' list")
    return len(tokens), True


async def _post_json(to: Destination, path: str, body: dict[str, Any], *, root: bool = False) -> Any:
    upstream = to.upstream
    if root:
        response = await upstream.post_root(path, body, authorization=to.authorization)
    else:
        response = await to.post(path, body, stream=False)
    try:
        return await response.json()
    finally:
        await response.aclose()


def _number(answer: Any, path: tuple[str, ...], to: Destination) -> int:
    value = answer
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise GatewayError.bad_upstream(
            to.upstream.name, f"answered without a token count ({'.'.join(path)} is {value!r})"
        )
    return value
