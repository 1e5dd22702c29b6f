"""A request's ``input`` as the API stores and lists it: ``ResponseItem`` dicts, each with an id.

``GET /v1/responses/{id}/input_items`` does not echo the input as sent.  A string input is one user
``message`` with an ``input_text`` part; an EasyInputMessage's string content becomes one text part
(``input_text``, or ``output_text`` with ``annotations: []`` for the assistant, whose message takes the
``ResponseOutputMessage`` shape); every item gets an id when it has none (``msg_``, ``fc_``, ``fco_``,
``rs_``...), and items whose stored shape carries a ``status`` get ``"completed"`` when they have none.
Everything else (content parts, call ids, encrypted reasoning) is kept as sent.

``item_reference`` items pass through unchanged: resolving one to the item it names is the caller's
job, before storing.
"""

from __future__ import annotations

from typing import Any

from ...errors import ConversionError
from ...ids import IdSource, random_id

__all__ = ["stored_input_items"]

#: Id prefix of a synthesized item id, by item type (OpenAI's where known; ``item`` otherwise).
_ID_PREFIX: dict[str, str] = {
    "message": "msg",
    "function_call": "fc",
    "function_call_output": "fco",
    "custom_tool_call": "ctc",
    "custom_tool_call_output": "ctco",
    "reasoning": "rs",
    "web_search_call": "ws",
    "file_search_call": "fs",
    "computer_call": "cu",
    "computer_call_output": "cuo",
    "image_generation_call": "ig",
    "code_interpreter_call": "ci",
    "local_shell_call": "lsh",
    "local_shell_call_output": "lsho",
    "shell_call": "sh",
    "shell_call_output": "sho",
    "apply_patch_call": "apc",
    "apply_patch_call_output": "apco",
    "mcp_call": "mcp",
    "mcp_list_tools": "mcpl",
    "mcp_approval_request": "mcpr",
    "mcp_approval_response": "mcpa",
}

#: Item types whose stored shape (the SDK's ``ResponseItem`` member) requires a ``status``.
_HAS_STATUS = frozenset(
    {
        "message",
        "function_call",
        "function_call_output",
        "custom_tool_call",
        "custom_tool_call_output",
        "web_search_call",
        "file_search_call",
        "computer_call",
        "computer_call_output",
        "image_generation_call",
        "code_interpreter_call",
        "local_shell_call",
        "shell_call",
        "shell_call_output",
        "apply_patch_call",
        "apply_patch_call_output",
        "tool_search_call",
        "tool_search_output",
        "program_output",
    }
)

_INPUT_ROLES = frozenset({"user", "system", "developer"})


def _text_part(text: str, role: str) -> dict[str, Any]:
    if role == "assistant":
        return {"type": "output_text", "text": text, "annotations": []}
    return {"type": "input_text", "text": text}


def _message_content(content: Any, role: str, path: str) -> list[Any]:
    if isinstance(content, str):
        return [_text_part(content, role)]
    if not isinstance(content, list):
        raise ConversionError("expected a string or a list of content parts", path=f"{path}.content")
    if role != "assistant":
        return content
    # an assistant output_text part as sent may omit annotations; the stored shape requires them
    return [
        {**part, "annotations": []}
        if isinstance(part, dict) and part.get("type") == "output_text" and "annotations" not in part
        else part
        for part in content
    ]


def _message(item: dict[str, Any], path: str) -> dict[str, Any]:
    role = item.get("role")
    if role != "assistant" and role not in _INPUT_ROLES:
        raise ConversionError(
            f"expected role user, system, developer or assistant, got {role!r}", path=f"{path}.role"
        )
    out = {key: value for key, value in item.items() if key not in ("type", "role", "content")}
    return {
        "type": "message",
        "role": role,
        "content": _message_content(item.get("content"), role, path),
        **out,
    }


def _item(item: Any, path: str, ids: IdSource) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ConversionError(f"expected an input item object, got {type(item).__name__}", path=path)
    kind = item.get("type", "message")
    if not isinstance(kind, str):
        raise ConversionError("expected a string", path=f"{path}.type")
    stored = _message(item, path) if kind == "message" else dict(item)
    if kind == "item_reference":
        return stored
    if not stored.get("id"):
        stored["id"] = ids(_ID_PREFIX.get(kind, "item"))
    if kind in _HAS_STATUS and not stored.get("status"):
        stored["status"] = "completed"
    return stored


def stored_input_items(request_input: Any, ids: IdSource = random_id) -> list[dict[str, Any]]:
    """The request's ``input`` (a string or a list of items) as the API stores and lists its items.

    Args:
        request_input: the ``input`` of a Responses create request.
        ids: id source for items sent without an id.

    Raises:
        ConversionError: an input that is neither a string nor a list, or an item that is not an
            object, naming its path (``input[2].role``).
    """
    if isinstance(request_input, str):
        return [_item({"role": "user", "content": request_input}, "input", ids)]
    if not isinstance(request_input, list):
        raise ConversionError("expected a string or a list of input items", path="input")
    return [_item(item, f"input[{n}]", ids) for n, item in enumerate(request_input)]
