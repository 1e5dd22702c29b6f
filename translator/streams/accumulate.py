"""Accumulators: a Chat chunk stream -> one ``ChatCompletion``; a Responses event stream -> one ``Response``.

Theory of operation
-------------------
Both are sans-I/O :class:`~translator.engine.feed.FeedBase` objects: ``feed()`` takes a chunk/event as a
dict, an SDK object, ``DONE`` or any slice of SSE/JSONL bytes and returns ``[]`` (they emit nothing
while streaming); ``result()`` builds the object from everything fed so far and may be called at
any time (a snapshot).  ``accumulate_chat`` / ``accumulate_responses`` run a whole stream.

Chat: state is kept per ``choices[].index`` (indexes may arrive out of order or with gaps; the
result lists choices by index).  Text, refusal and reasoning deltas are collected as pieces and
joined once.  Tool calls are keyed by their delta ``index`` (which may start at 1 or skip numbers;
the result lists them by index): the first non-empty ``id``/``name`` wins and argument fragments
are appended.  Provider quirks handled by name: continuation deltas with ``id: ""`` or no id
(Mistral), a whole call in one chunk (Groq), a new call reusing an index with a new id, Mistral
``thinking`` content arrays (-> ``message.reasoning``), OpenRouter ``delta.annotations``, usage that
arrives on a later chunk or on every chunk (Perplexity; the last one wins), no ``finish_reason`` at
all (Snowflake: derived from the message).  A chunk carrying ``error`` raises :class:`StreamError`.

Responses: items are keyed by ``output_index`` (``item_id`` as a fallback, since GitHub Copilot
rotates item ids).  ``output_item.added`` opens an item, content/summary parts and deltas fill it,
every ``*.done`` event and ``output_item.done`` replace what they snapshot.  The terminal event
(``completed``/``incomplete``/``failed``) gives the response fields and usage; its ``output`` is
authoritative (it carries the final ``encrypted_content``), and the accumulated items are used
when it is empty or never came (a cut stream, or providers that send ``output: []``); among those, an
item whose ``output_item.done`` never came did not finish: its status is ``incomplete``.  An ``error``
event without ``response.failed`` marks the result ``failed``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..engine.feed import FeedBase
from ..engine.sse import Done
from ..errors import InvalidChunkError, StreamError

__all__ = [
    "ChatAccumulator",
    "ResponsesAccumulator",
    "accumulate_chat",
    "accumulate_responses",
]


# --------------------------------------------------------------------------- Chat


@dataclass(slots=True)
class _ToolCall:
    index: int
    id: str | None = None
    type: str = "function"
    name: str | None = None
    arguments: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        if self.type == "custom":
            custom = {"name": self.name or "", "input": "".join(self.arguments)}
            return {"id": self.id or "", "type": "custom", "custom": custom}
        function = {"name": self.name or "", "arguments": "".join(self.arguments)}
        return {"id": self.id or "", "type": "function", "function": function}


@dataclass(slots=True)
class _Choice:
    index: int
    role: str = "assistant"
    content: list[str] | None = None
    refusal: list[str] | None = None
    reasoning_content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: list[_ToolCall] = field(default_factory=list)
    call_by_index: dict[int, _ToolCall] = field(default_factory=dict)
    function_call: dict[str, list[str]] | None = None
    annotations: dict[int, dict[str, Any]] = field(default_factory=dict)
    logprobs: dict[str, list[Any]] | None = None
    finish_reason: str | None = None

    def message(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": self.role,
            "content": None if self.content is None else "".join(self.content),
            "refusal": None if self.refusal is None else "".join(self.refusal),
        }
        if self.annotations:
            message["annotations"] = [self.annotations[k] for k in sorted(self.annotations)]
        if self.calls:
            message["tool_calls"] = [call.to_dict() for call in sorted(self.calls, key=lambda c: c.index)]
        if self.function_call is not None:
            message["function_call"] = {k: "".join(v) for k, v in self.function_call.items()}
        if self.reasoning_content:
            message["reasoning_content"] = "".join(self.reasoning_content)
        if self.reasoning:
            message["reasoning"] = "".join(self.reasoning)
        return message

    def to_dict(self) -> dict[str, Any]:
        finish_reason = self.finish_reason
        if finish_reason is None:  # Snowflake Cortex never sends one: derive it from the message
            finish_reason = "tool_calls" if self.calls else "function_call" if self.function_call else "stop"
        logprobs = None if self.logprobs is None else dict(self.logprobs)
        return {
            "index": self.index,
            "message": self.message(),
            "logprobs": logprobs,
            "finish_reason": finish_reason,
        }


def _pieces(target: list[str] | None, value: Any) -> list[str] | None:
    """Append a string delta; a field stays ``None`` until a string (even ``""``) arrives for it."""
    if not isinstance(value, str):
        return target
    if target is None:
        return [value]
    target.append(value)
    return target


class ChatAccumulator(FeedBase):
    """Collect a Chat Completions chunk stream into one ``chat.completion`` dict (all choices)."""

    def __init__(self) -> None:
        super().__init__()
        self._top: dict[str, Any] = {}
        self._usage: dict[str, Any] | None = None
        self._choices: dict[int, _Choice] = {}

    # FeedBase hooks
    def _feed_payload(self, payload: dict[str, Any] | Done, index: int) -> list[dict[str, Any]]:
        if isinstance(payload, Done):
            return []
        error = payload.get("error")
        if error is not None:
            message = error.get("message") if isinstance(error, dict) else error
            raise StreamError(f"the stream reported an error: {message}", index=index, field="error")
        for key in ("id", "created", "model", "system_fingerprint", "service_tier"):
            if payload.get(key) not in (None, "") and key not in self._top:
                self._top[key] = payload[key]
        if isinstance(payload.get("usage"), dict):
            self._usage = payload["usage"]
        choices = payload.get("choices") or []
        if not isinstance(choices, list):
            raise InvalidChunkError("choices must be a list", index=index, field="choices")
        for i, choice in enumerate(choices):
            if not isinstance(choice, dict) or not isinstance(choice.get("index", 0), int):
                raise InvalidChunkError(
                    "a choice must be an object with an integer index", index=index, field=f"choices[{i}]"
                )
            self._choice(choice, index, f"choices[{i}]")
        return []

    def _finish(self) -> list[dict[str, Any]]:
        return []

    def _choice(self, chunk_choice: dict[str, Any], index: int, path: str) -> None:
        number = chunk_choice.get("index", 0)
        state = self._choices.get(number)
        if state is None:
            state = self._choices[number] = _Choice(number)
        delta = chunk_choice.get("delta") or {}
        if not isinstance(delta, dict):
            raise InvalidChunkError("delta must be an object", index=index, field=f"{path}.delta")
        if isinstance(delta.get("role"), str) and delta["role"]:
            state.role = delta["role"]
        self._content(state, delta.get("content"))
        state.refusal = _pieces(state.refusal, delta.get("refusal"))
        for name in ("reasoning_content", "reasoning"):
            if isinstance(delta.get(name), str):
                getattr(state, name).append(delta[name])
        for j, call in enumerate(delta.get("tool_calls") or []):
            if not isinstance(call, dict):
                raise InvalidChunkError(
                    "a tool call delta must be an object", index=index, field=f"{path}.delta.tool_calls[{j}]"
                )
            self._tool_call(state, call)
        if isinstance(delta.get("function_call"), dict):
            legacy = state.function_call = state.function_call or {"name": [], "arguments": []}
            for key in ("name", "arguments"):
                if isinstance(delta["function_call"].get(key), str):
                    legacy[key].append(delta["function_call"][key])
        for annotation in delta.get("annotations") or []:
            self._annotation(state, annotation)
        logprobs = chunk_choice.get("logprobs")
        if isinstance(logprobs, dict):
            state.logprobs = state.logprobs or {"content": [], "refusal": []}
            for key in ("content", "refusal"):
                state.logprobs[key] += logprobs.get(key) or []
        if chunk_choice.get("finish_reason"):  # "" (Snowflake) counts as absent
            state.finish_reason = chunk_choice["finish_reason"]

    @staticmethod
    def _content(state: _Choice, content: Any) -> None:
        if isinstance(content, str):
            state.content = _pieces(state.content, content)
        elif isinstance(content, list):  # Mistral Magistral: [{"type": "thinking"|"text", ...}]
            for part in content:
                if not isinstance(part, dict):
                    continue
                if part.get("type") == "text":
                    state.content = _pieces(state.content, part.get("text"))
                elif part.get("type") == "thinking":
                    state.reasoning += [
                        t.get("text", "") for t in part.get("thinking") or [] if isinstance(t, dict)
                    ]

    @staticmethod
    def _tool_call(state: _Choice, delta: dict[str, Any]) -> None:
        call_id = delta.get("id") or None
        number = delta.get("index")
        if not isinstance(number, int):  # no index: a new id opens a call, otherwise continue the last
            number = len(state.calls) if call_id or not state.calls else state.calls[-1].index
        call = state.call_by_index.get(number)
        if call is not None and call_id and call.id and call_id != call.id:
            # a provider that numbers every call 0: a different id is a new call
            number = max(state.call_by_index) + 1
            call = None
        if call is None:
            call = state.call_by_index[number] = _ToolCall(number)
            state.calls.append(call)
        if call_id and not call.id:
            call.id = call_id
        kind = delta.get("type")
        if kind in ("function", "custom"):
            call.type = kind
        inner = delta.get(call.type) or delta.get("function") or {}
        if isinstance(inner, dict):
            if inner.get("name") and not call.name:
                call.name = inner["name"]
            piece = inner.get("input" if call.type == "custom" else "arguments")
            if isinstance(piece, str):
                call.arguments.append(piece)

    @staticmethod
    def _annotation(state: _Choice, annotation: Any) -> None:
        if not isinstance(annotation, dict):
            return
        entry = {k: v for k, v in annotation.items() if k != "index"}
        position = annotation.get("index")
        if isinstance(position, int):
            state.annotations[position] = entry
        elif entry not in state.annotations.values():  # OpenRouter may repeat the list on later chunks
            state.annotations[len(state.annotations)] = entry

    def result(self) -> dict[str, Any]:
        """The ``chat.completion`` built from every chunk fed so far."""
        completion: dict[str, Any] = {
            "id": self._top.get("id", ""),
            "object": "chat.completion",
            "created": self._top.get("created", 0),
            "model": self._top.get("model", ""),
            "choices": [self._choices[k].to_dict() for k in sorted(self._choices)],
        }
        if self._usage is not None:
            completion["usage"] = self._usage
        for key in ("service_tier", "system_fingerprint"):
            if key in self._top:
                completion[key] = self._top[key]
        return completion


def accumulate_chat(chunks: Iterable[Any]) -> dict[str, Any]:
    """A whole Chat chunk stream (dicts, SDK chunks, ``DONE`` or bytes) as one ``chat.completion`` dict."""
    accumulator = ChatAccumulator()
    for chunk in chunks:
        accumulator.feed(chunk)
    accumulator.close()
    return accumulator.result()


# --------------------------------------------------------------------------- Responses


_TERMINAL = ("response.completed", "response.incomplete", "response.failed")
_LIFECYCLE = ("response.created", "response.in_progress", "response.queued")


def _grow(items: list[Any], position: int, default: dict[str, Any]) -> dict[str, Any]:
    """``items[position]``, padding the list (a gap in content/summary indexes) with copies of ``default``."""
    while len(items) <= position:
        items.append(copy.deepcopy(default))
    entry: dict[str, Any] = items[position]
    return entry


class ResponsesAccumulator(FeedBase):
    """Collect a Responses event stream into one ``response`` dict."""

    def __init__(self) -> None:
        super().__init__()
        self._response: dict[str, Any] = {}
        self._terminal: dict[str, Any] | None = None
        self._items: dict[int, dict[str, Any]] = {}
        self._oi_by_item_id: dict[str, int] = {}
        self._done: set[int] = set()  # output indexes whose output_item.done arrived
        self._error: dict[str, Any] | None = None

    def _feed_payload(self, payload: dict[str, Any] | Done, index: int) -> list[dict[str, Any]]:
        if isinstance(payload, Done):
            return []
        kind = payload.get("type")
        if kind is None and "error" in payload:
            kind = "error"
        if not isinstance(kind, str):
            raise InvalidChunkError("event has no string 'type'", index=index, field="type")
        response = payload.get("response")
        if kind in _LIFECYCLE and isinstance(response, dict):
            self._response = response
        elif kind in _TERMINAL and isinstance(response, dict):
            self._terminal = response
        elif kind == "error":
            inner = payload.get("error")
            source = inner if isinstance(inner, dict) else payload
            self._error = {
                "code": source.get("code") or "server_error",
                "message": source.get("message") or "",
            }
        else:
            handler = _EVENT_HANDLERS.get(kind)
            if handler is not None:
                handler(self, payload, index)
        return []

    def _finish(self) -> list[dict[str, Any]]:
        return []

    # -- bookkeeping

    def _oi(self, event: dict[str, Any], index: int) -> int:
        oi = event.get("output_index")
        if isinstance(oi, int):
            return oi
        found = self._oi_by_item_id.get(event.get("item_id") or "")
        if found is None:
            raise InvalidChunkError(
                "event has neither an output_index nor a known item_id", index=index, field="output_index"
            )
        return found

    def _item_of(self, event: dict[str, Any], index: int, kind: str) -> dict[str, Any]:
        oi = self._oi(event, index)
        item = self._items.get(oi)
        if item is None:  # deltas without output_item.added: open the item they imply
            item = self._items[oi] = {"id": event.get("item_id", ""), "type": kind}
        return item

    def _part(self, event: dict[str, Any], index: int, key: str, default: dict[str, Any]) -> dict[str, Any]:
        item = self._item_of(event, index, "reasoning" if key == "summary" else "message")
        position = event.get("summary_index" if key == "summary" else "content_index", 0)
        if not isinstance(position, int):
            raise InvalidChunkError(f"{key} index must be an integer", index=index, field="content_index")
        parts = item.setdefault(key, [])
        if not isinstance(parts, list):
            parts = item[key] = []
        return _grow(parts, position, default)

    # -- handlers

    def _on_item(self, event: dict[str, Any], index: int) -> None:
        item = event.get("item")
        if not isinstance(item, dict):
            raise InvalidChunkError("item must be an object", index=index, field="item")
        oi = self._oi(event, index)
        self._items[oi] = copy.deepcopy(item)
        if event["type"] == "response.output_item.done":
            self._done.add(oi)
        if isinstance(item.get("id"), str):
            self._oi_by_item_id[item["id"]] = oi

    def _on_part(self, event: dict[str, Any], index: int) -> None:
        part = event.get("part")
        if isinstance(part, dict):
            entry = self._part(event, index, "content", {})
            entry.clear()
            entry.update(copy.deepcopy(part))

    def _on_text_delta(self, event: dict[str, Any], index: int) -> None:
        part = self._part(event, index, "content", {"type": "output_text", "annotations": [], "text": ""})
        part["text"] = part.get("text", "") + (event.get("delta") or "")
        if event.get("logprobs"):
            part.setdefault("logprobs", []).extend(event["logprobs"])

    def _on_text_done(self, event: dict[str, Any], index: int) -> None:
        part = self._part(event, index, "content", {"type": "output_text", "annotations": [], "text": ""})
        if isinstance(event.get("text"), str):
            part["text"] = event["text"]
        if event.get("logprobs"):
            part["logprobs"] = list(event["logprobs"])

    def _on_annotation(self, event: dict[str, Any], index: int) -> None:
        part = self._part(event, index, "content", {"type": "output_text", "annotations": [], "text": ""})
        annotations = part.setdefault("annotations", [])
        position = event.get("annotation_index", len(annotations))
        while len(annotations) <= position:
            annotations.append(None)
        annotations[position] = event.get("annotation")

    def _on_refusal(self, event: dict[str, Any], index: int) -> None:
        part = self._part(event, index, "content", {"type": "refusal", "refusal": ""})
        if event["type"].endswith(".delta"):
            part["refusal"] = part.get("refusal", "") + (event.get("delta") or "")
        elif isinstance(event.get("refusal"), str):
            part["refusal"] = event["refusal"]

    def _on_summary(self, event: dict[str, Any], index: int) -> None:
        part = self._part(event, index, "summary", {"type": "summary_text", "text": ""})
        kind = event["type"]
        if kind.endswith("part.added") or kind.endswith("part.done"):
            if isinstance(event.get("part"), dict):
                part.update(copy.deepcopy(event["part"]))
        elif kind.endswith(".delta"):
            part["text"] = part.get("text", "") + (event.get("delta") or "")
        elif isinstance(event.get("text"), str):
            part["text"] = event["text"]

    def _on_reasoning_text(self, event: dict[str, Any], index: int) -> None:
        item = self._item_of(event, index, "reasoning")
        parts = item.get("content")
        if not isinstance(parts, list):
            parts = item["content"] = []
        part = _grow(parts, event.get("content_index", 0), {"type": "reasoning_text", "text": ""})
        if event["type"].endswith(".delta"):
            part["text"] = part.get("text", "") + (event.get("delta") or "")
        elif isinstance(event.get("text"), str):
            part["text"] = event["text"]

    def result(self) -> dict[str, Any]:
        """The ``response`` built from every event fed so far."""
        response = copy.deepcopy(self._terminal if self._terminal is not None else self._response)
        response.setdefault("object", "response")
        if not response.get("output"):  # the terminal output is authoritative when it has items
            response["output"] = [self._item_so_far(k) for k in sorted(self._items)]
        if self._error is not None and self._terminal is None:
            response["status"] = "failed"
            response["error"] = self._error
        return response

    def _item_so_far(self, oi: int) -> dict[str, Any]:
        """Item ``oi`` as the events built it; one whose ``output_item.done`` never came (a stream cut
        before its terminal event, or a failed one that lists no output) did not finish: its status,
        if it has one, is ``incomplete``."""
        item = copy.deepcopy(self._items[oi])
        if oi not in self._done and "status" in item:
            item["status"] = "incomplete"
        return item


def _field_handler(name: str) -> Callable[[ResponsesAccumulator, dict[str, Any], int], None]:
    """Handler for ``<x>.delta`` / ``<x>.done`` events that grow / set the string field ``name`` of an item.

    ``function_call_arguments`` and ``mcp_call_arguments`` fill ``arguments``, ``custom_tool_call_input``
    fills ``input``, ``code_interpreter_call_code`` fills ``code``; the ``done`` event's snapshot wins.
    """
    kinds = {"arguments": "function_call", "input": "custom_tool_call", "code": "code_interpreter_call"}

    def handle(self: ResponsesAccumulator, event: dict[str, Any], index: int) -> None:
        item = self._item_of(event, index, kinds[name])
        if event["type"].endswith(".delta"):
            item[name] = (item.get(name) or "") + (event.get("delta") or "")
        elif isinstance(event.get(name), str):
            item[name] = event[name]

    return handle


_EVENT_HANDLERS: dict[str, Callable[[ResponsesAccumulator, dict[str, Any], int], None]] = {
    "response.output_item.added": ResponsesAccumulator._on_item,
    "response.output_item.done": ResponsesAccumulator._on_item,
    "response.content_part.added": ResponsesAccumulator._on_part,
    "response.content_part.done": ResponsesAccumulator._on_part,
    "response.output_text.delta": ResponsesAccumulator._on_text_delta,
    "response.output_text.done": ResponsesAccumulator._on_text_done,
    "response.output_text.annotation.added": ResponsesAccumulator._on_annotation,
    "response.refusal.delta": ResponsesAccumulator._on_refusal,
    "response.refusal.done": ResponsesAccumulator._on_refusal,
    "response.reasoning_summary_part.added": ResponsesAccumulator._on_summary,
    "response.reasoning_summary_part.done": ResponsesAccumulator._on_summary,
    "response.reasoning_summary_text.delta": ResponsesAccumulator._on_summary,
    "response.reasoning_summary_text.done": ResponsesAccumulator._on_summary,
    "response.reasoning_text.delta": ResponsesAccumulator._on_reasoning_text,
    "response.reasoning_text.done": ResponsesAccumulator._on_reasoning_text,
    "response.function_call_arguments.delta": _field_handler("arguments"),
    "response.function_call_arguments.done": _field_handler("arguments"),
    "response.mcp_call_arguments.delta": _field_handler("arguments"),
    "response.mcp_call_arguments.done": _field_handler("arguments"),
    "response.custom_tool_call_input.delta": _field_handler("input"),
    "response.custom_tool_call_input.done": _field_handler("input"),
    "response.code_interpreter_call_code.delta": _field_handler("code"),
    "response.code_interpreter_call_code.done": _field_handler("code"),
}


def accumulate_responses(events: Iterable[Any]) -> dict[str, Any]:
    """A whole Responses event stream (dicts, SDK events or bytes) as one ``response`` dict."""
    accumulator = ResponsesAccumulator()
    for event in events:
        accumulator.feed(event)
    accumulator.close()
    return accumulator.result()
