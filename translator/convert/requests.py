"""Request parameters: Chat ``CompletionCreateParams`` <-> Responses ``ResponseCreateParams``.

Theory of operation
-------------------
Each direction is a table ``parameter name -> handler``.  A handler reads one request parameter and
writes what it maps to into the output request; a parameter missing from the table has no
equivalent.  Null values count as absent, and so do values that equal the API default (``n: 1``,
penalties ``0``, ``logprobs: false``...), since dropping them changes nothing.

A parameter with no equivalent raises :class:`UnsupportedParameterError` naming its path
(``request.seed``, ``request.include[1]``), or with ``lenient=True`` is dropped with a
:class:`DroppedParameterWarning`.  Defaults that differ between the APIs are written out
(``docs/mapping.md`` §1): a Chat function tool without ``strict`` becomes ``strict: false`` (Responses
would otherwise make it strict), a Chat request without ``store`` becomes ``store: false``
(Responses stores by default), and a streamed Responses request asks Chat for
``stream_options.include_usage`` (Responses always reports usage).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConversionError
from ..ids import IdSource, random_id
from ..protocol.capabilities import UpstreamProfile
from ..protocol.tool_names import ToolNames
from .drop_policy import Dropped, DroppedParameterWarning, Policy, raise_problems
from .tools import ToolSet, chat_tool_choice, chat_tools, read_tools, web_search_options
from .transcripts import (
    check_keys,
    expect_dict,
    expect_list,
    expect_str,
    input_to_messages,
    messages_to_input,
)

__all__ = [
    "LOGPROBS_INCLUDE",
    "Dropped",
    "DroppedParameterWarning",
    "RequestConversion",
    "chat_request_to_responses",
    "convert_chat_request",
    "convert_responses_request",
    "responses_request_to_chat",
]

#: The Responses ``include`` value that asks for output-text logprobs (Chat ``logprobs: true``).
LOGPROBS_INCLUDE = "message.output_text.logprobs"

#: Parameters that exist, with the same meaning and shape, in both APIs.
_SHARED = (
    "model",
    "metadata",
    "moderation",
    "prompt_cache_key",
    "prompt_cache_retention",
    "safety_identifier",
    "service_tier",
    "stream",
    "temperature",
    "top_p",
    "user",
    "store",
)

#: Chat parameters with no Responses equivalent, and the value that means "not used".
_CHAT_NO_OP_VALUES: dict[str, Any] = {
    "n": 1,
    "frequency_penalty": 0,
    "presence_penalty": 0,
    "logit_bias": {},
    "stop": [],
    "modalities": ["text"],
    "seed": None,
    "audio": None,
    "prediction": None,
}

#: Responses parameters with no Chat equivalent, and the value that means "not used".
_RESPONSES_NO_OP_VALUES: dict[str, Any] = {
    "truncation": "disabled",
    "background": False,
    "previous_response_id": None,
    "conversation": None,
    "prompt": None,
    "max_tool_calls": None,
    "context_management": None,
    "background_options": None,
    "access_programs": None,
    "image": None,
}

_EMPTY_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}


@dataclass(slots=True)
class _Conversion:
    """One request being converted: the output so far and the drop policy."""

    request: dict[str, Any]
    policy: Policy
    ids: IdSource = random_id
    out: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def sub(self, key: str) -> dict[str, Any]:
        """The nested output object ``out[key]``, created on first use."""
        value: dict[str, Any] = self.out.setdefault(key, {})
        return value

    def unsupported(self, name: str, value: Any, defaults: dict[str, Any]) -> None:
        if name in defaults and value == defaults[name]:
            return
        self.policy.drop(f"request.{name}", f"{name!r} has no equivalent in the target API")


Handler = Callable[[_Conversion, Any, str], None]


def _run(conv: _Conversion, table: dict[str, Handler], defaults: dict[str, Any]) -> dict[str, Any]:
    for name, value in conv.request.items():
        if value is None:
            continue
        handler = table.get(name)
        if handler is None:
            conv.unsupported(name, value, defaults)
        else:
            handler(conv, value, f"request.{name}")
    return conv.out


def _leading(out: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """``out`` with ``keys`` (when present) moved to the front, for requests that read top-down."""
    return {**{k: out[k] for k in keys if k in out}, **out}


def _copy(conv: _Conversion, value: Any, path: str) -> None:
    conv.out[path.removeprefix("request.")] = value


def _flatten_named(ref: Any, path: str) -> dict[str, Any]:
    """``{type: function|custom, function|custom: {name}}`` -> ``{type, name}``."""
    ref = expect_dict(ref, path)
    kind = ref.get("type")
    if kind not in ("function", "custom"):
        raise ConversionError(f"unknown tool reference type {kind!r}", path=f"{path}.type")
    inner = expect_dict(ref.get(kind), f"{path}.{kind}")
    return {"type": kind, "name": expect_str(inner.get("name"), f"{path}.{kind}.name")}


def _nest_named(ref: Any, path: str, policy: Policy) -> dict[str, Any] | None:
    """``{type: function|custom, name}`` -> ``{type, function|custom: {name}}``; hosted tools have none."""
    ref = expect_dict(ref, path)
    kind = ref.get("type")
    if kind not in ("function", "custom"):
        policy.drop(f"{path}.type", f"tool choice {kind!r} has no Chat equivalent")
        return None
    return {"type": kind, kind: {"name": expect_str(ref.get("name"), f"{path}.name")}}


# --------------------------------------------------------------------------- Chat -> Responses


def _chat_messages(conv: _Conversion, value: Any, path: str) -> None:
    messages = expect_list(value, path)
    lead = 0
    if conv.options.get("hoist_instructions"):
        while lead < len(messages) and _is_instruction(messages[lead]):
            lead += 1
    items = messages_to_input(
        messages,
        lenient=conv.policy.lenient,
        carry_reasoning=conv.options["carry_reasoning"],
        ids=conv.ids,
        path=path,
        dropped=conv.policy.collected,
        check_pairing=conv.options.get("check_pairing", False),
        problems=conv.policy.problems,
    )
    custom = _custom_tool_names(conv.request.get("tools"))
    if custom:
        items = _as_custom_calls(items, custom)
    # system/developer messages map one-to-one onto message items: the first ``lead`` items are theirs
    if lead:
        conv.out["instructions"] = "\n\n".join(_item_text(item) for item in items[:lead])
    conv.out["input"] = items[lead:]


def _custom_tool_names(tools: Any) -> frozenset[str]:
    """The names of the ``custom`` (freeform) tools a Chat request declares."""
    names = set()
    for tool in tools if isinstance(tools, list) else ():
        if isinstance(tool, dict) and tool.get("type") == "custom" and isinstance(tool.get("custom"), dict):
            name = tool["custom"].get("name")
            if isinstance(name, str):
                names.add(name)
    return frozenset(names)


def _as_custom_calls(items: list[dict[str, Any]], custom: frozenset[str]) -> list[dict[str, Any]]:
    """Calls of declared custom tools that a Chat client sent back in the function form (as
    :class:`~translator.streams.responses_to_chat.ResponsesToChat` gives them by default: ``arguments`` is the
    raw input) become ``custom_tool_call`` items again, and their outputs ``custom_tool_call_output``:
    a Responses upstream refuses a ``function_call`` of a custom tool."""
    calls: set[str] = set()
    out = []
    for item in items:
        kind = item.get("type")
        if kind == "function_call" and item.get("name") in custom:
            calls.add(item["call_id"])
            call = {"type": "custom_tool_call", "call_id": item["call_id"], "name": item["name"]}
            out.append({**call, "input": item.get("arguments", "")})
        elif kind == "function_call_output" and item.get("call_id") in calls:
            out.append({**item, "type": "custom_tool_call_output"})
        else:
            out.append(item)
    return out


def _is_instruction(message: Any) -> bool:
    return isinstance(message, dict) and message.get("role") in ("system", "developer")


def _item_text(item: dict[str, Any]) -> str:
    content = item["content"]
    return content if isinstance(content, str) else "".join(part["text"] for part in content)


def _chat_tool(tool: Any, path: str, policy: Policy) -> dict[str, Any] | None:
    tool = expect_dict(tool, path)
    kind = tool.get("type")
    if kind == "function":
        fn = expect_dict(tool.get("function"), f"{path}.function")
        check_keys(fn, ("name", "description", "parameters", "strict"), f"{path}.function", policy)
        return _function_tool(fn, f"{path}.function")
    if kind == "custom":
        custom = expect_dict(tool.get("custom"), f"{path}.custom")
        out: dict[str, Any] = {
            "type": "custom",
            "name": expect_str(custom.get("name"), f"{path}.custom.name"),
        }
        if custom.get("description") is not None:
            out["description"] = custom["description"]
        fmt = custom.get("format")
        if fmt is not None:
            fmt = expect_dict(fmt, f"{path}.custom.format")
            if fmt.get("type") == "grammar":
                grammar = expect_dict(fmt.get("grammar"), f"{path}.custom.format.grammar")
                fmt = {
                    "type": "grammar",
                    "definition": grammar.get("definition"),
                    "syntax": grammar.get("syntax"),
                }
            out["format"] = fmt
        return out
    policy.drop(f"{path}.type", f"tool type {kind!r} has no Responses equivalent")
    return None


def _function_tool(fn: dict[str, Any], path: str) -> dict[str, Any]:
    """A Chat function definition as a flat Responses function tool, ``strict`` made explicit."""
    out: dict[str, Any] = {"type": "function", "name": expect_str(fn.get("name"), f"{path}.name")}
    if fn.get("description") is not None:
        out["description"] = fn["description"]
    out["parameters"] = fn.get("parameters") if fn.get("parameters") is not None else dict(_EMPTY_PARAMETERS)
    out["strict"] = (
        fn.get("strict") is True
    )  # Chat: omitted means non-strict; Responses: omitted means strict
    return out


def _chat_tools(conv: _Conversion, value: Any, path: str) -> None:
    tools = [_chat_tool(t, f"{path}[{i}]", conv.policy) for i, t in enumerate(expect_list(value, path))]
    conv.out.setdefault("tools", []).extend(t for t in tools if t is not None)


def _chat_functions(conv: _Conversion, value: Any, path: str) -> None:
    for i, fn in enumerate(expect_list(value, path)):
        fn = expect_dict(fn, f"{path}[{i}]")
        check_keys(fn, ("name", "description", "parameters"), f"{path}[{i}]", conv.policy)
        conv.out.setdefault("tools", []).append(_function_tool(fn, f"{path}[{i}]"))


def _chat_tool_choice(conv: _Conversion, value: Any, path: str) -> None:
    if isinstance(value, str):
        conv.out["tool_choice"] = value
        return
    choice = expect_dict(value, path)
    if choice.get("type") == "allowed_tools":
        allowed = expect_dict(choice.get("allowed_tools"), f"{path}.allowed_tools")
        tools = expect_list(allowed.get("tools"), f"{path}.allowed_tools.tools")
        conv.out["tool_choice"] = {
            "type": "allowed_tools",
            "mode": allowed.get("mode"),
            "tools": [_flatten_named(t, f"{path}.allowed_tools.tools[{i}]") for i, t in enumerate(tools)],
        }
    else:
        conv.out["tool_choice"] = _flatten_named(choice, path)


def _chat_function_call(conv: _Conversion, value: Any, path: str) -> None:
    if isinstance(value, str):
        conv.out["tool_choice"] = value
    else:
        name = expect_dict(value, path).get("name")
        conv.out["tool_choice"] = {"type": "function", "name": expect_str(name, f"{path}.name")}


def _chat_response_format(conv: _Conversion, value: Any, path: str) -> None:
    fmt = expect_dict(value, path)
    if fmt.get("type") == "json_schema":
        schema = expect_dict(fmt.get("json_schema"), f"{path}.json_schema")
        check_keys(schema, ("name", "description", "schema", "strict"), f"{path}.json_schema", conv.policy)
        flat: dict[str, Any] = {
            "type": "json_schema",
            "name": expect_str(schema.get("name"), f"{path}.json_schema.name"),
        }
        if schema.get("description") is not None:
            flat["description"] = schema["description"]
        flat["schema"] = schema.get("schema") if schema.get("schema") is not None else {}
        if schema.get("strict") is not None:
            flat["strict"] = schema["strict"]
        fmt = flat
    elif fmt.get("type") not in ("text", "json_object"):
        raise ConversionError(f"unknown response_format type {fmt.get('type')!r}", path=f"{path}.type")
    conv.sub("text")["format"] = fmt


def _chat_max_tokens(conv: _Conversion, value: Any, path: str) -> None:
    # max_completion_tokens wins over the deprecated max_tokens when both are set.
    if path.endswith("max_completion_tokens") or "max_output_tokens" not in conv.out:
        conv.out["max_output_tokens"] = value


def _chat_logprobs(conv: _Conversion, value: Any, path: str) -> None:
    if value is True:
        conv.out.setdefault("include", []).append(LOGPROBS_INCLUDE)


def _chat_stream_options(conv: _Conversion, value: Any, path: str) -> None:
    options = expect_dict(value, path)
    # include_usage: Responses always reports usage in its terminal event, so it needs no flag.
    check_keys(options, ("include_usage", "include_obfuscation"), path, conv.policy)
    if options.get("include_obfuscation") is not None:
        conv.sub("stream_options")["include_obfuscation"] = options["include_obfuscation"]


def _chat_web_search(conv: _Conversion, value: Any, path: str) -> None:
    """``web_search_options`` -> a ``web_search`` tool the model may call (lossy, ``docs/mapping.md`` §1)."""
    options = expect_dict(value, path)
    check_keys(options, ("search_context_size", "user_location"), path, conv.policy)
    tool: dict[str, Any] = {"type": "web_search"}
    if options.get("search_context_size") is not None:
        tool["search_context_size"] = options["search_context_size"]
    location = options.get("user_location")
    if location is not None:
        approx = expect_dict(
            expect_dict(location, f"{path}.user_location").get("approximate"),
            f"{path}.user_location.approximate",
        )
        tool["user_location"] = {"type": "approximate", **{k: v for k, v in approx.items() if v is not None}}
    conv.out.setdefault("tools", []).append(tool)


_CHAT_TO_RESPONSES: dict[str, Handler] = {
    **dict.fromkeys(_SHARED, _copy),
    "prompt_cache_options": _copy,
    "top_logprobs": _copy,
    "messages": _chat_messages,
    "tools": _chat_tools,
    "functions": _chat_functions,
    "tool_choice": _chat_tool_choice,
    "function_call": _chat_function_call,
    "parallel_tool_calls": _copy,
    "response_format": _chat_response_format,
    "verbosity": lambda conv, value, path: conv.sub("text").__setitem__("verbosity", value),
    "max_completion_tokens": _chat_max_tokens,
    "max_tokens": _chat_max_tokens,
    "reasoning_effort": lambda conv, value, path: conv.sub("reasoning").__setitem__("effort", value),
    "logprobs": _chat_logprobs,
    "stream_options": _chat_stream_options,
    "web_search_options": _chat_web_search,
}


def chat_request_to_responses(
    request: dict[str, Any],
    *,
    lenient: bool = False,
    hoist_instructions: bool = False,
    carry_reasoning: bool = True,
    ids: IdSource = random_id,
    check_pairing: bool = True,
) -> dict[str, Any]:
    """Chat ``CompletionCreateParams`` -> Responses ``ResponseCreateParams`` (``docs/mapping.md`` §1).

    Args:
        request: a Chat Completions request body.
        lenient: drop parameters with no equivalent (``n``, ``stop``, ``seed``, penalties, audio,
            provider extras...) with a :class:`DroppedParameterWarning` instead of raising
            :class:`UnsupportedParameterError`.
        hoist_instructions: move the leading ``system``/``developer`` messages into ``instructions``
            (joined with a blank line) instead of keeping them as input items.  Lossy: the role,
            the message boundaries and their position are not kept.
        carry_reasoning: keep third-party reasoning fields of assistant messages as reasoning items.
        ids: id source for items that need one (``rs_``, ``msg_``, legacy ``call_``).
        check_pairing: report tool calls of the history without an answer, and answers without a
            call (strict: a problem; lenient: a :class:`~translator.convert.drop_policy.ToolPairingWarning`).

    Raises:
        ConversionError: malformed input; ``path`` names the offending value.
        UnsupportedParameterError: a parameter with no equivalent, unless ``lenient``; every problem
            of the request is named (``error.problems``), not only the first.
    """
    policy = Policy(lenient, problems=None if lenient else [])
    return _all_problems(
        policy,
        lambda: _chat_to_responses(
            request, policy, hoist_instructions, carry_reasoning, ids, check_pairing=check_pairing
        ),
    )


def _all_problems(policy: Policy, convert: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a strict conversion that collects its problems, and raise them all at the end."""
    problems = policy.problems if policy.problems is not None else []
    try:
        out = convert()
    except ConversionError as exc:
        if problems and exc not in problems:
            raise_problems(problems, exc)
        raise
    raise_problems(problems)
    return out


def _chat_to_responses(
    request: Any,
    policy: Policy,
    hoist_instructions: bool,
    carry_reasoning: bool,
    ids: IdSource,
    *,
    check_pairing: bool = False,
) -> dict[str, Any]:
    request = expect_dict(request, "request")
    conv = _Conversion(
        request,
        policy,
        ids,
        options={
            "hoist_instructions": hoist_instructions,
            "carry_reasoning": carry_reasoning,
            "check_pairing": check_pairing,
        },
    )
    out = _run(conv, _CHAT_TO_RESPONSES, _CHAT_NO_OP_VALUES)
    if "tools" not in out:
        out.pop("parallel_tool_calls", None)  # Chat rejects it without tools; keep the pair consistent
    out.setdefault("store", False)  # Responses stores by default, Chat does not (docs/mapping.md §1)
    return _leading(out, ("model", "instructions", "input"))


# --------------------------------------------------------------------------- Responses -> Chat


def _responses_input(conv: _Conversion, value: Any, path: str) -> None:
    instructions = conv.request.get("instructions")
    conv.out["messages"] = input_to_messages(
        value,
        instructions=None if instructions is None else expect_str(instructions, "request.instructions"),
        lenient=conv.policy.lenient,
        reasoning_field=conv.options["reasoning_field"],
        path=path,
        dropped=conv.policy.collected,
        check_pairing=conv.options.get("check_pairing", False),
        problems=conv.policy.problems,
    )


def _responses_tool(tool: Any, path: str, policy: Policy) -> dict[str, Any] | None:
    tool = expect_dict(tool, path)
    kind = tool.get("type")
    if kind == "function":
        check_keys(tool, ("type", "name", "description", "parameters", "strict"), path, policy)
        fn: dict[str, Any] = {"name": expect_str(tool.get("name"), f"{path}.name")}
        if tool.get("description") is not None:
            fn["description"] = tool["description"]
        if tool.get("parameters") is not None:
            fn["parameters"] = tool["parameters"]
        if tool.get("strict") is not None:
            fn["strict"] = tool["strict"]
        return {"type": "function", "function": fn}
    if kind == "custom":
        check_keys(tool, ("type", "name", "description", "format"), path, policy)
        custom: dict[str, Any] = {"name": expect_str(tool.get("name"), f"{path}.name")}
        if tool.get("description") is not None:
            custom["description"] = tool["description"]
        fmt = tool.get("format")
        if fmt is not None:
            fmt = expect_dict(fmt, f"{path}.format")
            if fmt.get("type") == "grammar":
                fmt = {
                    "type": "grammar",
                    "grammar": {"definition": fmt.get("definition"), "syntax": fmt.get("syntax")},
                }
            custom["format"] = fmt
        return {"type": "custom", "custom": custom}
    policy.drop(f"{path}.type", f"tool type {kind!r} has no Chat equivalent")
    return None


def _responses_tools(conv: _Conversion, value: Any, path: str) -> None:
    tools: list[dict[str, Any]] = []
    for i, tool in enumerate(expect_list(value, path)):
        if isinstance(tool, dict) and tool.get("type") in ("web_search", "web_search_preview"):
            conv.out["web_search_options"] = web_search_options(tool, f"{path}[{i}]", conv.policy)
            continue
        converted = _responses_tool(tool, f"{path}[{i}]", conv.policy)
        if converted is not None:
            tools.append(converted)
    if tools:
        conv.out["tools"] = tools


def _responses_tool_choice(conv: _Conversion, value: Any, path: str) -> None:
    if isinstance(value, str):
        conv.out["tool_choice"] = value
        return
    choice = expect_dict(value, path)
    if choice.get("type") == "allowed_tools":
        refs = [
            _nest_named(t, f"{path}.tools[{i}]", conv.policy)
            for i, t in enumerate(expect_list(choice.get("tools"), f"{path}.tools"))
        ]
        conv.out["tool_choice"] = {
            "type": "allowed_tools",
            "allowed_tools": {"mode": choice.get("mode"), "tools": [r for r in refs if r is not None]},
        }
        return
    nested = _nest_named(choice, path, conv.policy)
    if nested is not None:
        conv.out["tool_choice"] = nested


def _responses_text(conv: _Conversion, value: Any, path: str) -> None:
    text = expect_dict(value, path)
    check_keys(text, ("format", "verbosity"), path, conv.policy)
    if text.get("verbosity") is not None:
        conv.out["verbosity"] = text["verbosity"]
    fmt = text.get("format")
    if fmt is None:
        return
    fmt = expect_dict(fmt, f"{path}.format")
    if fmt.get("type") == "json_schema":
        nested = {k: fmt[k] for k in ("name", "description", "schema", "strict") if fmt.get(k) is not None}
        conv.out["response_format"] = {"type": "json_schema", "json_schema": nested}
    elif fmt.get("type") in ("text", "json_object"):
        conv.out["response_format"] = {"type": fmt["type"]}
    else:
        raise ConversionError(f"unknown text.format type {fmt.get('type')!r}", path=f"{path}.format.type")


def _responses_reasoning(conv: _Conversion, value: Any, path: str) -> None:
    reasoning = expect_dict(value, path)
    check_keys(reasoning, ("effort",), path, conv.policy)
    if reasoning.get("effort") is not None:
        conv.out["reasoning_effort"] = reasoning["effort"]


def _responses_include(conv: _Conversion, value: Any, path: str) -> None:
    for i, entry in enumerate(expect_list(value, path)):
        if entry == LOGPROBS_INCLUDE:
            conv.out["logprobs"] = True
        else:
            conv.policy.drop(f"{path}[{i}]", f"include {entry!r} has no Chat equivalent")


def _responses_top_logprobs(conv: _Conversion, value: Any, path: str) -> None:
    conv.out["top_logprobs"] = value
    conv.out["logprobs"] = True  # Chat rejects top_logprobs without logprobs


def _responses_stream_options(conv: _Conversion, value: Any, path: str) -> None:
    options = expect_dict(value, path)
    check_keys(options, ("include_obfuscation",), path, conv.policy)
    if options.get("include_obfuscation") is not None:
        conv.sub("stream_options")["include_obfuscation"] = options["include_obfuscation"]


def _responses_service_tier(conv: _Conversion, value: Any, path: str) -> None:
    if value == "ultrafast":
        conv.policy.drop(path, "service tier 'ultrafast' is Responses-only")
    else:
        conv.out["service_tier"] = value


def _responses_cache_options(conv: _Conversion, value: Any, path: str) -> None:
    options = dict(expect_dict(value, path))
    check_keys(options, ("mode", "ttl"), path, conv.policy)
    if options.get("ttl") not in (None, "30m"):
        conv.policy.drop(f"{path}.ttl", f"ttl {options['ttl']!r} is Responses-only (Chat allows 30m)")
    conv.out["prompt_cache_options"] = {
        k: v for k, v in options.items() if k == "mode" or (k == "ttl" and v == "30m")
    }


_RESPONSES_TO_CHAT: dict[str, Handler] = {
    **dict.fromkeys(_SHARED, _copy),
    "service_tier": _responses_service_tier,
    "prompt_cache_options": _responses_cache_options,
    "input": _responses_input,
    "instructions": lambda conv, value, path: None,  # read together with ``input``
    "tools": _responses_tools,
    "tool_choice": _responses_tool_choice,
    "parallel_tool_calls": _copy,
    "text": _responses_text,
    "max_output_tokens": lambda conv, value, path: conv.out.__setitem__("max_completion_tokens", value),
    "reasoning": _responses_reasoning,
    "include": _responses_include,
    "top_logprobs": _responses_top_logprobs,
    "stream_options": _responses_stream_options,
}


def _instructions_only(conv: _Conversion, read_input: Handler) -> None:
    """A request without ``input``: its ``instructions`` alone become the messages."""
    if "messages" in conv.out:
        return
    if conv.request.get("instructions") is None:
        raise ConversionError(
            "a Chat request needs messages: give input or instructions", path="request.input"
        )
    read_input(conv, [], "request.input")


def responses_request_to_chat(
    request: dict[str, Any],
    *,
    lenient: bool = False,
    reasoning_field: str | None = "reasoning_content",
    check_pairing: bool = True,
) -> dict[str, Any]:
    """Responses ``ResponseCreateParams`` -> Chat ``CompletionCreateParams`` (``docs/mapping.md`` §1).

    Args:
        request: a Responses request body.
        lenient: drop parameters with no Chat equivalent (``previous_response_id``, hosted tools,
            most ``include`` values, ``reasoning.summary``...) with a :class:`DroppedParameterWarning`
            instead of raising :class:`UnsupportedParameterError`.
        reasoning_field: where reasoning items of the input go on assistant messages (``None``: drop).
        check_pairing: report calls of the input without an output, and outputs without a call
            (strict: a problem; lenient: a :class:`~translator.convert.drop_policy.ToolPairingWarning`).

    Raises:
        ConversionError: malformed input; ``path`` names the offending value.
        UnsupportedParameterError: a parameter with no equivalent, unless ``lenient``; every problem
            of the request is named (``error.problems``), not only the first.
    """
    policy = Policy(lenient, problems=None if lenient else [])
    return _all_problems(policy, lambda: _responses_to_chat(request, policy, reasoning_field, check_pairing))


def _responses_to_chat(
    request: Any, policy: Policy, reasoning_field: str | None, check_pairing: bool
) -> dict[str, Any]:
    request = expect_dict(request, "request")
    options = {"reasoning_field": reasoning_field, "check_pairing": check_pairing}
    conv = _Conversion(request, policy, options=options)
    out = _run(conv, _RESPONSES_TO_CHAT, _RESPONSES_NO_OP_VALUES)
    _instructions_only(conv, _responses_input)
    if "tools" not in out:
        out.pop("parallel_tool_calls", None)  # Chat rejects parallel_tool_calls without tools
    if out.get("stream") is True:
        conv.sub("stream_options")["include_usage"] = True  # Responses always reports usage
    return _leading(out, ("model", "messages"))


# --------------------------------------------------------------------------- for an upstream (gateway)


@dataclass(frozen=True, slots=True)
class RequestConversion:
    """A request converted for an upstream that speaks the other protocol."""

    #: The request to send upstream (Chat ``CompletionCreateParams`` or ``ResponseCreateParams``).
    params: dict[str, Any]
    #: Every value left out, in input order; each names its path in the client's request.
    dropped: tuple[Dropped, ...]
    #: Chat function name -> Responses tool identity, for ``ChatToResponses(tool_map=...)``
    #: (empty for Chat -> Responses).  See :mod:`translator.protocol.tool_names`.
    tool_map: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


#: Where a Chat parameter of the converted request came from in the Responses request, for reports.
_CHAT_PARAM_SOURCE = {
    "messages": "input",
    "max_completion_tokens": "max_output_tokens",
    "max_tokens": "max_output_tokens",
    "reasoning_effort": "reasoning.effort",
    "verbosity": "text.verbosity",
    "response_format": "text.format",
    "logprobs": "include",
    "web_search_options": "tools",
    "stream_options": "stream",
}

#: Chat parameter values that change nothing (omitting them is no loss, so it is not reported).
_CHAT_DEFAULTS: dict[str, Any] = {"parallel_tool_calls": True, "store": False, "logprobs": False}


def _upstream_input(conv: _Conversion, value: Any, path: str) -> None:
    instructions = conv.request.get("instructions")
    conv.out["messages"] = input_to_messages(
        value,
        instructions=None if instructions is None else expect_str(instructions, "request.instructions"),
        lenient=conv.policy.lenient,
        path=path,
        profile=conv.options["profile"],
        tool_names=conv.options["names"],
        dropped=conv.policy.collected,
        check_pairing=False,  # a server passes the client's history on; the upstream judges it
        problems=conv.policy.problems,
    )


def _upstream_tool_choice(conv: _Conversion, value: Any, path: str) -> None:
    conv.options["tool_choice"] = chat_tool_choice(
        value, path, conv.options["toolset"], conv.options["names"], conv.policy
    )


def _upstream_max_tokens(conv: _Conversion, value: Any, path: str) -> None:
    conv.out[conv.options["profile"].max_tokens_field] = value


def _upstream_store(conv: _Conversion, value: Any, path: str) -> None:
    if value is not False:  # false is Chat's default: nothing to send
        conv.out["store"] = value


#: Why each ``reasoning`` option but ``effort`` stays behind.
_NO_SUMMARY = "Chat has no reasoning summary option (reasoning the upstream streams is still passed on)"
_REASONING_DROPS = {
    "summary": _NO_SUMMARY,
    "generate_summary": _NO_SUMMARY,
    "context": "Chat has no reasoning context option (the upstream profile decides what is replayed)",
    "mode": "Chat has no reasoning mode option",
}


def _upstream_reasoning(conv: _Conversion, value: Any, path: str) -> None:
    reasoning = expect_dict(value, path)
    for key, option in reasoning.items():
        if key == "effort":
            if option is not None:
                conv.out["reasoning_effort"] = option
        elif option is not None:
            reason = _REASONING_DROPS.get(key, f"{key!r} has no equivalent in the target API")
            conv.policy.drop(f"{path}.{key}", reason)


_RESPONSES_TO_CHAT_UPSTREAM: dict[str, Handler] = {
    **_RESPONSES_TO_CHAT,
    "input": _upstream_input,
    "tools": lambda conv, value, path: None,  # read before the input (see convert_responses_request)
    "tool_choice": _upstream_tool_choice,
    "max_output_tokens": _upstream_max_tokens,
    "store": _upstream_store,
    "reasoning": _upstream_reasoning,
    "client_metadata": lambda conv, value, path: conv.policy.drop(
        path, "client metadata (the Codex CLI's session and turn ids) has no Chat equivalent"
    ),
}


def convert_responses_request(
    request: dict[str, Any],
    profile: UpstreamProfile | None = None,
    *,
    strict: bool = False,
) -> RequestConversion:
    """A Responses request (as the Codex CLI or the openai SDK sends it) for a Chat-only upstream.

    Everything :func:`responses_request_to_chat` does, plus what agent clients need over a Chat
    upstream described by ``profile`` (docs/conversions.md): custom, namespaced and
    tool-search tools become valid, unique Chat functions (with the ``tool_map`` that turns their
    calls back), hosted tools the upstream cannot run are dropped, schemas are normalised, history
    items are flattened the same way, reasoning is replayed in the upstream's field, and the
    request's options are shaped for it.  Thread-safe: drops are collected per call, not warned.

    Args:
        request: a Responses request body (``ResponseCreateParams``).
        profile: the upstream's capabilities; the generic profile (local servers) when ``None``.
        strict: raise :class:`UnsupportedParameterError` at the first value with no equivalent
            instead of dropping it.

    Raises:
        ConversionError: malformed input; ``path`` names the offending value.
        UnsupportedParameterError: with ``strict``, a value with no Chat equivalent.
    """
    profile = UpstreamProfile() if profile is None else profile
    request = expect_dict(request, "request")
    dropped: list[Dropped] = []
    policy = Policy(not strict, dropped)
    toolset = _read_request_tools(request, profile, policy)
    names = ToolNames()
    names.assign(toolset.identities)  # declared tools are named before history mentions
    conv = _Conversion(
        request,
        policy,
        options={"profile": profile, "toolset": toolset, "names": names, "tool_choice": None},
    )
    out = _run(conv, _RESPONSES_TO_CHAT_UPSTREAM, _RESPONSES_NO_OP_VALUES)
    _instructions_only(conv, _upstream_input)
    _finish_tools(conv, out, toolset, names, profile)
    if out.get("stream") is True:
        conv.sub("stream_options")["include_usage"] = True  # Responses always reports usage
    for key in [k for k in out if not profile.accepts(k)]:
        value = out.pop(key)
        if _CHAT_DEFAULTS.get(key, ...) != value:
            source = _CHAT_PARAM_SOURCE.get(key, key)
            policy.drop(f"request.{source}", f"this upstream does not accept the Chat parameter {key!r}")
    return RequestConversion(_leading(out, ("model", "messages")), tuple(dropped), names.tool_map())


def _read_request_tools(request: dict[str, Any], profile: UpstreamProfile, policy: Policy) -> ToolSet:
    """The request's tools, then those its input items load (tool search outputs, additional tools)."""
    toolset = ToolSet()
    if request.get("tools") is not None:
        read_tools(request["tools"], "request.tools", profile, policy, toolset)
    items = request.get("input")
    for i, item in enumerate(items if isinstance(items, list) else ()):
        kind = item.get("type") if isinstance(item, dict) else None
        if kind in ("tool_search_output", "additional_tools"):
            path = f"request.input[{i}].tools"
            read_tools(item.get("tools"), path, profile, policy, toolset, loaded=kind == "tool_search_output")
    if not toolset.has_client_tool_search():
        for tool in toolset.deferred:
            if not toolset.declares(tool.identity):
                policy.drop(tool.path, "a deferred tool needs a tool search this upstream cannot run")
    return toolset


def _finish_tools(
    conv: _Conversion, out: dict[str, Any], toolset: ToolSet, names: ToolNames, profile: UpstreamProfile
) -> None:
    """``tools``, ``tool_choice``, ``parallel_tool_calls`` and ``web_search_options`` of the output."""
    choice, allowed = conv.options["tool_choice"] or (None, None)
    tools = chat_tools(toolset, names, profile, conv.policy, only=allowed)
    if toolset.web_search is not None:
        out["web_search_options"] = toolset.web_search
    if tools:
        out["tools"] = tools
        if choice is not None:
            out["tool_choice"] = choice
        return
    # no tools left: Chat upstreams reject tool_choice and parallel_tool_calls without tools
    out.pop("parallel_tool_calls", None)
    if choice == "required" or isinstance(choice, dict):
        conv.policy.drop("request.tool_choice", "no tool is left for the upstream to call")


def convert_chat_request(
    request: dict[str, Any],
    *,
    strict: bool = False,
    hoist_instructions: bool = False,
    carry_reasoning: bool = True,
    ids: IdSource = random_id,
) -> RequestConversion:
    """A Chat request for a Responses upstream: :func:`chat_request_to_responses`, drops collected.

    Thread-safe: drops are collected per call, not warned.  ``tool_map`` is empty (Chat tool
    names are valid Responses names).

    Raises:
        ConversionError: malformed input; ``path`` names the offending value.
        UnsupportedParameterError: with ``strict``, a value with no Responses equivalent.
    """
    dropped: list[Dropped] = []
    policy = Policy(not strict, dropped)
    params = _chat_to_responses(request, policy, hoist_instructions, carry_reasoning, ids)
    return RequestConversion(params, tuple(dropped))
