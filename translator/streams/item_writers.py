"""The Responses events of a translated Chat stream: one writer per output item kind.

Each writer is the only place the events of its kind are built; the translator
(:class:`~translator.streams.chat_to_responses.ChatToResponses`) decides what goes where and when
(which item is open, what waits) and calls them.

* :class:`ResponseStream`: sequence numbers, the finished items (``response.output``), new ids, and
  the response's own events (``response.created`` / ``in_progress``, ``error``, the terminal event);
* :class:`MessageWriter`: a ``message`` item with ``output_text`` and ``refusal`` parts, logprobs and
  annotations;
* :class:`ReasoningWriter`: a ``reasoning`` item with a summary part or a reasoning_text part, and
  ``encrypted_content``;
* :class:`FunctionCallWriter`, :class:`CustomToolCallWriter`, :class:`ToolSearchCallWriter`: the
  three items a Chat tool call can become (see ``tool_map``);
* :class:`AudioWriter`: ``response.audio.*`` events (no output item carries audio).

An item writer is made when its item opens (``added()`` is its ``output_item.added``) and ``close()``
writes everything up to its ``output_item.done``; an item that did not finish (the stream failed, or a
tool call's arguments were cut) is never closed that way: ``leave()`` puts it into ``response.output``
as it stands, status ``incomplete``, with no event.  Items are sequential: the translator closes one
before it makes the next.  The delta builders (``MessageWriter.text``, ``ReasoningWriter.delta``,
``*CallWriter.fragment``) are on the per-chunk path: they stamp the sequence number inline and return
a new one-event list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from ..engine.json_stream import JsonStringField, fallback_string
from ..engine.surrogates import hold_split_pair, join_pairs
from ..ids import IdSource
from ..protocol.tool_names import CUSTOM_INPUT
from .chat_tool_calls import ChatCall
from .provider_quirks import CONTENT, SUMMARY

__all__ = [
    "REFUSAL",
    "TEXT",
    "AudioWriter",
    "CallWriter",
    "CustomToolCallWriter",
    "FunctionCallWriter",
    "ItemWriter",
    "MessageWriter",
    "ReasoningWriter",
    "ResponseStream",
    "ToolSearchCallWriter",
    "call_writer",
]

#: The kinds of a message's content parts.
TEXT = "output_text"
REFUSAL = "refusal"

#: The output item types written here that have a ``status`` field (``custom_tool_call`` has none).
_STATUS_TYPES = frozenset({"message", "reasoning", "function_call", "tool_search_call"})

Event = dict[str, Any]


class ResponseStream:
    """The events of one response: numbered in order, and the items they finished.

    ``items`` is ``response.output`` as it grows (an item is appended by its ``output_item.done``).
    """

    __slots__ = ("ids", "items", "seq")

    def __init__(self, ids: IdSource) -> None:
        self.ids = ids
        self.items: list[Event] = []
        self.seq = 0  #: the next sequence number

    def event(self, body: Event) -> Event:
        """``body`` with the next sequence number (its last key)."""
        body["sequence_number"] = self.seq
        self.seq += 1
        return body

    def started(self, response: Event) -> list[Event]:
        """``response.created`` and ``response.in_progress``, each with a snapshot of ``response``."""
        return [
            self.event({"type": "response.created", "response": {**response, "output": []}}),
            self.event({"type": "response.in_progress", "response": {**response, "output": []}}),
        ]

    def error(self, code: str | None, message: str, param: Any) -> Event:
        """The ``error`` event (before a ``response.failed``)."""
        return self.event({"type": "error", "code": code, "message": message, "param": param})

    def ended(self, kind: str, response: Event) -> Event:
        """The terminal event ``kind`` (completed, incomplete or failed) with the final ``response``."""
        return self.event({"type": kind, "response": response})

    def mark(self) -> tuple[int, int]:
        """Where the stream is: give it to :meth:`unannounce` to take back what is written after it."""
        return self.seq, len(self.items)

    def unannounce(self, mark: tuple[int, int]) -> None:
        """The items finished since ``mark`` did not finish: none of the events written since then go out
        (their sequence numbers are used again), and those items stay in ``response.output`` as they
        stand, with status ``incomplete`` (an item type with no ``status`` field goes as it is).

        How a failure leaves the open item (and what waited behind it): the client saw it added and
        streaming, never done (the OpenAI API never sends a done event for an item that did not finish).
        """
        self.seq = mark[0]
        for item in self.items[mark[1] :]:
            if item["type"] in _STATUS_TYPES:
                item["status"] = "incomplete"


class ItemWriter:
    """An open output item: its id, its place in ``response.output``, and the events around it."""

    __slots__ = ("call", "id", "output_index", "stream")

    #: the prefix of the item's id
    prefix = ""

    def __init__(self, stream: ResponseStream) -> None:
        self.stream = stream
        self.id = stream.ids(self.prefix)
        self.output_index = len(stream.items)
        #: the Chat tool call a call item writes (``None`` for messages and reasoning)
        self.call: ChatCall | None = None

    def _added(self, body: Event) -> Event:
        item = {"id": self.id, **body}
        return self.stream.event(
            {"type": "response.output_item.added", "output_index": self.output_index, "item": item}
        )

    def _done(self, final: Event) -> Event:
        self.stream.items.append(final)
        return self.stream.event(
            {"type": "response.output_item.done", "output_index": self.output_index, "item": final}
        )

    def close(self, status: str) -> list[Event]:
        """Every event up to and including ``output_item.done`` (the item's ``status``)."""
        raise NotImplementedError

    def leave(self) -> None:
        """The item did not finish: into ``response.output`` as it stands, status ``incomplete``, with
        none of :meth:`close`'s events (see :meth:`ResponseStream.unannounce`)."""
        mark = self.stream.mark()
        self.close("incomplete")
        self.stream.unannounce(mark)

    def fragment(self, fragment: str) -> list[Event]:
        """One more fragment of a tool call's arguments: only call items take them."""
        raise TypeError(f"a {type(self).__name__} takes no tool-call arguments")


class _Part:
    """One content part of a message (output_text or refusal)."""

    __slots__ = ("annotations", "chunks", "held", "index", "kind", "logprobs")

    def __init__(self, kind: str, index: int) -> None:
        self.kind = kind
        self.index = index
        self.chunks: list[str] = []
        self.held = ""  #: a high surrogate that ended the last delta (:mod:`~translator.engine.surrogates`)
        self.logprobs: list[Event] = []
        self.annotations: list[Event] = []

    def final(self) -> Event:
        text = "".join(self.chunks)
        if self.kind == REFUSAL:
            return {"type": "refusal", "refusal": text}
        return {
            "type": "output_text",
            "annotations": self.annotations,
            "logprobs": self.logprobs,
            "text": text,
        }


class MessageWriter(ItemWriter):
    """An assistant ``message``: ``output_text`` and ``refusal`` parts, one open at a time."""

    __slots__ = ("done_parts", "part")

    prefix = "msg"

    def __init__(self, stream: ResponseStream) -> None:
        super().__init__(stream)
        self.part: _Part | None = None  #: the open content part
        self.done_parts: list[Event] = []

    def added(self) -> Event:
        return self._added({"type": "message", "status": "in_progress", "content": [], "role": "assistant"})

    def text(self, text: str, logprobs: list[Event] | None = None, hold: bool = True) -> list[Event]:
        """``output_text.delta`` (a new output_text part first, if the open part is not one).

        ``logprobs``: the delta's, already in Responses form (a new list: the event keeps it).  Half of
        a character split from its other half waits for it (``hold``, :mod:`translator.engine.surrogates`).
        """
        part = self.part
        if part is None or part.kind != TEXT:
            return self._start_part(TEXT) + self.text(text, logprobs)
        # (isascii first: the cheapest way to know the text ends with no half of a character)
        if hold and (part.held or (not text.isascii() and "\ud800" <= text[-1:] <= "\udbff")):
            text, part.held = hold_split_pair(part.held, text)
            if not text and not logprobs:
                return []
        part.chunks.append(text)
        if logprobs:
            part.logprobs += logprobs
        else:
            logprobs = []
        stream = self.stream
        seq = stream.seq
        stream.seq = seq + 1
        return [
            {
                "type": "response.output_text.delta",
                "item_id": self.id,
                "output_index": self.output_index,
                "content_index": part.index,
                "delta": text,
                "logprobs": logprobs,
                "sequence_number": seq,
            }
        ]

    def refusal(self, text: str) -> list[Event]:
        """``refusal.delta`` (a new refusal part first, if the open part is not one)."""
        part = self.part
        if part is None or part.kind != REFUSAL:
            return self._start_part(REFUSAL) + self.refusal(text)
        text, part.held = hold_split_pair(part.held, text)
        return self._refusal_delta(part, text) if text else []

    def _refusal_delta(self, part: _Part, text: str) -> list[Event]:
        part.chunks.append(text)
        event = {
            "type": "response.refusal.delta",
            "item_id": self.id,
            "output_index": self.output_index,
            "content_index": part.index,
            "delta": text,
        }
        return [self.stream.event(event)]

    def annotations(self, annotations: list[Event]) -> list[Event]:
        """``output_text.annotation.added`` for each (Responses-shaped) annotation, on the text part."""
        part = self.part
        if part is None or part.kind != TEXT:
            return self._start_part(TEXT) + self.annotations(annotations)
        out = []
        for annotation in annotations:
            event = {
                "type": "response.output_text.annotation.added",
                "item_id": self.id,
                "output_index": self.output_index,
                "content_index": part.index,
                "annotation_index": len(part.annotations),
                "annotation": annotation,
            }
            out.append(self.stream.event(event))
            part.annotations.append(annotation)
        return out

    def close(self, status: str) -> list[Event]:
        out = self._close_part()
        final = {
            "id": self.id,
            "type": "message",
            "status": status,
            "content": self.done_parts,
            "role": "assistant",
        }
        out.append(self._done(final))
        return out

    def _start_part(self, kind: str) -> list[Event]:
        out = self._close_part()
        part = self.part = _Part(kind, len(self.done_parts))
        empty: Event = (
            {"type": "refusal", "refusal": ""}
            if kind == REFUSAL
            else {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
        )
        event = {
            "type": "response.content_part.added",
            "item_id": self.id,
            "output_index": self.output_index,
            "content_index": part.index,
            "part": empty,
        }
        out.append(self.stream.event(event))
        return out

    def _close_part(self) -> list[Event]:
        part = self.part
        if part is None:
            return []
        out = []
        if part.held:  # a half that no other half followed: it goes out alone
            held, part.held = part.held, ""
            refusal = part.kind == REFUSAL
            out = self._refusal_delta(part, held) if refusal else self.text(held, None, hold=False)
        self.part = None
        final = part.final()
        self.done_parts.append(final)
        where = {"item_id": self.id, "output_index": self.output_index, "content_index": part.index}
        done: Event
        if part.kind == REFUSAL:
            done = {"type": "response.refusal.done", **where, "refusal": final["refusal"]}
        else:
            done = {
                "type": "response.output_text.done",
                **where,
                "text": final["text"],
                "logprobs": part.logprobs,
            }
        event = self.stream.event
        return [*out, event(done), event({"type": "response.content_part.done", **where, "part": final})]


class ReasoningWriter(ItemWriter):
    """A ``reasoning`` item: one summary part or one reasoning_text part (its ``mode``), and secrets.

    The mode is set by the first text; text of the other mode needs another item (the translator
    opens one).  Secrets (encrypted reasoning, signatures) become ``encrypted_content``.
    """

    __slots__ = ("content", "done_parts", "encrypted", "held", "mode", "summary")

    prefix = "rs"

    def __init__(self, stream: ResponseStream) -> None:
        super().__init__(stream)
        self.mode = ""  #: SUMMARY or CONTENT once text arrived
        self.summary: list[str] = []
        self.content: list[str] = []
        self.encrypted: list[str] = []
        self.done_parts: list[Event] = []
        self.held = ""  #: a high surrogate that ended the last delta (:mod:`~translator.engine.surrogates`)

    def added(self, mode: str) -> Event:
        """``output_item.added``; an item opened for reasoning text (``mode`` CONTENT) lists its content."""
        body: Event = {"type": "reasoning", "summary": []}
        if mode == CONTENT:
            body["content"] = []
        return self._added(body)

    def delta(self, text: str, mode: str, hold: bool = True) -> list[Event] | None:
        """``reasoning_summary_text.delta`` or ``reasoning_text.delta`` (its part first, at the first
        text); ``None`` when the item holds text of the other mode (another item must take it)."""
        if self.mode != mode:
            if self.mode:
                return None
            started = self._start_part(mode)
            delta = self.delta(text, mode)
            assert delta is not None
            return started + delta
        if hold and (self.held or (not text.isascii() and "\ud800" <= text[-1:] <= "\udbff")):  # half a char
            text, self.held = hold_split_pair(self.held, text)
            if not text:
                return []
        stream = self.stream
        seq = stream.seq
        stream.seq = seq + 1
        if mode == SUMMARY:
            self.summary.append(text)
            kind, position = "response.reasoning_summary_text.delta", "summary_index"
        else:
            self.content.append(text)
            kind, position = "response.reasoning_text.delta", "content_index"
        return [
            {
                "type": kind,
                "item_id": self.id,
                "output_index": self.output_index,
                position: 0,
                "delta": text,
                "sequence_number": seq,
            }
        ]

    def keep_secret(self, secret: str) -> None:
        """Encrypted reasoning (or a signature): part of ``encrypted_content`` when the item closes."""
        self.encrypted.append(secret)

    def close(self, status: str) -> list[Event]:
        out = []
        if self.held:  # a half that no other half followed: it goes out alone
            held, self.held = self.held, ""
            out = self.delta(held, self.mode, hold=False) or []
        out += self._close_part()
        final: Event = {"id": self.id, "type": "reasoning", "summary": self.done_parts}
        if self.mode == CONTENT or self.content:
            final["content"] = [{"type": "reasoning_text", "text": "".join(self.content)}]
        if self.encrypted:
            final["encrypted_content"] = "".join(self.encrypted)
        out.append(self._done(final))
        return out

    def _start_part(self, mode: str) -> list[Event]:
        self.mode = mode
        where = {"item_id": self.id, "output_index": self.output_index}
        if mode == SUMMARY:
            added = {
                "type": "response.reasoning_summary_part.added",
                **where,
                "summary_index": 0,
                "part": {"type": "summary_text", "text": ""},
            }
        else:
            added = {
                "type": "response.content_part.added",
                **where,
                "content_index": 0,
                "part": {"type": "reasoning_text", "text": ""},
            }
        return [self.stream.event(added)]

    def _close_part(self) -> list[Event]:
        where = {"item_id": self.id, "output_index": self.output_index}
        event = self.stream.event
        if self.mode == SUMMARY:
            text = "".join(self.summary)
            part = {"type": "summary_text", "text": text}
            self.done_parts.append(part)
            return [
                event(
                    {
                        "type": "response.reasoning_summary_text.done",
                        **where,
                        "summary_index": 0,
                        "text": text,
                    }
                ),
                event(
                    {
                        "type": "response.reasoning_summary_part.done",
                        **where,
                        "summary_index": 0,
                        "part": part,
                    }
                ),
            ]
        if self.mode == CONTENT:
            text = "".join(self.content)
            return [
                event({"type": "response.reasoning_text.done", **where, "content_index": 0, "text": text}),
                event(
                    {
                        "type": "response.content_part.done",
                        **where,
                        "content_index": 0,
                        "part": {"type": "reasoning_text", "text": text},
                    }
                ),
            ]
        return []


class CallWriter(ItemWriter):
    """An item a Chat tool call becomes, under the Responses identity ``tool_map`` gave it."""

    __slots__ = ("held", "name", "namespace")

    call: ChatCall

    def __init__(self, stream: ResponseStream, call: ChatCall, name: str, namespace: str | None) -> None:
        super().__init__(stream)
        self.call = call
        self.name = name  #: the tool's Responses name
        self.namespace = namespace
        self.held = ""  #: a high surrogate that ended the last delta (:mod:`~translator.engine.surrogates`)

    def added(self) -> Event:
        raise NotImplementedError


class FunctionCallWriter(CallWriter):
    """A ``function_call``: the Chat arguments stream as they are."""

    __slots__ = ()

    prefix = "fc"

    def added(self) -> Event:
        body: Event = {
            "type": "function_call",
            "status": "in_progress",
            "arguments": "",
            "call_id": self.call.call_id,
            "name": self.name,
        }
        if self.namespace is not None:
            body["namespace"] = self.namespace
        return self._added(body)

    def fragment(self, fragment: str, hold: bool = True) -> list[Event]:
        if not fragment:
            return []
        if hold and (self.held or (not fragment.isascii() and "\ud800" <= fragment[-1] <= "\udbff")):
            fragment, self.held = hold_split_pair(self.held, fragment)
            if not fragment:
                return []
        call = self.call  # (ChatCall.add, inline: this is the per-chunk path of tool calls)
        call.arguments.append(fragment)
        if call.json is not None:
            call.json.feed(fragment)
        stream = self.stream
        seq = stream.seq
        stream.seq = seq + 1
        return [
            {
                "type": "response.function_call_arguments.delta",
                "item_id": self.id,
                "output_index": self.output_index,
                "delta": fragment,
                "sequence_number": seq,
            }
        ]

    def close(self, status: str) -> list[Event]:
        call = self.call
        out = []
        if self.held:  # a half that no other half followed: it goes out alone
            held, self.held = self.held, ""
            out = self.fragment(held, hold=False)
        arguments = call.finish()
        done = {
            "type": "response.function_call_arguments.done",
            "item_id": self.id,
            "output_index": self.output_index,
            "arguments": arguments,
        }
        final: Event = {
            "id": self.id,
            "type": "function_call",
            "status": status,
            "arguments": arguments,
            "call_id": call.call_id,
            "name": self.name,
        }
        if self.namespace is not None:
            final["namespace"] = self.namespace
        return [*out, self.stream.event(done), self._done(final)]


class CustomToolCallWriter(CallWriter):
    """A ``custom_tool_call``: the string of the Chat arguments ``{"input": "..."}`` streams as it is
    unwrapped; arguments of another shape say what they mean in one delta at the end."""

    __slots__ = ("unwrap",)

    prefix = "ctc"

    def __init__(self, stream: ResponseStream, call: ChatCall, name: str, namespace: str | None) -> None:
        super().__init__(stream, call, name, namespace)
        self.unwrap = JsonStringField(CUSTOM_INPUT)

    def added(self) -> Event:
        body: Event = {
            "type": "custom_tool_call",
            "call_id": self.call.call_id,
            "name": self.name,
            "input": "",
        }
        if self.namespace is not None:
            body["namespace"] = self.namespace
        return self._added(body)

    def fragment(self, fragment: str) -> list[Event]:
        if not fragment:
            return []
        self.call.add(fragment)
        text = self.unwrap.feed(fragment)
        if text and (self.held or (not text.isascii() and "\ud800" <= text[-1] <= "\udbff")):  # half a char
            text, self.held = hold_split_pair(self.held, text)
        return [self._input_delta(text)] if text else []

    def close(self, status: str) -> list[Event]:
        arguments = self.call.finish()
        out = []
        if self.unwrap.streaming:
            if self.held:  # a half that no other half followed: it goes out alone
                out.append(self._input_delta(self.held))
                self.held = ""
            text = join_pairs(self.unwrap.value)  # (as the deltas joined the halves they carried)
        else:  # not {"input": "..."}: what the arguments mean, in one delta now
            text = fallback_string(arguments, CUSTOM_INPUT)
            if text:
                out.append(self._input_delta(text))
        where = {"item_id": self.id, "output_index": self.output_index}
        out.append(
            self.stream.event({"type": "response.custom_tool_call_input.done", **where, "input": text})
        )
        final: Event = {
            "id": self.id,
            "type": "custom_tool_call",
            "call_id": self.call.call_id,
            "name": self.name,
        }
        if self.namespace is not None:
            final["namespace"] = self.namespace
        final["input"] = text
        out.append(self._done(final))
        return out

    def _input_delta(self, text: str) -> Event:
        where = {"item_id": self.id, "output_index": self.output_index}
        return self.stream.event({"type": "response.custom_tool_call_input.delta", **where, "delta": text})


class ToolSearchCallWriter(CallWriter):
    """A client ``tool_search_call``: the arguments go out parsed, on ``output_item.done``."""

    __slots__ = ()

    prefix = "tsc"

    def added(self) -> Event:
        body: Event = {
            "type": "tool_search_call",
            "call_id": self.call.call_id,
            "execution": "client",
            "status": "in_progress",
            "arguments": {},
        }
        return self._added(body)

    def fragment(self, fragment: str) -> list[Event]:
        if fragment:
            self.call.add(fragment)
        return []

    def close(self, status: str) -> list[Event]:
        arguments = self.call.finish()
        try:  # the arguments as a JSON object (the text when not JSON)
            parsed: Any = orjson.loads(arguments) if arguments.strip() else {}
        except orjson.JSONDecodeError:
            parsed = arguments
        final = {
            "id": self.id,
            "type": "tool_search_call",
            "call_id": self.call.call_id,
            "execution": "client",
            "status": status,
            "arguments": parsed,
        }
        return [self._done(final)]


#: The Responses item a Chat tool call becomes, by the ``type`` of its ``tool_map`` entry.
_CALL_WRITERS: dict[Any, type[CallWriter]] = {
    "custom": CustomToolCallWriter,
    "tool_search": ToolSearchCallWriter,
}


def call_writer(stream: ResponseStream, call: ChatCall, tool: Mapping[str, Any] | None) -> CallWriter:
    """The writer of the item ``call`` becomes, by its ``tool_map`` entry ``tool`` (``{"type", "name",
    "namespace"}``; ``None``: a ``function_call`` of the Chat name)."""
    chat_name = call.name or ""
    if tool is None:
        return FunctionCallWriter(stream, call, chat_name, None)
    namespace = tool.get("namespace")
    writer = _CALL_WRITERS.get(tool.get("type"), FunctionCallWriter)
    return writer(stream, call, str(tool.get("name") or chat_name), str(namespace) if namespace else None)


class AudioWriter:
    """Chat audio output as ``response.audio.delta`` / ``response.audio.transcript.delta``, and their
    ``.done`` events at the end (only for what arrived)."""

    __slots__ = ("data", "stream", "transcript")

    def __init__(self, stream: ResponseStream) -> None:
        self.stream = stream
        self.data = False  #: whether any audio data arrived
        self.transcript = False

    def delta(self, audio: dict[str, Any]) -> list[Event]:
        out = []
        if audio.get("data"):
            self.data = True
            out.append(self.stream.event({"type": "response.audio.delta", "delta": str(audio["data"])}))
        if audio.get("transcript"):
            self.transcript = True
            out.append(
                self.stream.event(
                    {"type": "response.audio.transcript.delta", "delta": str(audio["transcript"])}
                )
            )
        return out

    def done(self) -> list[Event]:
        out = []
        if self.data:
            out.append(self.stream.event({"type": "response.audio.done"}))
        if self.transcript:
            out.append(self.stream.event({"type": "response.audio.transcript.done"}))
        return out
