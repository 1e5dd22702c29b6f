"""Non-streaming results: ``ChatCompletion`` <-> ``Response`` (``docs/mapping.md`` §3).

Theory of operation
-------------------
Chat -> Responses: one ``choices[k]`` becomes the ``output`` list, in the order openai-agents uses:
a ``reasoning`` item (third-party ``reasoning_content`` / ``reasoning`` fields), then one assistant
``message`` item (``output_text`` with annotations and logprobs, then ``refusal``), then one
``function_call`` / ``custom_tool_call`` item per tool call.  ``finish_reason`` becomes ``status``
and ``incomplete_details``; the request, when given, is echoed into the Response like the API does.

Responses -> Chat: the non-empty ``output_text`` parts of every message item are joined with
``separator`` (``"\\n"``, as the stream translator and openai-agents do) into ``message.content``,
url citations are shifted to the joined offsets, call items become ``tool_calls``, reasoning text lands in one
non-standard field (``reasoning_content`` by default).  Hosted-tool items are dropped; the text and
annotations they produced are kept.  A Response that did not finish (``failed``, ``cancelled``,
``queued``, ``in_progress``) has no Chat form and raises :class:`ConversionError`.

Ids are synthesized (``resp_``/``msg_``/``fc_``/``rs_``, ``chatcmpl-``); ``call_id`` <-> tool call
``id`` is the only id that survives both ways.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..errors import ConversionError
from ..ids import Clock, IdSource, random_id, system_clock
from ..protocol.mapping import (
    abnormal_finish_error,
    chat_annotation_to_responses,
    chat_logprob_to_responses,
    chat_usage_to_responses,
    finish_outcome,
    finish_reason_for_response,
    response_shell,
    responses_logprob_to_chat,
    responses_usage_to_chat,
)
from .drop_policy import DroppedParameterWarning, Policy
from .requests import chat_request_to_responses
from .transcripts import expect_dict, expect_list, expect_str

__all__ = [
    "SEPARATOR",
    "SERVICE_TIERS",
    "chat_completion_to_response",
    "response_to_chat_completion",
]

#: The ``service_tier`` values a Response accepts (Groq sends ``on_demand``, Snowflake ``""``).
SERVICE_TIERS = frozenset({"auto", "default", "flex", "scale", "priority", "fast", "ultrafast"})

#: Joins text segments (message items, parts, reasoning parts) merged into one Chat field; the same
#: default as ``ResponsesToChat(separator=...)`` and openai-agents.
SEPARATOR = "\n"


def as_object(value: Any, what: str) -> dict[str, Any]:
    """A dict, or an SDK (pydantic) object dumped to one; error bodies raise a clear error."""
    if not isinstance(value, dict):
        to_dict = getattr(value, "to_dict", None)
        if not callable(to_dict):
            raise ConversionError(f"expected a {what} dict or SDK object, got {type(value).__name__}")
        value = to_dict()
    obj = expect_dict(value, what)
    if obj.get("error") is not None and "choices" not in obj and "output" not in obj:
        error = obj["error"]
        message = error.get("message") if isinstance(error, dict) else error
        raise ConversionError(f"this is an API error body, not a {what}: {message}", path="error")
    return obj


def _present(value: Any) -> bool:
    """Snowflake Cortex fills absent fields with empty shells (``function_call: {"name": ""}``,
    ``audio: {"id": ""}``): C:``chat_json/snowflake__cortex_tool_call_empty_finish_reason.json``."""
    if isinstance(value, dict):
        return any(_present(v) for v in value.values())
    return value not in (None, "", 0, [])


# --------------------------------------------------------------------------- Chat -> Responses


def _pick_choice(completion: dict[str, Any], choice: int | None) -> tuple[dict[str, Any], str]:
    choices = expect_list(completion.get("choices"), "choices")
    if choice is None:
        if len(choices) != 1:
            raise ConversionError(
                f"the completion has {len(choices)} choices and a Response holds one: pass choice=<index>",
                path="choices",
            )
        return expect_dict(choices[0], "choices[0]"), "choices[0]"
    for i, candidate in enumerate(choices):
        if isinstance(candidate, dict) and candidate.get("index", i) == choice:
            return candidate, f"choices[{i}]"
    raise ConversionError(f"no choice with index {choice}", path="choices")


def _reasoning_item(
    message: dict[str, Any], thinking: list[str], ids: IdSource, path: str
) -> list[dict[str, Any]]:
    summary = message.get("reasoning_content")
    raw = message.get("reasoning")
    texts = ([expect_str(raw, f"{path}.reasoning")] if raw else []) + thinking
    secrets: list[str] = []
    details = message.get("reasoning_details")
    if details:  # OpenRouter: as the stream translator reads them (text only when no plain field has it)
        plain = bool(summary or raw)
        for n, detail in enumerate(expect_list(details, f"{path}.reasoning_details")):
            if not isinstance(detail, dict):
                continue
            kind = detail.get("type")
            if kind == "reasoning.text" and not plain and detail.get("text"):
                texts.append(expect_str(detail["text"], f"{path}.reasoning_details[{n}].text"))
            elif kind == "reasoning.summary" and not plain and detail.get("summary"):
                summary = expect_str(detail["summary"], f"{path}.reasoning_details[{n}].summary")
            secret = detail.get("data") if kind == "reasoning.encrypted" else detail.get("signature")
            if secret and isinstance(secret, str):
                secrets.append(secret)
    if not summary and not texts and not secrets:
        return []
    item: dict[str, Any] = {"id": ids("rs"), "type": "reasoning", "summary": []}
    if summary:
        item["summary"] = [{"type": "summary_text", "text": expect_str(summary, f"{path}.reasoning_content")}]
    if texts:
        item["content"] = [{"type": "reasoning_text", "text": t} for t in texts]
    if secrets:
        item["encrypted_content"] = "".join(secrets)
    return [item]


def _split_content(content: Any, path: str) -> tuple[str | None, list[str]]:
    """``message.content`` as (text, Mistral ``thinking`` texts); content arrays are joined."""
    if content is None or isinstance(content, str):
        return content, []
    texts: list[str] = []
    thinking: list[str] = []
    for i, part in enumerate(expect_list(content, path)):
        part = expect_dict(part, f"{path}[{i}]")
        if part.get("type") == "thinking":
            thinking += [
                expect_dict(t, f"{path}[{i}].thinking").get("text", "") for t in part.get("thinking") or []
            ]
        elif part.get("type") == "text":
            texts.append(expect_str(part.get("text"), f"{path}[{i}].text"))
    return "".join(texts), thinking


def _message_item(
    message: dict[str, Any], text: str | None, choice: dict[str, Any], status: str, ids: IdSource, path: str
) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if text is not None:
        annotations = [
            chat_annotation_to_responses(a, f"{path}.annotations[{i}]")
            for i, a in enumerate(expect_list(message.get("annotations") or [], f"{path}.annotations"))
        ]
        logprobs = choice.get("logprobs")
        logprobs = _listed(logprobs.get("content") if isinstance(logprobs, dict) else None)
        parts.append(
            {
                "type": "output_text",
                "annotations": [a for a in annotations if a is not None],
                "logprobs": [chat_logprob_to_responses(entry) for entry in logprobs],
                "text": text,
            }
        )
    if message.get("refusal"):
        parts.append({"type": "refusal", "refusal": expect_str(message["refusal"], f"{path}.refusal")})
    return {"id": ids("msg"), "type": "message", "status": status, "content": parts, "role": "assistant"}


def _call_items(message: dict[str, Any], ids: IdSource, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for i, call in enumerate(expect_list(message.get("tool_calls") or [], f"{path}.tool_calls")):
        cpath = f"{path}.tool_calls[{i}]"
        call = expect_dict(call, cpath)
        call_id = expect_str(call.get("id"), f"{cpath}.id") or ids("call")  # Gemini sends "": as streams do
        if call.get("type") == "custom":
            custom = expect_dict(call.get("custom"), f"{cpath}.custom")
            items.append(
                {
                    "id": ids("ctc"),
                    "type": "custom_tool_call",
                    "status": "completed",
                    "call_id": call_id,
                    "input": custom.get("input", ""),
                    "name": expect_str(custom.get("name"), f"{cpath}.custom.name"),
                }
            )
            continue
        fn = expect_dict(call.get("function"), f"{cpath}.function")
        items.append(
            {
                "id": ids("fc"),
                "type": "function_call",
                "status": "completed",
                "arguments": fn.get("arguments") or "",
                "call_id": call_id,
                "name": expect_str(fn.get("name"), f"{cpath}.function.name"),
            }
        )
    legacy = message.get("function_call")
    if _present(legacy):
        fn = expect_dict(legacy, f"{path}.function_call")
        items.append(
            {
                "id": ids("fc"),
                "type": "function_call",
                "status": "completed",
                "arguments": fn.get("arguments") or "",
                "call_id": ids("call"),
                "name": expect_str(fn.get("name"), f"{path}.function_call.name"),
            }
        )
    return items


def _echo_params(request: dict[str, Any] | None) -> dict[str, Any]:
    if request is None:
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedParameterWarning)  # echoing is best effort
        return chat_request_to_responses(request, lenient=True, hoist_instructions=True)


def chat_completion_to_response(
    completion: Any,
    *,
    request: dict[str, Any] | None = None,
    choice: int | None = None,
    lenient: bool = False,
    ids: IdSource = random_id,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """``ChatCompletion`` (dict or SDK object) -> ``Response`` dict.

    Args:
        completion: the Chat Completions result.
        request: the Chat request that produced it; its settings are echoed into the Response
            (instructions, tools, tool_choice, temperature, ...), as the Responses API does.
        choice: which ``choices[].index`` to convert; required when there are several (``n > 1``).
        lenient: drop ``message.audio`` with a warning instead of raising.
        ids: id source for ``resp_``/``msg_``/``fc_``/``rs_`` ids.
        clock: gives ``created_at`` when the completion has no ``created``.

    Raises:
        ConversionError: an error body, several choices without ``choice=``, or malformed input.
        UnsupportedParameterError: audio output, unless ``lenient``.
    """
    completion = as_object(completion, "ChatCompletion")
    picked, path = _pick_choice(completion, choice)
    message = expect_dict(picked.get("message"), f"{path}.message")
    mpath = f"{path}.message"
    if _present(message.get("audio")):
        Policy(lenient).drop(f"{mpath}.audio", "audio output has no Responses equivalent")
    finish_reason = picked.get("finish_reason") or None
    if finish_reason is not None and not isinstance(finish_reason, str):
        raise ConversionError("expected a string", path=f"{path}.finish_reason")
    # as the stream translator ends it (mapping.finish_outcome): abnormal reasons fail the response
    status, detail = finish_outcome(finish_reason or "stop")
    incomplete_reason = detail if status == "incomplete" else None
    item_status = "completed" if status == "completed" else "incomplete"

    text, thinking = _split_content(message.get("content"), f"{mpath}.content")
    output = _reasoning_item(message, thinking, ids, mpath)
    calls = _call_items(message, ids, mpath)
    if text or message.get("refusal") or (text is not None and not calls):
        output.append(_message_item(message, text, picked, item_status, ids, mpath))
    output += calls

    params = _echo_params(request)
    shell = response_shell(
        response_id=ids("resp"),
        created_at=_created(completion.get("created"), clock),
        model=str(completion.get("model", "")),
        status=status,
        params=params,
    )
    response: dict[str, Any] = {}
    for key, value in shell.items():
        response[key] = value
        if key == "created_at" and status == "completed":
            # Chat says only when the completion was created; it was complete by the time it was stored
            response["completed_at"] = value
    if incomplete_reason:
        response["incomplete_details"] = {"reason": incomplete_reason}
    elif status == "failed":
        response["error"] = abnormal_finish_error(finish_reason or "", detail)
    response["output"] = output
    if completion.get("service_tier") in SERVICE_TIERS:
        response["service_tier"] = completion["service_tier"]
    if isinstance(completion.get("usage"), dict):
        response["usage"] = chat_usage_to_responses(completion["usage"])
    return response


# --------------------------------------------------------------------------- Responses -> Chat


def _shifted(annotation: dict[str, Any], offset: int) -> dict[str, Any] | None:
    """A flat Responses ``url_citation`` as a nested Chat one, its offsets moved by ``offset``."""
    if annotation.get("type") != "url_citation":
        return None  # file_citation, container_file_citation, file_path: no Chat equivalent
    return {
        "type": "url_citation",
        "url_citation": {
            "start_index": annotation.get("start_index", 0) + offset,
            "end_index": annotation.get("end_index", 0) + offset,
            "title": annotation.get("title", ""),
            "url": annotation.get("url", ""),
        },
    }


class _ChatMessageBuilder:
    """Collects the output items of one Response into one Chat message.

    Every non-empty text part (and refusal, and reasoning part) is a *segment*; segments of one field
    are joined with ``separator``, as :class:`~translator.streams.responses_to_chat.ResponsesToChat` joins
    them in a stream, so both paths give the same message.
    """

    def __init__(self, separator: str, custom_tool_calls: str = "function") -> None:
        self.separator = separator
        self.custom_tool_calls = custom_tool_calls
        self.texts: list[str] = []
        self.length = 0
        self.refusals: list[str] = []
        self.annotations: list[dict[str, Any]] = []
        self.logprobs: list[dict[str, Any]] = []
        self.tool_calls: list[dict[str, Any]] = []
        self.reasoning: list[str] = []

    def add(self, item: dict[str, Any], path: str) -> None:
        kind = item.get("type")
        if kind == "message":
            for i, part in enumerate(expect_list(item.get("content") or [], f"{path}.content")):
                self._part(expect_dict(part, f"{path}.content[{i}]"), f"{path}.content[{i}]")
        elif kind == "function_call":
            self.tool_calls.append(
                {
                    "id": expect_str(item.get("call_id"), f"{path}.call_id"),
                    "type": "function",
                    "function": {
                        "name": expect_str(item.get("name"), f"{path}.name"),
                        "arguments": item.get("arguments", ""),
                    },
                }
            )
        elif kind == "custom_tool_call":
            call_id = expect_str(item.get("call_id"), f"{path}.call_id")
            name = expect_str(item.get("name"), f"{path}.name")
            if self.custom_tool_calls == "custom":
                custom = {"name": name, "input": item.get("input", "")}
                self.tool_calls.append({"id": call_id, "type": "custom", "custom": custom})
            else:  # the form ResponsesToChat streams by default: a function call holding the raw input
                function = {"name": name, "arguments": item.get("input", "")}
                self.tool_calls.append({"id": call_id, "type": "function", "function": function})
        elif kind == "reasoning":
            parts = [*_listed(item.get("summary")), *_listed(item.get("content"))]
            self.reasoning += [p["text"] for p in parts if isinstance(p, dict) and p.get("text")]
        # hosted-tool items (web_search_call, file_search_call, mcp_call...) have no Chat form: dropped

    def _part(self, part: dict[str, Any], path: str) -> None:
        if part.get("type") == "output_text":
            text = expect_str(part.get("text"), f"{path}.text")
            self.logprobs += [responses_logprob_to_chat(entry) for entry in part.get("logprobs") or []]
            if not text:
                return
            if self.texts:
                self.length += len(self.separator)
            for annotation in part.get("annotations") or []:
                shifted = _shifted(annotation, self.length)
                if shifted is not None:
                    self.annotations.append(shifted)
            self.texts.append(text)
            self.length += len(text)
        elif part.get("type") == "refusal":
            refusal = expect_str(part.get("refusal"), f"{path}.refusal")
            if refusal:
                self.refusals.append(refusal)

    def message(self, reasoning_field: str | None) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": self.separator.join(self.texts) if self.texts else None,
            "refusal": self.separator.join(self.refusals) if self.refusals else None,
            "annotations": self.annotations,
        }
        if self.tool_calls:
            message["tool_calls"] = self.tool_calls
        if reasoning_field is not None and self.reasoning:
            message[reasoning_field] = self.separator.join(self.reasoning)
        return message


def response_to_chat_completion(
    response: Any,
    *,
    reasoning_field: str | None = "reasoning_content",
    separator: str = SEPARATOR,
    custom_tool_calls: str = "function",
    ids: IdSource = random_id,
) -> dict[str, Any]:
    """``Response`` (dict or SDK object) -> ``ChatCompletion`` dict with one choice.

    Args:
        response: a finished Responses result (``completed`` or ``incomplete``).
        reasoning_field: the message field that receives reasoning text (``None`` drops it).
        separator: joins the text parts of several message items (commentary + final answer),
            and likewise refusals and reasoning parts, into one Chat field.
        custom_tool_calls: a ``custom_tool_call`` becomes a function tool call whose ``arguments``
            hold the raw input (``"function"``, the default, as ``ResponsesToChat`` streams it, so a
            client sees the same call streamed or not, and the SDK's ``parse()`` keeps it), or the
            Chat API's own ``{type: "custom", custom: {name, input}}`` (``"custom"``).
        ids: id source for the ``chatcmpl-`` id.

    Raises:
        ConversionError: an error body, a response that did not finish, or malformed input.
    """
    response = as_object(response, "Response")
    status = response.get("status")
    if status not in ("completed", "incomplete", None):
        error = response.get("error") or {}
        detail = f": {error.get('message')}" if isinstance(error, dict) and error.get("message") else ""
        reason = f"a response with status {status!r} has no Chat Completions form{detail}"
        raise ConversionError(reason, path="status")
    if custom_tool_calls not in ("function", "custom"):
        raise ValueError(f"custom_tool_calls must be 'function' or 'custom', got {custom_tool_calls!r}")
    builder = _ChatMessageBuilder(separator, custom_tool_calls)
    for i, item in enumerate(expect_list(response.get("output"), "output")):
        builder.add(expect_dict(item, f"output[{i}]"), f"output[{i}]")
    choice: dict[str, Any] = {
        "index": 0,
        "message": builder.message(reasoning_field),
        "logprobs": {"content": builder.logprobs, "refusal": None} if builder.logprobs else None,
        "finish_reason": finish_reason_for_response(response),
    }
    completion: dict[str, Any] = {
        "id": ids("chatcmpl"),
        "object": "chat.completion",
        "created": int(response.get("created_at") or 0),
        "model": response.get("model", ""),
        "choices": [choice],
    }
    if isinstance(response.get("usage"), dict):
        completion["usage"] = responses_usage_to_chat(response["usage"])
    if response.get("service_tier") is not None:
        completion["service_tier"] = response["service_tier"]
    return completion


def _listed(value: Any) -> list[Any]:
    """``value`` when it is a list, else nothing (a tolerant read of optional parts)."""
    return value if isinstance(value, list) else []


def _created(value: Any, clock: Clock) -> int:
    """A completion's ``created`` (seconds), or now when it has none that is a number."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value:
        return int(value)
    return int(clock())
