"""Stored records: what one line of a transcript file holds, and how it converts.

A record is one of (``chat-to-responses`` shown; ``responses-to-chat`` is the mirror image, with
``input`` for ``messages``):

=============================================  ================================================
input record                                   output record
=============================================  ================================================
``[message, ...]`` (a bare conversation)        ``[item, ...]``
``{"model": ..., "messages": [...], ...}``      a Responses request (a record with ``model``)
``{"id": ..., "user_id": ..., "metadata": ...,  the same envelope, every other field kept as it
"messages": [...]}`` (an envelope)              is, ``messages`` replaced by ``input``
=============================================  ================================================

An object is a *request* when it has ``model`` (every key is then a request parameter, and a key
with no equivalent is a problem); otherwise it is an *envelope* around the conversation.  The
conversation sits under ``messages`` (Chat) or ``input`` (Responses), or under the key given as
``conversation_key``, which also makes the record an envelope whatever its other keys.  The
standard keys are renamed to the other protocol's (``messages`` <-> ``input``); any other key keeps
its name.  In ``responses-to-chat``, an envelope's ``instructions`` next to ``input`` become the
leading system message, as in a request.

A record of the other protocol (``input`` items given to ``chat-to-responses``, Chat tool messages
given to ``responses-to-chat``) is a :class:`~translator.errors.WrongProtocolError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from ..convert.requests import chat_request_to_responses, responses_request_to_chat
from ..convert.transcripts import input_to_messages, messages_to_input
from ..errors import ConversionError, WrongProtocolError
from ..ids import IdSource, random_id

__all__ = ["DIRECTIONS", "Direction", "conversation_protocol", "convert_record"]

Direction = Literal["chat-to-responses", "responses-to-chat"]
DIRECTIONS: tuple[Direction, ...] = ("chat-to-responses", "responses-to-chat")

_CHAT_ROLES_ONLY = frozenset({"tool", "function"})
_CHAT_KEYS_ONLY = ("tool_calls", "tool_call_id", "function_call")
_CHAT_PART_TYPES = frozenset({"text", "image_url", "input_audio", "file", "refusal", "thinking"})
_RESPONSES_PART_TYPES = frozenset({"input_text", "output_text", "input_image", "input_file", "summary_text"})
_RENAMED = {"messages": "input", "input": "messages"}


def _evidence(value: Any) -> tuple[str, str] | None:
    """(protocol, why) for one message or item that only one protocol has, else ``None``."""
    if not isinstance(value, dict):
        return None
    kind = value.get("type")
    if isinstance(kind, str):
        return "responses", f"it has type {kind!r}"
    if value.get("role") in _CHAT_ROLES_ONLY:
        return "chat", f"it has role {value['role']!r}"
    for key in _CHAT_KEYS_ONLY:
        if value.get(key) is not None:
            return "chat", f"it has {key!r}"
    content = value.get("content")
    if isinstance(content, list):
        for part in content:
            part_type = part.get("type") if isinstance(part, dict) else None
            if part_type in _RESPONSES_PART_TYPES:
                return "responses", f"a content part has type {part_type!r}"
            if part_type in _CHAT_PART_TYPES:
                return "chat", f"a content part has type {part_type!r}"
    return None


def conversation_protocol(values: Any) -> tuple[str, str] | None:
    """``("chat" | "responses", why)`` for a list of messages or items, ``None`` if it could be both.

    ``{"role": "user", "content": "hi"}`` is valid in both; a ``type`` on an entry, a ``tool`` role,
    ``tool_calls`` or a content part type belongs to one protocol only.
    """
    if not isinstance(values, list):
        return None
    for index, value in enumerate(values):
        found = _evidence(value)
        if found is not None:
            return found[0], f"entry {index}: {found[1]}"
    return None


def _wrong_way(found: str, why: str, direction: Direction, path: str | None) -> WrongProtocolError:
    name = "Chat Completions" if found == "chat" else "Responses"
    return WrongProtocolError(
        f"this looks like {name} data ({why}), but the direction is {direction}", found=found, path=path
    )


def _check_conversation(values: Any, direction: Direction, path: str) -> None:
    expected = "chat" if direction == "chat-to-responses" else "responses"
    found = conversation_protocol(values)
    if found is not None and found[0] != expected:
        raise _wrong_way(found[0], found[1], direction, path)


def convert_record(
    record: Any,
    direction: Direction,
    *,
    lenient: bool = False,
    ids: IdSource = random_id,
    conversation_key: str | None = None,
    reasoning_field: str | None = "reasoning_content",
) -> Any:
    """Convert one stored record (see the module docstring for the shapes).

    Args:
        record: a bare conversation (list), a request, or an envelope object.
        direction: ``"chat-to-responses"`` or ``"responses-to-chat"``.
        lenient: drop what has no equivalent (with warnings) instead of rejecting the record.
        ids: id source for synthesized ids (``rs_``, ``msg_``, legacy ``call_``).
        conversation_key: the envelope key holding the conversation; ``None`` detects
            ``messages`` / ``input`` and takes an object with ``model`` for a request.
        reasoning_field: ``responses-to-chat``: the assistant field that receives reasoning text
            (``None`` drops reasoning).

    Raises:
        WrongProtocolError: the record is of the other protocol.
        ConversionError: the record cannot be converted; ``error.problems`` lists every problem.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}")
    to_responses = direction == "chat-to-responses"
    standard = "messages" if to_responses else "input"

    def conversation(value: Any, path: str, instructions: Any = None) -> Any:
        _check_conversation(value, direction, path)
        if to_responses:
            return messages_to_input(value, lenient=lenient, ids=ids, path=path)
        return input_to_messages(
            value, instructions=instructions, lenient=lenient, reasoning_field=reasoning_field, path=path
        )

    if isinstance(record, list):
        return conversation(record, standard)
    if not isinstance(record, dict):
        raise ConversionError(
            f"expected a list of {'messages' if to_responses else 'input items'} or an object, "
            f"got {type(record).__name__}"
        )
    key = conversation_key
    if key is None:
        other = _RENAMED[standard]
        if standard not in record and other in record:
            found = "responses" if to_responses else "chat"
            raise _wrong_way(found, f"it has {other!r}, not {standard!r}", direction, None)
        if "model" in record:
            return _request(record, to_responses, standard, conversation, lenient, ids, reasoning_field)
        if standard not in record and not (not to_responses and "instructions" in record):
            raise ConversionError(f"expected a list or an object with {standard!r}")
        key = standard
    elif key not in record:
        raise ConversionError(f"the record has no {key!r} (the --conversation-key)", path=key)
    return _envelope(record, key, to_responses, conversation)


def _request(
    record: dict[str, Any],
    to_responses: bool,
    standard: str,
    conversation: Callable[..., Any],
    lenient: bool,
    ids: IdSource,
    reasoning_field: str | None,
) -> dict[str, Any]:
    if isinstance(record.get(standard), list):
        _check_conversation(record[standard], "chat-to-responses" if to_responses else "responses-to-chat",
                            f"request.{standard}")  # fmt: skip
    if to_responses:
        return chat_request_to_responses(record, lenient=lenient, ids=ids)
    return responses_request_to_chat(record, lenient=lenient, reasoning_field=reasoning_field)


def _envelope(
    record: dict[str, Any], key: str, to_responses: bool, conversation: Callable[..., Any]
) -> dict[str, Any]:
    """The record with its conversation converted in place and every other field kept."""
    takes_instructions = not to_responses and key == "input"
    converted = conversation(
        record.get(key, []), key, record.get("instructions") if takes_instructions else None
    )
    out_key = _RENAMED.get(key, key)
    if out_key != key and out_key in record:
        raise ConversionError(f"the record has both {key!r} and {out_key!r}", path=out_key)
    out: dict[str, Any] = {}
    placed = False
    for name, value in record.items():
        if name == key:
            out[out_key] = converted
            placed = True
        elif not (takes_instructions and name == "instructions"):
            out[name] = value
    if not placed:  # an envelope with instructions and no input
        out[out_key] = converted
    return out
