"""Transcripts: Chat ``messages`` <-> Responses ``input`` items, both ways (``docs/mapping.md`` §2).

Theory of operation
-------------------
Chat is built on messages, Responses on items.  One assistant message becomes up to three kinds of
item, in this order: a ``reasoning`` item (only for the third-party ``reasoning_content`` /
``reasoning`` fields), one ``message`` item, then one ``function_call`` / ``custom_tool_call`` item per
tool call.  A ``tool`` message becomes a ``function_call_output`` (``custom_tool_call_output`` when
its call was a custom tool).  On the way back, every run of assistant-side items (reasoning,
messages, calls) is merged into **one** assistant message, because Chat rejects an assistant message
with ``tool_calls`` that is directly followed by another assistant message.

Choices made where the SDK types leave room (each is documented in docs/lossy.md):

* Assistant text travels as an EasyInputMessage with *string* content (``{"type": "message",
  "role": "assistant", "content": "..."}``): valid for the SDK, accepted by the API, and it carries
  no ``msg_`` id (ids that point at missing reasoning items are a known cause of 400 errors).
  Only a refusal needs the output-message form, whose ``id`` the SDK marks Required: it gets a
  synthesized ``msg_`` id.
* Reasoning: ``reasoning_content`` (DeepSeek/xAI/Qwen) <-> ``summary[summary_text]``;
  ``reasoning`` (OpenRouter/Groq/gpt-oss) and Mistral ``thinking`` parts <-> ``content[reasoning_text]``.
  The item gets a synthesized ``rs_`` id.  On the way back all reasoning text of a turn (summary
  parts, then raw reasoning parts) lands in one field, ``reasoning_field`` (default
  ``reasoning_content``).
* Several assistant text segments merged into one Chat message (message items, parts, reasoning
  parts) are joined with :data:`SEPARATOR` (``"\\n"``), as the stream translator and
  openai-agents do.
* Something with no equivalent is an :class:`UnsupportedParameterError` naming its path, or with
  ``lenient=True`` is dropped with a :class:`DroppedParameterWarning`.  A strict conversion goes on
  to the end and raises once, naming every problem (``error.problems``).  Output-only metadata
  (item ids and status, annotations, logprobs, ``phase``, ``encrypted_content``) is dropped quietly
  on the way to Chat: Chat history has no place for it and it is not an instruction to the model.
* Messages stored by dumping the SDK's objects (``ChatCompletionMessage.model_dump()``, with
  ``annotations: []``, ``audio: null``, ``tool_calls: null``...) convert: null and empty values are
  absent values.  ``url_citation`` annotations of an assistant message become the annotations of
  its ``output_text`` (the output-message form, with a synthesized ``msg_`` id).  SDK objects
  themselves (messages, output items) are accepted and dumped first.
* Tool pairing: a call no later tool message answers, or a tool message answering no earlier call
  (or one already answered), is a history providers reject: a problem in strict mode, a
  :class:`ToolPairingWarning` in lenient mode (the history is converted as it is).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..engine.feed import dump_model
from ..errors import ConversionError
from ..ids import IdSource, random_id
from ..protocol.capabilities import UpstreamProfile
from ..protocol.mapping import chat_annotation_to_responses
from ..protocol.tool_names import CUSTOM_INPUT, ToolIdentity, ToolNames, loaded_identities
from .drop_policy import Dropped, DroppedParameterWarning, Policy, ToolPairingWarning, problems_raised

__all__ = [
    "SEPARATOR",
    "DroppedParameterWarning",
    "ToolPairingWarning",
    "input_to_messages",
    "messages_to_input",
]


#: Joins the text segments (message items, parts, reasoning parts) merged into one Chat field, as the
#: stream translator and openai-agents do.
SEPARATOR = "\n"


def expect_dict(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConversionError(f"expected an object, got {type(value).__name__}", path=path)
    return value


def expect_str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise ConversionError(f"expected a string, got {type(value).__name__}", path=path)
    return value


def expect_list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise ConversionError(f"expected a list, got {type(value).__name__}", path=path)
    return list(value)


def is_absent(value: Any) -> bool:
    """``None``, ``[]`` and ``{}``: what SDK dumps write for a field that carries nothing."""
    return value is None or (isinstance(value, (list, dict)) and not value)


def check_keys(
    obj: dict[str, Any], allowed: Iterable[str], path: str, policy: Policy, *, empty_is_absent: bool = False
) -> None:
    """Every key of ``obj`` outside ``allowed`` whose value is not null has no equivalent.

    ``empty_is_absent``: ``[]`` and ``{}`` pass as well (messages dumped from the SDK's objects).
    """
    known = set(allowed)
    for key, value in obj.items():
        if key in known or value is None or (empty_is_absent and is_absent(value)):
            continue
        policy.drop(f"{path}.{key}", f"{key!r} has no equivalent in the target API")


def _plain(values: Any, path: str) -> list[Any]:
    """A list of messages or items as dicts: SDK objects (pydantic models) are dumped first."""
    return [value if isinstance(value, dict) else dump_model(value) for value in expect_list(values, path)]


def _with_breakpoint(out: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    if part.get("prompt_cache_breakpoint") is not None:
        out["prompt_cache_breakpoint"] = part["prompt_cache_breakpoint"]
    return out


# --------------------------------------------------------------------------- Chat -> Responses


_TEXT_PART_KEYS = ("type", "text", "prompt_cache_breakpoint")
_SIMPLE_ROLES = ("system", "developer", "user")


def _chat_part_to_input(part: Any, path: str, policy: Policy, *, text_only: bool) -> dict[str, Any] | None:
    part = expect_dict(part, path)
    kind = part.get("type")
    if kind == "text":
        check_keys(part, _TEXT_PART_KEYS, path, policy)
        return _with_breakpoint(
            {"type": "input_text", "text": expect_str(part.get("text"), f"{path}.text")}, part
        )
    if text_only:
        policy.drop(f"{path}.type", f"a {kind!r} part is not allowed here (text only)")
        return None
    if kind == "image_url":
        check_keys(part, ("type", "image_url", "prompt_cache_breakpoint"), path, policy)
        image = expect_dict(part.get("image_url"), f"{path}.image_url")
        check_keys(image, ("url", "detail"), f"{path}.image_url", policy)
        out = {
            "type": "input_image",
            "image_url": expect_str(image.get("url"), f"{path}.image_url.url"),
            "detail": image.get("detail") or "auto",
        }
        return _with_breakpoint(out, part)
    if kind == "file":
        check_keys(part, ("type", "file", "prompt_cache_breakpoint"), path, policy)
        file = expect_dict(part.get("file"), f"{path}.file")
        check_keys(file, ("file_data", "file_id", "filename"), f"{path}.file", policy)
        out = {"type": "input_file"}
        out.update({k: file[k] for k in ("file_data", "file_id", "filename") if file.get(k) is not None})
        return _with_breakpoint(out, part)
    if kind == "input_audio":
        policy.drop(f"{path}.type", "audio input parts have no Responses equivalent")
        return None
    policy.drop(f"{path}.type", f"unknown content part type {kind!r}")
    return None


def _chat_content_to_input(
    content: Any, path: str, policy: Policy, *, text_only: bool
) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts = expect_list(content, path)
    out = [_chat_part_to_input(p, f"{path}[{i}]", policy, text_only=text_only) for i, p in enumerate(parts)]
    return [p for p in out if p is not None]


def _tool_output(content: Any, path: str, policy: Policy) -> str | list[dict[str, Any]]:
    return _chat_content_to_input(content, path, policy, text_only=True)


@dataclass(slots=True)
class _ChatReader:
    """State of one Chat -> Responses pass: pairing legacy ``function`` messages and custom calls."""

    policy: Policy
    ids: IdSource
    carry_reasoning: bool
    custom_call_ids: set[str] = field(default_factory=set)
    #: legacy ``function_call`` (name, synthesized call_id) waiting for their ``role: function`` output
    pending_legacy: list[tuple[str, str]] = field(default_factory=list)

    def message(self, msg: Any, path: str) -> list[dict[str, Any]]:
        msg = expect_dict(msg, path)
        role = msg.get("role")
        if role in _SIMPLE_ROLES:
            return [self._simple(msg, role, path)]
        if role == "assistant":
            return self._assistant(msg, path)
        if role == "tool":
            return [self._tool(msg, path)]
        if role == "function":
            return [self._function(msg, path)]
        raise ConversionError(f"unknown message role {role!r}", path=f"{path}.role")

    def _simple(self, msg: dict[str, Any], role: str, path: str) -> dict[str, Any]:
        check_keys(msg, ("role", "content"), path, self.policy, empty_is_absent=True)
        if "content" not in msg:
            raise ConversionError("a message needs content", path=f"{path}.content")
        content = _chat_content_to_input(
            msg["content"], f"{path}.content", self.policy, text_only=role != "user"
        )
        return {"type": "message", "role": role, "content": content}

    def _reasoning(self, msg: dict[str, Any], thinking: list[str], path: str) -> list[dict[str, Any]]:
        summary = msg.get("reasoning_content")
        raw = msg.get("reasoning")
        texts = [expect_str(raw, f"{path}.reasoning")] if raw is not None else []
        texts += thinking
        if not self.carry_reasoning or (summary is None and not texts):
            return []
        item: dict[str, Any] = {"type": "reasoning", "id": self.ids("rs"), "summary": []}
        if summary is not None:
            text = expect_str(summary, f"{path}.reasoning_content")
            item["summary"] = [{"type": "summary_text", "text": text}]
        if texts:
            item["content"] = [{"type": "reasoning_text", "text": t} for t in texts]
        return [item]

    def _assistant(self, msg: dict[str, Any], path: str) -> list[dict[str, Any]]:
        allowed = (
            "role",
            "content",
            "refusal",
            "tool_calls",
            "function_call",
            "reasoning_content",
            "reasoning",
            "annotations",
        )
        check_keys(msg, allowed, path, self.policy, empty_is_absent=True)
        texts, refusals, thinking = self._assistant_content(msg.get("content"), f"{path}.content")
        if msg.get("refusal") is not None:
            refusals.append(expect_str(msg["refusal"], f"{path}.refusal"))
        annotations = self._annotations(msg.get("annotations"), f"{path}.annotations")
        items = self._reasoning(msg, thinking, path)
        calls = self._tool_calls(msg, path)
        content = msg.get("content")
        if refusals or annotations:
            # the output-message form: the only one whose text parts carry annotations or a refusal
            parts: list[dict[str, Any]] = []
            if texts or not refusals:
                parts.append({"type": "output_text", "text": "".join(texts), "annotations": annotations})
            parts += [{"type": "refusal", "refusal": r} for r in refusals]
            items.append(
                {
                    "id": self.ids("msg"),
                    "type": "message",
                    "role": "assistant",
                    "status": "completed",
                    "content": parts,
                }
            )
        elif texts or (isinstance(content, str) and not calls):
            items.append({"type": "message", "role": "assistant", "content": "".join(texts)})
        return items + calls

    def _annotations(self, value: Any, path: str) -> list[dict[str, Any]]:
        """An assistant message's ``url_citation`` annotations, flat as ``output_text`` carries them."""
        out: list[dict[str, Any]] = []
        for i, annotation in enumerate(expect_list(value or [], path)):
            flat = chat_annotation_to_responses(annotation, f"{path}[{i}]")
            if flat is None:
                kind = annotation.get("type")
                self.policy.drop(f"{path}[{i}].type", f"annotation type {kind!r} has no Responses equivalent")
            else:
                out.append(flat)
        return out

    def _assistant_content(self, content: Any, path: str) -> tuple[list[str], list[str], list[str]]:
        """(text pieces, refusals, Mistral ``thinking`` texts) of an assistant ``content``."""
        if content is None:
            return [], [], []
        if isinstance(content, str):
            return ([content] if content else []), [], []
        texts: list[str] = []
        refusals: list[str] = []
        thinking: list[str] = []
        for i, part in enumerate(expect_list(content, path)):
            p = expect_dict(part, f"{path}[{i}]")
            kind = p.get("type")
            if kind == "text":
                check_keys(p, _TEXT_PART_KEYS, f"{path}[{i}]", self.policy)
                texts.append(expect_str(p.get("text"), f"{path}[{i}].text"))
            elif kind == "refusal":
                refusals.append(expect_str(p.get("refusal"), f"{path}[{i}].refusal"))
            elif kind == "thinking":
                # Mistral Magistral: {"type": "thinking", "thinking": [{"type": "text", "text": ...}]}
                # (corpus requests/mistral__magistral_content_array.request.json)
                for j, chunk in enumerate(expect_list(p.get("thinking"), f"{path}[{i}].thinking")):
                    thinking.append(
                        expect_str(
                            expect_dict(chunk, f"{path}[{i}].thinking[{j}]").get("text"),
                            f"{path}[{i}].thinking[{j}].text",
                        )
                    )
            else:
                self.policy.drop(f"{path}[{i}].type", f"unknown assistant content part type {kind!r}")
        return texts, refusals, thinking

    def _tool_calls(self, msg: dict[str, Any], path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for i, call in enumerate(expect_list(msg.get("tool_calls") or [], f"{path}.tool_calls")):
            cpath = f"{path}.tool_calls[{i}]"
            call = expect_dict(call, cpath)
            call_id = expect_str(call.get("id"), f"{cpath}.id")
            kind = call.get("type", "function")
            if kind == "function":
                fn = expect_dict(call.get("function"), f"{cpath}.function")
                items.append(
                    {
                        "type": "function_call",
                        "call_id": call_id,
                        "name": expect_str(fn.get("name"), f"{cpath}.function.name"),
                        "arguments": expect_str(fn.get("arguments", ""), f"{cpath}.function.arguments"),
                    }
                )
            elif kind == "custom":
                custom = expect_dict(call.get("custom"), f"{cpath}.custom")
                self.custom_call_ids.add(call_id)
                items.append(
                    {
                        "type": "custom_tool_call",
                        "call_id": call_id,
                        "name": expect_str(custom.get("name"), f"{cpath}.custom.name"),
                        "input": expect_str(custom.get("input", ""), f"{cpath}.custom.input"),
                    }
                )
            else:
                raise ConversionError(f"unknown tool call type {kind!r}", path=f"{cpath}.type")
        legacy = msg.get("function_call")
        if legacy is not None:
            fn = expect_dict(legacy, f"{path}.function_call")
            name = expect_str(fn.get("name"), f"{path}.function_call.name")
            call_id = self.ids("call")
            self.pending_legacy.append((name, call_id))
            arguments = expect_str(fn.get("arguments", ""), f"{path}.function_call.arguments")
            items.append({"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments})
        return items

    def _tool(self, msg: dict[str, Any], path: str) -> dict[str, Any]:
        check_keys(msg, ("role", "content", "tool_call_id"), path, self.policy, empty_is_absent=True)
        call_id = expect_str(msg.get("tool_call_id"), f"{path}.tool_call_id")
        kind = "custom_tool_call_output" if call_id in self.custom_call_ids else "function_call_output"
        return {
            "type": kind,
            "call_id": call_id,
            "output": _tool_output(msg.get("content"), f"{path}.content", self.policy),
        }

    def _function(self, msg: dict[str, Any], path: str) -> dict[str, Any]:
        """Legacy ``{role: function, name, content}``: pair with the oldest pending call of that name."""
        check_keys(msg, ("role", "content", "name"), path, self.policy, empty_is_absent=True)
        name = expect_str(msg.get("name"), f"{path}.name")
        for i, (pending_name, pending_id) in enumerate(self.pending_legacy):
            if pending_name == name:
                call_id = pending_id
                del self.pending_legacy[i]
                break
        else:
            raise ConversionError(
                f"no earlier function_call named {name!r} to pair with", path=f"{path}.name"
            )
        content = msg.get("content")
        output = "" if content is None else expect_str(content, f"{path}.content")
        return {"type": "function_call_output", "call_id": call_id, "output": output}


def messages_to_input(
    messages: Sequence[Any],
    *,
    lenient: bool = False,
    carry_reasoning: bool = True,
    ids: IdSource = random_id,
    path: str = "messages",
    dropped: list[Dropped] | None = None,
    check_pairing: bool = True,
    problems: list[ConversionError] | None = None,
) -> list[dict[str, Any]]:
    """Chat ``messages`` -> Responses ``input`` items (``docs/mapping.md`` §2a, §2b).

    Args:
        messages: Chat messages: dicts (``ChatCompletionMessageParam`` shaped, or SDK dumps) or the
            SDK's objects (``ChatCompletionMessage``).
        lenient: drop values with no Responses equivalent (``name``, audio parts, ...) with a
            :class:`DroppedParameterWarning` instead of raising :class:`UnsupportedParameterError`.
        carry_reasoning: turn third-party reasoning fields into ``reasoning`` items (else drop them).
        ids: id source for the ``rs_``/``msg_`` ids and the ``call_`` ids of legacy function calls.
        path: the name of the list in error paths.
        dropped: with ``lenient``, append a :class:`~translator.convert.drop_policy.Dropped` per dropped value
            here instead of warning.
        check_pairing: report tool calls without an answer and answers without a call.
        problems: strict mode: append the problems here instead of raising (the caller raises).

    Raises:
        ConversionError: malformed input, or (strict) every problem found, in ``error.problems``.
    """
    own = problems is None and not lenient
    collected: list[ConversionError] | None = [] if own else problems
    reader = _ChatReader(Policy(lenient, dropped, collected), ids, carry_reasoning)
    items: list[dict[str, Any]] = []
    with problems_raised(collected if own else None):
        plain = _plain(messages, path)
        for i, msg in enumerate(plain):
            items += reader.message(msg, f"{path}[{i}]")
        if check_pairing:
            _check_chat_pairing(plain, path, reader.policy)
    return items


@dataclass(slots=True)
class _Pairing:
    """Calls waiting for their answer, and the problems of a history's pairing (both directions)."""

    policy: Policy
    #: "tool call" (Chat) or "call" (Responses items), as the messages name it
    noun: str
    pending: dict[str, str] = field(default_factory=dict)  # call id -> path of the call
    answered: set[str] = field(default_factory=set)

    def call(self, call_id: str, where: str) -> None:
        self.pending[call_id] = where

    def answer(self, call_id: str, where: str, key: str) -> None:
        if call_id in self.pending:
            del self.pending[call_id]
            self.answered.add(call_id)
        elif call_id in self.answered:
            self.policy.flag(where, f"answers a {self.noun} already answered")
        else:
            self.policy.flag(where, f"answers no earlier {self.noun} (no call has this {key})")

    def finish(self, unanswered: str) -> None:
        for where in self.pending.values():
            self.policy.flag(where, unanswered)


def _check_chat_pairing(messages: list[Any], path: str, policy: Policy) -> None:
    """Every tool call answered by a later ``tool`` message, every ``tool`` message answering one call."""
    pairing = _Pairing(policy, "tool call")
    legacy: list[tuple[str, str]] = []  # (name, path) of function_call awaiting a role=function answer
    for i, msg in enumerate(messages):
        role = msg.get("role")
        if role == "assistant":
            for j, call in enumerate(msg.get("tool_calls") or []):
                pairing.call(call["id"], f"{path}[{i}].tool_calls[{j}].id")
            if msg.get("function_call") is not None:
                legacy.append((msg["function_call"]["name"], f"{path}[{i}].function_call"))
        elif role == "function":  # the reader paired it with the oldest call of its name
            legacy.remove(next(entry for entry in legacy if entry[0] == msg["name"]))
        elif role == "tool":
            pairing.answer(msg["tool_call_id"], f"{path}[{i}].tool_call_id", "id")
    pairing.finish("has no answer (no later tool message has this call's id)")
    for _, where in legacy:
        policy.flag(where, "has no answer (no later function message of its name)")


# --------------------------------------------------------------------------- Responses -> Chat


#: Item types with no Chat equivalent (hosted tools, server state): dropped or rejected.
_SERVER_ITEMS = frozenset(
    {
        "item_reference",
        "compaction",
        "additional_tools",
        "web_search_call",
        "file_search_call",
        "computer_call",
        "computer_call_output",
        "code_interpreter_call",
        "image_generation_call",
        "local_shell_call",
        "local_shell_call_output",
        "shell_call",
        "shell_call_output",
        "apply_patch_call",
        "apply_patch_call_output",
        "mcp_list_tools",
        "mcp_approval_request",
        "mcp_approval_response",
        "mcp_call",
        "tool_search_call",
        "tool_search_output",
        "program",
        "program_output",
    }
)


def _input_part_to_chat(part: Any, path: str, policy: Policy, *, text_only: bool) -> dict[str, Any] | None:
    part = expect_dict(part, path)
    kind = part.get("type")
    if kind in ("input_text", "output_text"):
        return _with_breakpoint({"type": "text", "text": expect_str(part.get("text"), f"{path}.text")}, part)
    if text_only:
        policy.drop(f"{path}.type", f"a {kind!r} part has no equivalent here (Chat allows text only)")
        return None
    if kind == "input_image":
        url = part.get("image_url")
        if url is None:
            policy.drop(f"{path}.file_id", "Chat images need an image_url (file_id is Responses-only)")
            return None
        image: dict[str, Any] = {"url": expect_str(url, f"{path}.image_url")}
        if part.get("detail") is not None:
            image["detail"] = part["detail"]
        return _with_breakpoint({"type": "image_url", "image_url": image}, part)
    if kind == "input_file":
        file = {k: part[k] for k in ("file_data", "file_id", "filename") if part.get(k) is not None}
        if part.get("file_url") is not None:
            policy.drop(f"{path}.file_url", "file_url is Responses-only")
        if part.get("detail") is not None:
            policy.drop(f"{path}.detail", "file detail is Responses-only")
        if "file_data" not in file and "file_id" not in file:
            return None
        return _with_breakpoint({"type": "file", "file": file}, part)
    policy.drop(f"{path}.type", f"content part type {kind!r} has no Chat equivalent")
    return None


def _input_content_to_chat(
    content: Any, path: str, policy: Policy, *, text_only: bool
) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts = expect_list(content, path)
    out = [_input_part_to_chat(p, f"{path}[{i}]", policy, text_only=text_only) for i, p in enumerate(parts)]
    return [p for p in out if p is not None]


@dataclass(slots=True)
class _ItemReader:
    """State of one Responses -> Chat pass: the assistant message that calls and text merge into.

    With a ``profile`` (a Chat-only upstream) the messages are also shaped for it: roles, string
    content, one leading system message, and tool identities flattened to the Chat names of ``names``
    (custom tool calls become function calls whose arguments are ``{"input": ...}``).
    """

    policy: Policy
    reasoning_field: str | None
    messages: list[dict[str, Any]] = field(default_factory=list)
    assistant: dict[str, Any] | None = None
    #: reasoning texts (and their item paths) waiting for the assistant message they precede
    reasoning: list[str] = field(default_factory=list)
    reasoning_paths: list[str] = field(default_factory=list)
    profile: UpstreamProfile | None = None
    names: ToolNames | None = None

    def item(self, item: Any, path: str) -> None:
        item = expect_dict(item, path)
        kind = item.get("type", "message" if "role" in item else None)
        if kind is not None:
            expect_str(kind, f"{path}.type")
        handler = _ITEM_HANDLERS.get(kind or "")
        if handler is None and self.names is not None:
            handler = _UPSTREAM_ITEM_HANDLERS.get(kind or "")
        if handler is not None:
            handler(self, item, path)
        elif kind in _SERVER_ITEMS:
            self.policy.drop(f"{path}.type", f"{kind!r} items have no Chat equivalent")
        else:
            raise ConversionError(f"unknown input item type {kind!r}", path=f"{path}.type")

    def finish(self) -> list[dict[str, Any]]:
        """The messages, once every item was read."""
        self._close_assistant()
        if self.profile is None:
            return self.messages
        for message in self.messages:
            if message["role"] != "assistant":
                continue
            if message["content"] is None and "tool_calls" not in message:
                message["content"] = ""  # an assistant message needs content or tool calls
            if self.profile.reasoning_required and self.reasoning_field:
                # DeepSeek thinking mode: a tool-call turn without the field is a 400; "" is accepted.
                message.setdefault(self.reasoning_field, "")
        return self.messages

    def _open_assistant(self) -> dict[str, Any]:
        if self.assistant is None:
            self.assistant = {"role": "assistant", "content": None}
            self.messages.append(self.assistant)
        if self.reasoning:
            if self.reasoning_field is not None:
                previous = self.assistant.get(self.reasoning_field)
                self.assistant[self.reasoning_field] = "\n\n".join(
                    ([previous] if previous else []) + self.reasoning
                )
            elif self.profile is not None:
                for rpath in self.reasoning_paths:
                    self.policy.drop(rpath, "reasoning is not replayed: this upstream takes none")
        self.reasoning = []
        self.reasoning_paths = []
        return self.assistant

    def _close_assistant(self) -> None:
        """End the assistant run; reasoning still waiting precedes no assistant message: dropped."""
        for rpath in self.reasoning_paths:
            self.policy.drop(rpath, "reasoning not followed by an assistant message or tool call")
        self.reasoning = []
        self.reasoning_paths = []
        self.assistant = None

    def _message(self, item: dict[str, Any], path: str) -> None:
        role = item.get("role")
        if role == "assistant":
            self._assistant_message(item, path)
            return
        if role not in _SIMPLE_ROLES:
            raise ConversionError(f"unknown message role {role!r}", path=f"{path}.role")
        self._close_assistant()
        content = _input_content_to_chat(
            item.get("content"), f"{path}.content", self.policy, text_only=role != "user"
        )
        if self.profile is not None:
            self._upstream_message(self.profile, role, content, path)
        else:
            self.messages.append({"role": role, "content": content})

    def _upstream_message(
        self, profile: UpstreamProfile, role: str, content: str | list[dict[str, Any]], path: str
    ) -> None:
        """Append a system/developer/user message shaped for the upstream's ``profile``."""
        if profile.string_content:
            content = self._as_string(content, f"{path}.content")
        if role == "developer" and not profile.developer_role:
            role = "system"
        if role in ("system", "developer") and profile.leading_system_only and self.messages:
            if all(m["role"] in ("system", "developer") for m in self.messages):
                first = self.messages[0]
                first["content"] = _joined_content(first["content"], content)
                return
            self.policy.drop(
                f"{path}.role",
                f"{role!r} sent as 'user': this upstream takes system messages only at the start",
            )
            role = "user"
        self.messages.append({"role": role, "content": content})

    def _as_string(self, content: str | list[dict[str, Any]], path: str) -> str | list[dict[str, Any]]:
        """Text-only content as one string (images and files keep the list)."""
        if isinstance(content, str) or any(part["type"] != "text" for part in content):
            return content
        if any("prompt_cache_breakpoint" in part for part in content):
            self.policy.drop(path, "prompt_cache_breakpoint needs content parts; sent as a string")
        return SEPARATOR.join(part["text"] for part in content)

    def _assistant_message(self, item: dict[str, Any], path: str) -> None:
        content = item.get("content")
        texts: list[str] = []
        refusals: list[str] = []
        if isinstance(content, str):
            texts.append(content)
        else:
            for i, part in enumerate(expect_list(content, f"{path}.content")):
                p = expect_dict(part, f"{path}.content[{i}]")
                kind = p.get("type")
                if kind in ("output_text", "input_text"):
                    texts.append(expect_str(p.get("text"), f"{path}.content[{i}].text"))
                elif kind == "refusal":
                    refusals.append(expect_str(p.get("refusal"), f"{path}.content[{i}].refusal"))
                else:
                    self.policy.drop(
                        f"{path}.content[{i}].type", f"assistant part {kind!r} has no Chat equivalent"
                    )
        message = self._open_assistant()
        texts = [t for t in texts if t] or texts[:1]
        if texts:
            text = SEPARATOR.join(texts)
            message["content"] = (
                text if message["content"] is None else f"{message['content']}{SEPARATOR}{text}"
            )
        if refusals and self.profile is not None:
            # ``refusal`` is OpenAI's field (strict servers reject it): the text goes in the content
            self.policy.drop(f"{path}.content", "a refusal is sent as assistant text")
            joined = SEPARATOR.join(refusals)
            message["content"] = (
                joined if not message["content"] else f"{message['content']}{SEPARATOR}{joined}"
            )
        elif refusals:
            joined = "".join(refusals)
            message["refusal"] = joined if message.get("refusal") is None else message["refusal"] + joined

    def _call(self, item: dict[str, Any], path: str) -> None:
        call_id = expect_str(item.get("call_id"), f"{path}.call_id")
        name = expect_str(item.get("name"), f"{path}.name")
        namespace = item.get("namespace")
        if namespace is not None:
            namespace = expect_str(namespace, f"{path}.namespace")
        custom = item.get("type") == "custom_tool_call"
        if custom:
            text = expect_str(item.get("input", ""), f"{path}.input")
        else:
            text = expect_str(item.get("arguments", ""), f"{path}.arguments") or "{}"
        if self.names is not None:
            # a Chat-only upstream: custom and namespaced tools are functions named by ``names``
            identity = ToolIdentity("custom" if custom else "function", name, namespace)
            arguments = orjson.dumps({CUSTOM_INPUT: text}).decode() if custom else text
            call = _function_call(call_id, self.names.chat_name(identity), arguments)
        else:
            if namespace is not None:
                self.policy.drop(f"{path}.namespace", "Chat tool calls have no namespace")
            if custom:
                call = {"id": call_id, "type": "custom", "custom": {"name": name, "input": text}}
            else:
                call = _function_call(call_id, name, text)
        self._open_assistant().setdefault("tool_calls", []).append(call)

    def _output(self, item: dict[str, Any], path: str) -> None:
        self._close_assistant()
        call_id = item.get("call_id")
        if call_id is None:
            raise ConversionError(
                "a tool output without call_id cannot be paired in Chat", path=f"{path}.call_id"
            )
        output = item.get("output")
        content = _input_content_to_chat(output, f"{path}.output", self.policy, text_only=True)
        self._tool_message(expect_str(call_id, f"{path}.call_id"), content, f"{path}.output")

    def _tool_message(self, call_id: str, content: str | list[dict[str, Any]], path: str) -> None:
        if self.profile is not None and self.profile.string_content:
            content = self._as_string(content, path)
        self.messages.append({"role": "tool", "tool_call_id": call_id, "content": content})

    def _reasoning(self, item: dict[str, Any], path: str) -> None:
        summary = expect_list(item.get("summary") or [], f"{path}.summary")
        parts = [("summary", i, s) for i, s in enumerate(summary)]
        parts += [
            ("content", i, c) for i, c in enumerate(expect_list(item.get("content") or [], f"{path}.content"))
        ]
        texts = [
            expect_str(expect_dict(part, f"{path}.{where}[{i}]").get("text"), f"{path}.{where}[{i}].text")
            for where, i, part in parts
        ]
        text = SEPARATOR.join(t for t in texts if t)
        if text and (self.reasoning_field is not None or self.profile is not None):
            # (without a profile, reasoning_field=None means the caller opted out of reasoning)
            self.reasoning.append(text)
            self.reasoning_paths.append(path)
            if self.assistant is not None:
                self._open_assistant()

    # -- items a Chat-only upstream gets as function calls (only with ``names``)

    def _is_client_search(self, item: dict[str, Any], path: str) -> bool:
        execution = item.get("execution")
        if execution == "client" or (execution is None and item.get("call_id") is not None):
            return True
        self.policy.drop(f"{path}.type", "a server-side tool search has no Chat equivalent")
        return False

    def _tool_search_call(self, item: dict[str, Any], path: str) -> None:
        if not self._is_client_search(item, path):
            return
        assert self.names is not None
        call_id = expect_str(item.get("call_id"), f"{path}.call_id")
        arguments = item.get("arguments")
        text = arguments if isinstance(arguments, str) else orjson.dumps(arguments or {}).decode()
        call = _function_call(call_id, self.names.chat_name(ToolIdentity("tool_search")), text)
        self._open_assistant().setdefault("tool_calls", []).append(call)

    def _tool_search_output(self, item: dict[str, Any], path: str) -> None:
        if not self._is_client_search(item, path):
            return
        assert self.names is not None
        self._close_assistant()
        call_id = expect_str(item.get("call_id"), f"{path}.call_id")
        # the loaded tools themselves are declared in the request's ``tools`` (translator.convert.tools)
        loaded = [self.names.chat_name(identity) for identity in loaded_identities(item.get("tools"))]
        self._tool_message(call_id, orjson.dumps({"loaded_tools": loaded}).decode(), path)

    def _additional_tools(self, item: dict[str, Any], path: str) -> None:
        """Its tools are declared in the request's ``tools`` (translator.convert.tools); no message."""


def _function_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _joined_content(
    first: str | list[dict[str, Any]], second: str | list[dict[str, Any]]
) -> str | list[dict[str, Any]]:
    """Two system messages' content as one (strings joined by a blank line, else part lists)."""
    if isinstance(first, str) and isinstance(second, str):
        return f"{first}\n\n{second}" if first and second else first or second

    def parts(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"type": "text", "text": content}] if isinstance(content, str) else content

    return parts(first) + parts(second)


_ITEM_HANDLERS = {
    "message": _ItemReader._message,
    "function_call": _ItemReader._call,
    "custom_tool_call": _ItemReader._call,
    "function_call_output": _ItemReader._output,
    "custom_tool_call_output": _ItemReader._output,
    "reasoning": _ItemReader._reasoning,
}

#: Items that have a Chat form only for a Chat-only upstream, whose tools are named by ``ToolNames``.
_UPSTREAM_ITEM_HANDLERS = {
    "tool_search_call": _ItemReader._tool_search_call,
    "tool_search_output": _ItemReader._tool_search_output,
    "additional_tools": _ItemReader._additional_tools,
}


def input_to_messages(
    input: str | Sequence[Any],
    *,
    instructions: str | None = None,
    lenient: bool = False,
    reasoning_field: str | None = "reasoning_content",
    path: str = "input",
    profile: UpstreamProfile | None = None,
    tool_names: ToolNames | None = None,
    dropped: list[Dropped] | None = None,
    check_pairing: bool = True,
    problems: list[ConversionError] | None = None,
) -> list[dict[str, Any]]:
    """Responses ``input`` (a string or items) -> Chat ``messages`` (``docs/mapping.md`` §2a, §2b).

    Args:
        input: the ``input`` of a Responses request, or a stored list of items (dicts, or the SDK's
            objects such as a ``Response.output``).
        instructions: becomes a leading ``system`` message (the openai-agents convention).
        lenient: drop items and parts with no Chat equivalent (hosted tool calls, ``item_reference``,
            images by ``file_id``, ...) with a :class:`DroppedParameterWarning` instead of raising.
        reasoning_field: the assistant-message field that receives reasoning text (summary, else
            raw reasoning text), or ``None`` to drop reasoning.
        path: the name of the list in error paths.
        profile: shape the messages for this Chat-only upstream (its ``reasoning_field`` replaces
            the argument): ``developer`` as ``system``, string content, one leading system
            message, ``reasoning_required``; custom, namespaced and tool-search calls become
            function calls named by ``tool_names``.
        tool_names: the Chat names of the request's tools
            (:class:`~translator.protocol.tool_names.ToolNames`), so that history calls match the
            declared tools; a fresh one when ``None``.
        dropped: with ``lenient``, append a :class:`~translator.convert.drop_policy.Dropped` per dropped value
            here instead of warning.
        check_pairing: report function/custom tool calls without an output and outputs without a call.
        problems: strict mode: append the problems here instead of raising (the caller raises).

    Raises:
        ConversionError: malformed input, or (strict) every problem found, in ``error.problems``.
    """
    messages: list[dict[str, Any]] = []
    if instructions is not None:
        messages.append({"role": "system", "content": expect_str(instructions, "instructions")})
    if isinstance(input, str):
        return [*messages, {"role": "user", "content": input}]
    own = problems is None and not lenient
    collected: list[ConversionError] | None = [] if own else problems
    reader = _ItemReader(Policy(lenient, dropped, collected), reasoning_field, messages)
    if profile is not None:
        reader.profile = profile
        reader.reasoning_field = profile.reasoning_field
        reader.names = ToolNames() if tool_names is None else tool_names
    with problems_raised(collected if own else None):
        plain = _plain(input, path)
        for i, item in enumerate(plain):
            reader.item(item, f"{path}[{i}]")
        if check_pairing:
            _check_item_pairing(plain, path, reader.policy)
        result = reader.finish()
    return result


_CALL_ITEMS = frozenset({"function_call", "custom_tool_call"})
_OUTPUT_ITEMS = frozenset({"function_call_output", "custom_tool_call_output"})


def _check_item_pairing(items: list[Any], path: str, policy: Policy) -> None:
    """Every function/custom tool call answered by a later output, every output answering one call."""
    pairing = _Pairing(policy, "call")
    for i, item in enumerate(items):
        kind = item.get("type")
        if kind in _CALL_ITEMS:
            pairing.call(item["call_id"], f"{path}[{i}].call_id")
        elif kind in _OUTPUT_ITEMS:
            pairing.answer(item["call_id"], f"{path}[{i}].call_id", "call_id")
    pairing.finish("has no output (no later output item has this call_id)")
