"""What a Chat Completions upstream accepts: the capability profile a Responses -> Chat conversion obeys.

"OpenAI-compatible" servers differ in the details that decide between a 200 and a 400.  Each
difference is one field of :class:`UpstreamProfile`, with the server behaviour that motivated it:

* ``developer_role``: the ``developer`` role is OpenAI's; most other servers know only
  ``system`` (chat templates of Qwen, Llama, Mistral...).  ``False`` (default) sends ``developer``
  messages as ``system``.
* ``leading_system_only``: Qwen chat templates in llama.cpp and vLLM raise "System message must be
  at the beginning" for a second or a later system message (ggml-org/llama.cpp#20733, seen with
  Codex; vllm-project/vllm#41114).  ``True`` (default) merges the leading system/developer messages
  into one and sends later ones as ``user`` messages (reported).
* ``reasoning_field``: where replayed reasoning goes on assistant messages: ``"reasoning_content"``
  (DeepSeek, Qwen/vLLM, llama.cpp, Kimi, GLM), ``"reasoning"`` (OpenRouter, Groq, Ollama), or
  ``None``: not replayed (reported), for servers that reject unknown fields (Mistral answers 422
  "Extra inputs are not permitted" to ``reasoning_content``).
* ``reasoning_required``: DeepSeek's thinking mode rejects a history whose tool-call turns lack
  ``reasoning_content`` ("The reasoning_content in the thinking mode must be passed back to the
  API", api-docs.deepseek.com/guides/thinking_mode).  ``True`` gives every assistant message the
  field, an empty string when there is no reasoning to replay.
* ``hosted_tools``: hosted tool types the upstream runs itself (none by default).  Others
  (``web_search``, ``file_search``, ``code_interpreter``, ``image_generation``, ``mcp``,
  ``computer_use_preview``...) are dropped and reported.  A ``web_search`` listed here becomes
  ``web_search_options``; other listed types are forwarded unchanged in ``tools`` (Groq runs
  ``browser_search`` and ``code_interpreter`` tools this way).
* ``tool_schema``: ``"as_is"``, ``"standard"`` (default) or ``"strict"`` normalisation of tool
  parameter schemas, see :mod:`translator.protocol.schemas`.
* ``string_content``: send text-only message content as a string rather than a list of text parts
  (older DeepSeek and Groq reject part lists on system and assistant messages).  Default ``True``.
* ``max_tokens_field``: Mistral rejects ``max_completion_tokens`` (422), DeepSeek documents only
  ``max_tokens``.  Default ``"max_completion_tokens"``.
* ``chat_params``: the Chat request parameters the upstream accepts; others are dropped and
  reported (Mistral rejects ``store``, ``max_completion_tokens``...).  ``None`` (default): all.
* ``rejected_params``: Chat request parameters the upstream rejects, dropped and reported (the
  shorter form when only a few are refused: Ollama answers 400 "does not support thinking" to
  ``reasoning_effort`` for a model without thinking, and Codex always sends an effort).
* ``stream``: whether the upstream streams tool calls well enough to be called with
  ``stream: true``.  Read by the gateway (which then synthesises the client's stream from one
  final object); the request conversion itself leaves ``stream`` as the client sent it.
* ``count_tokens``: how the gateway counts a request's input tokens
  (``POST /v1/responses/input_tokens``): ``"estimate"`` (default: computed locally from the text,
  no upstream call), ``"vllm"`` (vLLM's ``POST /tokenize`` with the messages: exact),
  ``"llama.cpp"`` (llama.cpp's ``POST /apply-template`` then ``POST /tokenize``: exact) or
  ``"completion"`` (a one-token completion whose ``usage.prompt_tokens`` is read: exact, and billed
  as a request).  Read by the gateway only.

:data:`PRESETS` holds profiles for some well-known upstreams; :meth:`UpstreamProfile.from_mapping`
builds one from a config table (``preset = "deepseek"`` plus overrides).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from ..errors import ProfileError
from .schemas import SchemaMode

__all__ = ["PRESETS", "CountTokens", "ReasoningField", "UpstreamProfile"]

ReasoningField = Literal["reasoning_content", "reasoning"]
MaxTokensField = Literal["max_completion_tokens", "max_tokens"]
CountTokens = Literal["estimate", "vllm", "llama.cpp", "completion"]

_SET_FIELDS = ("hosted_tools", "chat_params", "rejected_params")
_REASONING_FIELDS = get_args(ReasoningField)
_SCHEMA_MODES = get_args(SchemaMode)
_MAX_TOKENS_FIELDS = get_args(MaxTokensField)
_COUNT_TOKENS = get_args(CountTokens)


@dataclass(frozen=True, slots=True)
class UpstreamProfile:
    """The capabilities of one Chat Completions upstream (see the module docstring for each field)."""

    developer_role: bool = False
    leading_system_only: bool = True
    reasoning_field: ReasoningField | None = "reasoning_content"
    reasoning_required: bool = False
    hosted_tools: frozenset[str] = frozenset()
    tool_schema: SchemaMode = "standard"
    string_content: bool = True
    max_tokens_field: MaxTokensField = "max_completion_tokens"
    chat_params: frozenset[str] | None = None
    rejected_params: frozenset[str] = frozenset()
    stream: bool = True
    count_tokens: CountTokens = "estimate"

    def __post_init__(self) -> None:
        for name in (
            "developer_role",
            "leading_system_only",
            "reasoning_required",
            "string_content",
            "stream",
        ):
            if not isinstance(getattr(self, name), bool):
                raise ProfileError(f"expected true or false, got {getattr(self, name)!r}", key=name)
        _check_choice("reasoning_field", self.reasoning_field, (*_REASONING_FIELDS, None))
        _check_choice("tool_schema", self.tool_schema, _SCHEMA_MODES)
        _check_choice("max_tokens_field", self.max_tokens_field, _MAX_TOKENS_FIELDS)
        _check_choice("count_tokens", self.count_tokens, _COUNT_TOKENS)
        _check_names("hosted_tools", self.hosted_tools)
        _check_names("rejected_params", self.rejected_params)
        if self.chat_params is not None:
            _check_names("chat_params", self.chat_params)
        if self.reasoning_required and self.reasoning_field is None:
            raise ProfileError("reasoning_required needs a reasoning_field", key="reasoning_required")

    def accepts(self, param: str) -> bool:
        """Whether the upstream takes the Chat request parameter ``param``."""
        if param in ("model", "messages"):
            return True
        return param not in self.rejected_params and (self.chat_params is None or param in self.chat_params)

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any]) -> UpstreamProfile:
        """A profile from a config table: an optional ``preset`` name, then field overrides.

        Lists are accepted for the set-valued fields; ``reasoning_field = "none"`` means ``None``
        (TOML has no null).

        Raises:
            ProfileError: an unknown key, preset or value; ``key`` names it.
        """
        base = PRESETS["generic"]
        fields = {f.name for f in dataclasses.fields(cls)}
        preset = table.get("preset")
        if preset is not None:
            if preset not in PRESETS:
                raise ProfileError(
                    f"unknown preset {preset!r}, expected one of {sorted(PRESETS)}", key="preset"
                )
            base = PRESETS[preset]
        changes: dict[str, Any] = {}
        for key, value in table.items():
            if key == "preset":
                continue
            if key not in fields:
                raise ProfileError(f"unknown capability, expected one of {sorted(fields)}", key=key)
            if key in _SET_FIELDS and isinstance(value, (list, tuple, set, frozenset)):
                value = frozenset(value)
            if key == "reasoning_field" and value == "none":
                value = None
            changes[key] = value
        return dataclasses.replace(base, **changes)


def _check_choice(key: str, value: Any, allowed: tuple[Any, ...]) -> None:
    if value not in allowed:
        raise ProfileError(f"expected one of {list(allowed)}, got {value!r}", key=key)


def _check_names(key: str, value: Any) -> None:
    if not isinstance(value, frozenset) or not all(isinstance(v, str) for v in value):
        raise ProfileError(f"expected a set of strings, got {value!r}", key=key)


#: Chat parameters Mistral's API accepts (it answers 422 "Extra inputs are not permitted" to others).
MISTRAL_CHAT_PARAMS = frozenset(
    {
        "model",
        "messages",
        "temperature",
        "top_p",
        "max_tokens",
        "stream",
        "stop",
        "random_seed",
        "response_format",
        "tools",
        "tool_choice",
        "presence_penalty",
        "frequency_penalty",
        "n",
        "parallel_tool_calls",
        "prediction",
        "safe_prompt",
    }
)

#: Profiles of some well-known upstreams.  ``generic`` (the defaults) suits local servers: Ollama,
#: vLLM, llama.cpp, LM Studio.
PRESETS: dict[str, UpstreamProfile] = {
    "generic": UpstreamProfile(),
    "openai": UpstreamProfile(
        developer_role=True,
        leading_system_only=False,
        reasoning_field=None,
        tool_schema="as_is",
        string_content=False,
    ),
    "deepseek": UpstreamProfile(
        leading_system_only=False,
        reasoning_field="reasoning_content",
        reasoning_required=True,
        max_tokens_field="max_tokens",
    ),
    "mistral": UpstreamProfile(
        leading_system_only=False,
        reasoning_field=None,
        max_tokens_field="max_tokens",
        chat_params=MISTRAL_CHAT_PARAMS,
    ),
}
