"""Responses API event stream -> Chat Completions ``chat.completion.chunk`` stream (sans-I/O).

Theory of operation
-------------------
``ResponsesToChat.feed(event) -> list[chunk]`` takes one Responses event (a dict, an openai SDK
event object, ``DONE``, or any slice of SSE/JSONL bytes, see :class:`~translator.engine.feed.FeedBase`)
and returns the Chat chunks it completes.  ``close()`` ends the stream.  Phases::

    START --(any event carrying ``response``)--> STREAMING --(completed/incomplete)--> DONE
      \\                                            \\--(error / response.failed)--------> FAILED
       \\--------------------(close() before a terminal event: "stream cut")----------> FAILED

Bookkeeping is keyed on ``output_index`` (``item_id`` only as a fallback: GitHub Copilot rotates
item ids between the added/delta/done events of one item).  Every text-like thing the client is
sent is a *segment* keyed ``(output_index, kind, sub_index)``; a segment remembers what was sent.
``*.done`` events, ``content_part.done``, ``output_item.done`` and finally the terminal
``response.output`` are *snapshots*: when a snapshot extends what was sent, only the missing
suffix is sent ("catch-up"), so text or arguments that arrive only in a ``.done`` event are still
delivered and nothing is ever sent twice.  A snapshot that contradicts what was sent is ignored
(clients append; a correction cannot be expressed).

Output conventions (documented in the README section of this module):

* one chunk id (``ids("chatcmpl")``), ``created = int(response.created_at)``, ``model`` from the
  response; ``choices[0].index`` is always 0.
* The first chunk carries ``role: "assistant"``; it is sent when the first output arrives so it can
  take OpenAI's shape (``content: ""`` before text; ``content: null`` and the first tool call merged
  in before a tool call; ``refusal: ""`` before a refusal).
* Several message items (``phase`` commentary + final answer) become one Chat message: segments of
  one field are joined with ``separator`` (``"\\n"``, as openai-agents does).  The same holds for
  reasoning summary parts and reasoning items.
* ``url_citation`` annotations go out on the non-standard ``delta.annotations`` (OpenRouter's shape)
  with an ``index`` key so the SDK's ``accumulate_delta`` merges them into ``message.annotations``;
  offsets are shifted to the joined content.  Other annotation types have no Chat form: dropped.
* function_call and custom_tool_call items become ``tool_calls`` entries, opened (id, type, name
  on the first fragment) once the call id and name are known or the item is finished; argument
  deltas before that wait in the call's ``pending``.  A custom call goes out as a function call
  holding its raw input, or with ``custom_tool_calls="custom"`` in the Chat API's ``type: "custom"``
  shape (see the README for why the SDK-readable form is the default).
* Items Chat cannot carry (web/file search, code interpreter, MCP, image generation, shell, ...)
  are dropped unless ``surface_hosted_tools=True``: then each finished item is sent once,
  verbatim plus an ``index``, on the non-standard ``delta.hosted_tool_calls``.
* Failure (``error`` event, ``response.failed``, or a stream cut) ends the stream with one chunk
  ``{"error": {"message", "type", "code", "param"}}``: the openai SDK raises ``APIError`` on it.
"""

from __future__ import annotations

import enum
import math
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, TypeGuard

import orjson

from ..engine.feed import FeedBase, adrive, drive
from ..engine.jsonio import dump_json
from ..engine.sse import DONE_FRAME, Done, encode_sse
from ..errors import InvalidChunkError, StreamError
from ..ids import Clock, IdSource, random_id, system_clock
from ..protocol.mapping import finish_reason_for_response, responses_logprob_to_chat, responses_usage_to_chat

__all__ = [
    "Phase",
    "ResponsesToChat",
    "atranslate_responses_stream",
    "translate_responses_stream",
]

#: ``service_tier`` values a ``ChatCompletionChunk`` accepts; others (``fast``...) are left out.
_CHAT_SERVICE_TIERS = frozenset({"auto", "default", "flex", "scale", "priority"})

#: Output item types Chat can carry; every other type is a "hosted" item (skipped or surfaced).
_CHAT_ITEM_TYPES = frozenset({"message", "function_call", "custom_tool_call", "reasoning"})

#: Output item types that become ``tool_calls`` entries.
_CALL_TYPES = frozenset({"function_call", "custom_tool_call"})

#: ``custom_tool_calls`` option -> (delta ``type`` and key of the inner object, its text field).
_CUSTOM_FORMS = {"function": ("function", "arguments"), "custom": ("custom", "input")}

# Segment kinds: which delta field a segment feeds.
_TEXT, _REFUSAL, _REASONING, _ARGS = "content", "refusal", "reasoning", "arguments"

#: Sub-index offset of raw ``reasoning_text`` parts, so they never share a key with the summary
#: parts (``summary_index``) of the same reasoning item: both feed the reasoning field.
_RAW = 1 << 20

_RAW_REASONING = "reasoning_text"

#: Segment kind -> the event type of its deltas and the field of its sub-index (the hot path's keys).
_DELTA_EVENTS = {
    _TEXT: ("response.output_text.delta", "content_index"),
    _REFUSAL: ("response.refusal.delta", "content_index"),
    _REASONING: ("response.reasoning_summary_text.delta", "summary_index"),
    _RAW_REASONING: ("response.reasoning_text.delta", "content_index"),
}

#: Stands for the text in a frame template (see ``ResponsesToChat._hot_template``); never in real text.
_MARK = "\x00\x01hot-text\x01\x00"
_MARK_JSON = orjson.dumps(_MARK)
_dumps = orjson.dumps


class Phase(enum.Enum):
    """Where a :class:`ResponsesToChat` is in its stream (``translator.phase``)."""

    START = "start"  #: nothing seen yet
    STREAMING = "streaming"  #: a response object was seen; translating
    DONE = "done"  #: completed / incomplete handled; later events are ignored
    FAILED = "failed"  #: an error chunk was sent; later events are ignored


@dataclass(slots=True)
class _Segment:
    """What was sent for one text part, summary part, refusal or argument string."""

    pieces: list[str] = field(default_factory=list)  #: invariant: "".join(pieces) == text sent
    logprobs: int = 0  #: logprob entries sent
    annotations: int = 0  #: annotations seen (sent or dropped), by ``annotation_index``
    offset: int = 0  #: where this segment starts in the joined ``content`` (annotation offsets)

    def sent(self) -> str:
        if len(self.pieces) > 1:
            self.pieces[:] = ["".join(self.pieces)]
        return self.pieces[0] if self.pieces else ""


@dataclass(slots=True)
class _Call:
    """A function_call or custom_tool_call item turned into ``tool_calls[index]``."""

    index: int = -1  #: position in ``message.tool_calls``, given when the call opens
    call_id: str | None = None
    name: str | None = None
    kind: str = "function"  #: delta ``type`` and key of the inner object (``function``/``custom``)
    text_key: str = "arguments"  #: the inner object's text field (``arguments``/``input``)
    delta_type: str = "response.function_call_arguments.delta"  #: the event type of its deltas
    opened: bool = False  #: the first delta (id, type, name) was sent
    pending: list[str] = field(default_factory=list)  #: argument deltas seen before the call was opened


class ResponsesToChat(FeedBase):
    """Translate one Responses event stream into Chat Completions chunks.

    Args:
        include_usage: send the final ``{"choices": [], "usage": ...}`` chunk (and ``usage: null``
            on every other chunk), as Chat does with ``stream_options.include_usage``.
        reasoning_field: delta field for reasoning summaries and reasoning text (``"reasoning"``
            for OpenRouter/Groq-style clients); ``None`` drops reasoning.
        surface_hosted_tools: send items Chat cannot carry on ``delta.hosted_tool_calls``.
        custom_tool_calls: how a ``custom_tool_call`` (freeform tool such as ``apply_patch``) goes
            out: ``"function"`` (default), a function tool call whose ``arguments`` hold the raw
            input, which every Chat client and the openai SDK read; or ``"custom"``, the shape the
            Chat Completions API itself streams (``type: "custom"``, ``custom: {name, input}``),
            which the SDK's chunk type does not know.
        separator: joins consecutive message items (and reasoning parts) into one Chat message.
        ids: id source; the chunk id is ``ids("chatcmpl")``.
        clock: used for ``created`` only when the stream carries no ``response`` object.
    """

    def __init__(
        self,
        *,
        include_usage: bool = True,
        reasoning_field: str | None = "reasoning_content",
        surface_hosted_tools: bool = False,
        custom_tool_calls: str = "function",
        separator: str = "\n",
        ids: IdSource = random_id,
        clock: Clock = system_clock,
    ) -> None:
        super().__init__()
        self.include_usage = include_usage
        self.reasoning_field = reasoning_field
        self.surface_hosted_tools = surface_hosted_tools
        if custom_tool_calls not in _CUSTOM_FORMS:
            raise ValueError(f"custom_tool_calls must be 'function' or 'custom', got {custom_tool_calls!r}")
        self.custom_tool_calls = custom_tool_calls
        self.separator = separator
        self._ids = ids
        self._clock = clock
        self.phase = Phase.START
        self._base: dict[str, Any] | None = None  #: id/object/created/model(/service_tier) of every chunk
        self._started = False  #: the role chunk was sent
        self._segments: dict[tuple[int, str, int], _Segment] = {}
        self._last: dict[str, tuple[int, str, int]] = {}  #: field -> last segment that sent text into it
        self._content_len = 0  #: characters of ``content`` sent (annotation offsets)
        self._calls: dict[int, _Call] = {}  #: output_index -> function or custom tool call
        self._opened_calls = 0  #: calls sent so far (the next ``tool_calls[].index``)
        self._oi_by_item_id: dict[str, int] = {}
        self._seen: dict[int, str | None] = {}  #: output_index -> item type (None: not known yet)
        self._hosted_sent: set[int] = set()  #: output indexes surfaced as hosted items
        self._annotation_count = 0  #: entries in the client's ``message.annotations``
        self._shown_call = False  #: a tool call was shown to the client
        self._last_type = "<none>"
        # The hot segment: the one that sent text last.  Its next plain delta event (same type,
        # output_index and sub-index, no logprobs) is sent by _feed_payload's first lines alone.
        # (delta event type, output_index, sub-index field or None, sub-index, pieces.append, counts
        # towards _content_len, frame head, frame tail), one tuple so the hot path reads it at once;
        # None: no hot segment.  The frame head/tail are None until feed_sse needs them.
        self._hot: tuple[str, int, str | None, int, Callable[[str], None], bool, bytes | None, bytes] | None
        self._hot = None
        self._hot_delta: str | _Call = ""  #: the delta field the hot segment feeds, or its call
        self._frames = False  #: feed_sse()/close_sse() is running: the hot path writes frames
        self._sse_closed = False
        self._templates: dict[Any, tuple[bytes, bytes]] = {}

    # -- FeedBase hooks ---------------------------------------------------------------------------

    def _feed_payload(self, payload: dict[str, Any] | Done, index: int) -> list[Any]:
        if self._hot is not None:
            out: list[Any] = []
            if self._hot_run((payload,), 0, out):
                return out
        return self._feed_event(payload, index)

    def _payloads(self, payloads: list[dict[str, Any] | Done], out: list[Any]) -> None:
        """:meth:`FeedBase._payloads`, with each run of hot deltas translated in one loop; the events
        between runs (a few per item) go one at a time through the base class."""
        start, total = 0, len(payloads)
        while start < total:
            if self._hot is not None:
                taken = self._hot_run(payloads, start, out)
                self._index += taken
                start += taken
            if start < total:
                super()._payloads(payloads[start : start + 1], out)
                start += 1

    def _hot_run(self, payloads: Sequence[Any], start: int, out: list[Any]) -> int:
        """Translate the plain delta events of the hot segment from ``payloads[start]`` on (same type,
        output_index and sub-index, no logprobs) into ``out``; the number of events taken.

        The per-event path of nearly every event of a stream: with ``feed_sse`` each delta is written
        straight into its frame (three pieces that the read joins at once), without building a chunk.
        """
        hot = self._hot
        assert hot is not None
        hot_type, oi, sub_name, sub, append, counts, head, tail = hot
        frames = self._frames
        if frames and head is None:
            head, tail = self._hot_template()
        size = len(out)
        dumps = _dumps
        try:  # an event without one of the fields (KeyError) or DONE (TypeError) ends the run
            for event in islice(payloads, start, None):
                text = event["delta"]
                if not (
                    event["type"] == hot_type
                    and text.__class__ is str
                    and text
                    and event["output_index"] == oi
                    and (sub_name is None or (event[sub_name] == sub and not event.get("logprobs")))
                ):
                    break
                append(text)
                if counts:
                    self._content_len += len(text)
                if frames:
                    try:
                        out += (head, dumps(text), tail)
                    except TypeError:  # lone surrogates: the writer repairs them
                        out += (head, dump_json(text), tail)
                else:
                    out.append(self._hot_chunk(text))
        except (KeyError, TypeError):
            pass
        taken = (len(out) - size) // 3 if frames else len(out) - size
        if taken:
            self._last_type = hot_type
        return taken

    def _feed_event(self, payload: dict[str, Any] | Done, index: int) -> list[Any]:
        """One event by the general path (handlers by type)."""
        if self.phase in (Phase.DONE, Phase.FAILED):
            return []  # after the terminal event: trailing [DONE] or stray events
        if isinstance(payload, Done):
            return self._fail_cut("[DONE] arrived before response.completed")
        kind = payload.get("type")
        if kind is None and "error" in payload:  # `event: error` data without a type
            kind = "error"
        if not isinstance(kind, str):
            raise InvalidChunkError("event has no string 'type'", index=index, field="type")
        self._last_type = kind
        response = payload.get("response")
        if isinstance(response, dict) and self._base is None:
            self._start(response)
        handler = _HANDLERS.get(kind)
        if handler is None:
            return []  # hosted-tool progress, audio, shell... and event types newer than this code
        if self._base is None:
            self._start({})
        out: list[dict[str, Any]] = []
        try:
            handler(self, payload, index, out)
        except StreamError as exc:
            # what this event sent before the error is state already: FeedBase returns it next
            exc.partial = out + exc.partial
            raise
        return out

    def _heat(self, key: tuple[int, str, int], segment: _Segment, name: str) -> None:
        """Make segment ``key`` (just sent text into delta field ``name``) the hot one."""
        oi, kind, sub = key
        if kind == _REASONING and sub >= _RAW:
            kind, sub = _RAW_REASONING, sub - _RAW
        event_type, sub_name = _DELTA_EVENTS[kind]
        head, tail = self._templates.get(name, (None, b""))
        self._hot = (event_type, oi, sub_name, sub, segment.pieces.append, kind == _TEXT, head, tail)
        self._hot_delta = name

    def _heat_call(self, oi: int, call: _Call, segment: _Segment) -> None:
        """Make the arguments of ``call`` (at ``oi``, opened) the hot segment."""
        head, tail = self._templates.get((call.index, call.kind, call.text_key), (None, b""))
        self._hot = (call.delta_type, oi, None, 0, segment.pieces.append, False, head, tail)
        self._hot_delta = call

    def _hot_chunk(self, text: str) -> dict[str, Any]:
        """The chunk that sends ``text`` into the hot segment's field."""
        target = self._hot_delta
        if isinstance(target, str):
            return self._chunk({target: text})
        return self._chunk({"tool_calls": [{"index": target.index, target.kind: {target.text_key: text}}]})

    def _hot_template(self) -> tuple[bytes, bytes]:
        """The hot segment's SSE frame split around its text, so a delta is written without a dict.

        Cut from ``encode_sse`` of the very chunk :meth:`_hot_chunk` builds, so both ways give the
        same bytes (the tests compare them).
        """
        target = self._hot_delta
        shape = target if isinstance(target, str) else (target.index, target.kind, target.text_key)
        frame = self._templates.get(shape)
        if frame is None:
            frame_bytes = encode_sse(self._hot_chunk(_MARK))
            head, found, tail = frame_bytes.partition(_MARK_JSON)
            if not found or _MARK_JSON in tail:
                raise AssertionError("the frame template marker is not unique")  # pragma: no cover
            frame = self._templates[shape] = (head, tail)
        assert self._hot is not None
        self._hot = (*self._hot[:6], *frame)
        return frame

    # -- SSE output ----------------------------------------------------------------------------------

    def feed_sse(self, item: Any) -> bytes:
        """:meth:`feed`, with the chunks written as Chat SSE frames (``b""`` when there are none).

        Byte for byte the ``encode_sse`` frames of the chunks ``feed`` would return, but a streaming
        delta is written straight into its frame, without building its chunk.  An error chunk is
        written as ``event: error`` and is the last frame.  Use either ``feed`` or ``feed_sse`` (with
        ``close_sse``) on one translator, not both.
        """
        self._frames = True
        try:
            return _written(self.feed(item))
        finally:
            self._frames = False

    def close_sse(self) -> bytes:
        """:meth:`close` as SSE frames, then ``data: [DONE]`` unless the stream ended in an error."""
        if self._sse_closed:
            return b""
        self._sse_closed = True
        self._frames = True
        try:
            frames = _written(self.close())
        finally:
            self._frames = False
        return frames if self.phase is Phase.FAILED else frames + DONE_FRAME

    def _finish(self) -> list[dict[str, Any]]:
        if self.phase in (Phase.DONE, Phase.FAILED):
            return []
        if self.failure is not None:
            return self._fail_cut(f"translation stopped at a bad upstream event: {self.failure}")
        return self._fail_cut(f"stream ended before response.completed (last event: {self._last_type})")

    # -- chunk builders ---------------------------------------------------------------------------

    def _start(self, response: dict[str, Any]) -> None:
        self.phase = Phase.STREAMING
        created = response.get("created_at")
        model = response.get("model")
        base: dict[str, Any] = {
            "id": self._ids("chatcmpl"),
            "object": "chat.completion.chunk",
            "created": int(created) if _finite(created) else self._clock(),
            "model": model if isinstance(model, str) else "",
        }
        tier = response.get("service_tier")
        if isinstance(tier, str) and tier in _CHAT_SERVICE_TIERS:
            base["service_tier"] = tier
        self._base = base

    def _chunk(
        self, delta: dict[str, Any], finish_reason: str | None = None, logprobs: Any = None
    ) -> dict[str, Any]:
        assert self._base is not None
        chunk = dict(self._base)
        choice = {"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish_reason}
        chunk["choices"] = [choice]
        if self.include_usage:
            chunk["usage"] = None
        return chunk

    def _open(self, first: str, out: list[dict[str, Any]]) -> dict[str, Any] | None:
        """Send the role chunk before the first output of kind ``first``.

        Returns the role delta when the caller should merge its delta into it (tool calls), else None.
        """
        if self._started:
            return None
        self._started = True
        delta: dict[str, Any] = {
            "role": "assistant",
            "content": "" if first == _TEXT else None,
            "refusal": "" if first == _REFUSAL else None,
        }
        if first == _ARGS:
            return delta
        out.append(self._chunk(delta))
        return None

    def _send_text(
        self,
        key: tuple[int, str, int],
        text: str,
        out: list[dict[str, Any]],
        logprobs: list[Any] | None = None,
    ) -> None:
        """Send ``text`` for the segment ``key`` (content, refusal or reasoning)."""
        kind = key[1]
        name = self.reasoning_field if kind == _REASONING else kind
        if name is None or not (text or logprobs):
            return
        segment = self._segment(key)
        payload = text
        if text:
            if not segment.pieces and self._last.get(kind) not in (None, key):
                payload = self.separator + text  # a new segment of a field that already has text
            if kind == _TEXT and not segment.pieces:
                segment.offset = self._content_len + len(payload) - len(text)
            segment.pieces.append(text)
            self._last[kind] = key
            self._heat(key, segment, name)
        self._open(kind, out)
        lp = None
        if logprobs:
            segment.logprobs += len(logprobs)
            lp = {"content": [responses_logprob_to_chat(entry) for entry in logprobs], "refusal": None}
        if kind == _TEXT:
            self._content_len += len(payload)
        out.append(self._chunk({name: payload}, logprobs=lp))

    def _segment(self, key: tuple[int, str, int]) -> _Segment:
        segment = self._segments.get(key)
        if segment is None:
            segment = self._segments[key] = _Segment()
        return segment

    def _catch_up(
        self, key: tuple[int, str, int], full: Any, out: list[dict[str, Any]], logprobs: Any = None
    ) -> None:
        """A snapshot of segment ``key``: send what it has beyond what was sent, if consistent."""
        if not isinstance(full, str):
            return
        segment = self._segments.get(key)
        sent = segment.sent() if segment is not None else ""
        rest_lp = logprobs[segment.logprobs if segment else 0 :] if isinstance(logprobs, list) else None
        if len(full) > len(sent) and full.startswith(sent):
            self._send_text(key, full[len(sent) :], out, rest_lp)

    # -- output index / item bookkeeping ----------------------------------------------------------

    def _oi(self, event: dict[str, Any], index: int) -> int:
        oi = event.get("output_index")
        if isinstance(oi, int):
            self._seen.setdefault(oi, None)
            item_id = event.get("item_id")
            if isinstance(item_id, str):
                self._oi_by_item_id.setdefault(item_id, oi)
            return oi
        item_id = event.get("item_id")
        found = self._oi_by_item_id.get(item_id) if isinstance(item_id, str) else None
        if found is None:
            reason = "event has neither an output_index nor a known item_id"
            raise InvalidChunkError(reason, index=index, field="output_index")
        return found

    def _item(self, event: dict[str, Any], index: int) -> tuple[int, dict[str, Any]]:
        item = event.get("item")
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise InvalidChunkError("item must be an object with a string type", index=index, field="item")
        oi = self._oi(event, index)
        if isinstance(item.get("id"), str):
            self._oi_by_item_id[item["id"]] = oi
        self._seen[oi] = item["type"]
        return oi, item

    def _reconcile(self, output: list[Any]) -> dict[int, int]:
        """Where each item of the terminal ``response.output`` was streamed: position -> output_index.

        The terminal response repeats the items, but not always as they were streamed: ``output_index``
        may skip numbers (C:openai__phase_two_messages.sse), GitHub Copilot rotates item ids, some servers
        leave a streamed reasoning item out.  So an item is matched by its item id, or a call by its call
        id, when that id was streamed and what was sent agrees; else to the next streamed index (in the
        order of both lists; out of order only as a last resort) whose sent text it continues; else to
        the next one of its type that sent nothing.  An unknown id proves nothing: OpenRouter keeps the
        message's id but renames the reasoning item's (C:openrouter__gpt_oss_reasoning_text_data_only_done).
        An item that matches nothing gets a fresh index: it was never streamed, and it is delivered once.
        """
        items = [
            (position, item)
            for position, item in enumerate(output)
            if isinstance(item, dict) and isinstance(item.get("type"), str)
        ]
        streamed = sorted(self._seen)
        rank = {oi: n for n, oi in enumerate(streamed)}
        by_call_id = {call.call_id: oi for oi, call in self._calls.items() if call.call_id}
        placed: dict[int, int] = {}
        claimed: set[int] = set()
        for position, item in items:
            item_id, call_id = item.get("id"), item.get("call_id")
            oi: int | None = self._oi_by_item_id.get(item_id) if isinstance(item_id, str) else None
            if oi is None and item["type"] in _CALL_TYPES and isinstance(call_id, str):
                oi = by_call_id.get(call_id)
            if oi is not None and oi not in claimed and self._affinity(oi, item) >= 0:
                placed[position] = oi
                claimed.add(oi)
        cursor = 0
        for position, item in items:
            if position in placed:
                cursor = max(cursor, rank[placed[position]] + 1)
                continue
            after = [oi for oi in streamed[cursor:] if oi not in claimed]
            before = [oi for oi in streamed[:cursor] if oi not in claimed]
            affinity = {oi: self._affinity(oi, item) for oi in after + before}
            found = next((oi for oi in after + before if affinity[oi] > 0), None)
            if found is None:
                found = next((oi for oi in after if affinity[oi] == 0), None)
            if found is None:  # never streamed
                found = max(self._seen, default=-1) + 1
                self._seen[found] = item["type"]
            else:
                claimed.add(found)
                cursor = max(cursor, rank[found] + 1)
            placed[position] = found
        return placed

    def _affinity(self, oi: int, item: dict[str, Any]) -> int:
        """How what was streamed at ``oi`` relates to the finished ``item``.

        -1: it cannot be that item (another type, text that ``item`` does not continue, another call
        id); 1: it is (what was sent is the start of ``item``'s text, or the call ids agree); 0: nothing
        tells (nothing was sent).
        """
        kind = item["type"]
        if self._seen.get(oi) not in (None, kind):
            return -1
        sent = {key[1:]: segment.sent() for key, segment in self._segments.items() if key[0] == oi}
        sent = {key: text for key, text in sent.items() if text}
        pairs: list[tuple[str, Any]] = []  # (text sent, the item's text at the same place)
        if kind in _CALL_TYPES:
            call = self._calls.get(oi)
            call_id = item.get("call_id")
            if call is not None and call.call_id and isinstance(call_id, str):
                return 1 if call.call_id == call_id else -1
            if call is not None and not call.opened:
                sent[(_ARGS, 0)] = "".join(call.pending)
            pairs = [(text, _call_text(item)) for (field, _), text in sent.items() if field == _ARGS]
        elif kind == "message":
            for (field, ci), text in sent.items():
                key = "text" if field == _TEXT else field
                pairs.append((text, _part_text(item.get("content"), ci, key)))
        elif kind == "reasoning":
            for (_, sub), text in sent.items():
                where = ("content", sub - _RAW) if sub >= _RAW else ("summary", sub)
                pairs.append((text, _part_text(item.get(where[0]), where[1], "text")))
        elif oi in self._hosted_sent:
            return 1 if self._seen.get(oi) == kind else -1
        if len(pairs) < len(sent) or any(not isinstance(f, str) or not f.startswith(t) for t, f in pairs):
            return -1  # text of another kind was sent there, or text this item does not continue
        return 1 if any(text for text, _ in pairs) else 0

    # -- function calls -----------------------------------------------------------------------------

    def _call(self, oi: int) -> _Call:
        call = self._calls.get(oi)
        if call is None:
            call = self._calls[oi] = _Call()
        return call

    def _learn_call(self, oi: int, item: dict[str, Any], where: str) -> _Call:
        """Take what ``item`` tells about its call (kind, call id, name) into the call's record."""
        call = self._call(oi)
        if call.opened:
            return call
        if item.get("type") == "custom_tool_call":
            call.kind, call.text_key = _CUSTOM_FORMS[self.custom_tool_calls]
            call.delta_type = "response.custom_tool_call_input.delta"
        call_id = _optional_str(item, "call_id", where)
        if call_id is None and isinstance(item.get("id"), str):
            call_id = item["id"]  # some servers give only the item id
        if call_id:
            call.call_id = call_id
        name = _optional_str(item, "name", where)
        if name:
            call.name = name
        return call

    def _open_call(
        self, oi: int, item: dict[str, Any], out: list[dict[str, Any]], where: str, final: bool
    ) -> None:
        """Send the call's first delta (id, type, name, and whatever arguments are known).

        A Chat client takes the name (and id) from the first fragment only, so the call waits while
        either is missing; argument deltas meanwhile wait in ``pending``.  When the item is finished
        (``final``: its ``output_item.done`` or the terminal response) it opens with what is known: a
        synthesized ``call_`` id, an empty name.
        """
        call = self._learn_call(oi, item, where)
        if call.opened or (not final and (call.call_id is None or not call.name)):
            return
        call.opened = True
        call.index = self._opened_calls
        self._opened_calls += 1
        self._shown_call = True
        if call.call_id is None:
            call.call_id = self._ids("call")
        arguments = "".join(call.pending)
        call.pending.clear()
        snapshot = _call_text(item)
        if isinstance(snapshot, str) and snapshot.startswith(arguments):
            arguments = snapshot  # a call delivered whole (or its done snapshot) goes out in one delta
        segment = self._segment((oi, _ARGS, 0))
        segment.pieces.append(arguments)
        self._heat_call(oi, call, segment)
        tool = {
            "index": call.index,
            "id": call.call_id,
            "type": call.kind,
            call.kind: {"name": call.name or "", call.text_key: arguments},
        }
        role = self._open(_ARGS, out)
        delta = {**role, "tool_calls": [tool]} if role is not None else {"tool_calls": [tool]}
        out.append(self._chunk(delta))

    def _send_args(self, oi: int, text: str, out: list[dict[str, Any]]) -> None:
        if not text:
            return
        call = self._call(oi)
        if not call.opened:
            call.pending.append(text)
            return
        segment = self._segment((oi, _ARGS, 0))
        segment.pieces.append(text)
        self._heat_call(oi, call, segment)
        out.append(self._chunk({"tool_calls": [{"index": call.index, call.kind: {call.text_key: text}}]}))

    def _catch_up_args(self, oi: int, full: Any, out: list[dict[str, Any]]) -> None:
        if not isinstance(full, str):
            return
        call = self._call(oi)
        if not call.opened:
            sent = "".join(call.pending)
            if len(full) > len(sent) and full.startswith(sent):
                call.pending[:] = [full]
            return
        segment = self._segment((oi, _ARGS, 0))
        sent = segment.sent()
        if len(full) > len(sent) and full.startswith(sent):
            self._send_args(oi, full[len(sent) :], out)

    # -- whole-item snapshots ------------------------------------------------------------------------

    def _snapshot_item(self, oi: int, item: dict[str, Any], out: list[dict[str, Any]], where: str) -> None:
        """Catch up everything a finished item (``output_item.done`` or ``response.output``) holds.

        ``where`` names the item in errors (``item``, ``response.output[2]``).
        """
        kind = item.get("type")
        if kind == "message":
            for ci, part in enumerate(_list(item, "content", where)):
                if isinstance(part, dict):
                    self._snapshot_part(oi, ci, part, out, f"{where}.content[{ci}]")
        elif kind in _CALL_TYPES:
            self._open_call(oi, item, out, where, final=True)
            self._catch_up_args(oi, _call_text(item), out)
        elif kind == "reasoning":
            for si, part in enumerate(_list(item, "summary", where)):
                if isinstance(part, dict):
                    self._catch_up((oi, _REASONING, si), part.get("text"), out)
            for ci, part in enumerate(_list(item, "content", where)):
                if isinstance(part, dict) and part.get("type") == "reasoning_text":
                    self._catch_up((oi, _REASONING, _RAW + ci), part.get("text"), out)
        elif self.surface_hosted_tools and oi not in self._hosted_sent:
            self._hosted_sent.add(oi)
            self._open("hosted", out)
            entry = {"index": len(self._hosted_sent) - 1, **item}
            out.append(self._chunk({"hosted_tool_calls": [entry]}))

    def _snapshot_part(
        self, oi: int, ci: int, part: dict[str, Any], out: list[dict[str, Any]], where: str
    ) -> None:
        kind = part.get("type")
        if kind == "output_text":
            self._catch_up((oi, _TEXT, ci), part.get("text"), out, part.get("logprobs"))
            annotations = part.get("annotations")
            if isinstance(annotations, list):
                segment = self._segment((oi, _TEXT, ci))
                for ai in range(segment.annotations, len(annotations)):
                    self._annotation(segment, ai, annotations[ai], out, f"{where}.annotations[{ai}]")
        elif kind == "refusal":
            self._catch_up((oi, _REFUSAL, ci), part.get("refusal"), out)

    def _annotation(
        self, segment: _Segment, ai: int, annotation: Any, out: list[dict[str, Any]], where: str
    ) -> None:
        """Annotation ``ai`` of a text segment; url_citation goes out, other kinds are dropped."""
        segment.annotations = max(segment.annotations, ai + 1)
        if not isinstance(annotation, dict) or annotation.get("type") != "url_citation":
            return
        for name, kind in (("url", str), ("title", str), ("start_index", int), ("end_index", int)):
            value = annotation.get(name)
            if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
                reason = f"url_citation {name} must be {_TYPE_NAMES[kind]}, got {type(value).__name__}"
                raise InvalidChunkError(reason, field=f"{where}.{name}")
        citation = {
            "url": annotation.get("url") or "",
            "title": annotation.get("title") or "",
            "start_index": segment.offset + (annotation.get("start_index") or 0),
            "end_index": segment.offset + (annotation.get("end_index") or 0),
        }
        entry = {"index": self._annotation_count, "type": "url_citation", "url_citation": citation}
        self._annotation_count += 1
        self._open(_TEXT, out)
        out.append(self._chunk({"annotations": [entry]}))

    # -- event handlers -------------------------------------------------------------------------------

    def _on_item_added(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        oi, item = self._item(event, index)
        if item["type"] in _CALL_TYPES:
            self._open_call(oi, item, out, "item", final=False)
            self._catch_up_args(oi, _call_text(item), out)

    def _on_item_done(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        oi, item = self._item(event, index)
        self._snapshot_item(oi, item, out, "item")

    def _on_part_done(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        oi = self._oi(event, index)
        part = event.get("part")
        ci = event.get("content_index", 0)
        if isinstance(part, dict) and isinstance(ci, int):
            if part.get("type") == "reasoning_text":
                self._catch_up((oi, _REASONING, _RAW + ci), part.get("text"), out)
            else:
                self._snapshot_part(oi, ci, part, out, "part")

    def _on_text_delta(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        logprobs = event.get("logprobs")
        self._send_text(
            (self._oi(event, index), _TEXT, _int(event, "content_index", index)),
            _str(event, "delta", index),
            out,
            logprobs if isinstance(logprobs, list) else None,
        )

    def _on_text_done(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        key = (self._oi(event, index), _TEXT, _int(event, "content_index", index))
        self._catch_up(key, event.get("text"), out, event.get("logprobs"))

    def _on_annotation(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        segment = self._segment((self._oi(event, index), _TEXT, _int(event, "content_index", index)))
        ai = event.get("annotation_index")
        ai = ai if isinstance(ai, int) else segment.annotations
        self._annotation(segment, ai, event.get("annotation"), out, "annotation")

    def _on_refusal_delta(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        key = (self._oi(event, index), _REFUSAL, _int(event, "content_index", index))
        self._send_text(key, _str(event, "delta", index), out)

    def _on_refusal_done(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        key = (self._oi(event, index), _REFUSAL, _int(event, "content_index", index))
        self._catch_up(key, event.get("refusal"), out)

    def _on_summary_delta(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        key = (self._oi(event, index), _REASONING, _int(event, "summary_index", index))
        self._send_text(key, _str(event, "delta", index), out)

    def _on_summary_done(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        key = (self._oi(event, index), _REASONING, _int(event, "summary_index", index))
        text = event.get("text")
        if text is None and isinstance(event.get("part"), dict):  # reasoning_summary_part.done
            text = event["part"].get("text")
        self._catch_up(key, text, out)

    def _on_reasoning_text_delta(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        key = (self._oi(event, index), _REASONING, _RAW + _int(event, "content_index", index))
        self._send_text(key, _str(event, "delta", index), out)

    def _on_reasoning_text_done(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        key = (self._oi(event, index), _REASONING, _RAW + _int(event, "content_index", index))
        self._catch_up(key, event.get("text"), out)

    def _on_args_delta(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        self._send_args(self._oi(event, index), _str(event, "delta", index), out)

    def _on_args_done(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        oi = self._oi(event, index)
        if isinstance(event.get("name"), str) and not self._call(oi).opened:
            # some servers name the call here (not in the SDK's event type): it may open now
            self._open_call(oi, {"name": event["name"]}, out, "name", final=False)
        self._catch_up_args(oi, event.get("arguments"), out)

    def _on_input_done(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        self._catch_up_args(self._oi(event, index), event.get("input"), out)

    def _on_terminal(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        response = event.get("response")
        if not isinstance(response, dict):
            raise InvalidChunkError("terminal event without a response object", index=index, field="response")
        # items whose events went missing (no output_item.done: C:openai__mcp_list_tools_three_servers...)
        output = response.get("output") or []
        if not isinstance(output, list):
            raise InvalidChunkError("response.output must be a list", index=index, field="response.output")
        placed = self._reconcile(output)
        # text that continues what was streamed last goes first: appended anywhere later, it would
        # land inside another item's text
        streaming = {key[0] for key in self._last.values()}
        for position in sorted(placed, key=lambda position: (placed[position] not in streaming, position)):
            self._snapshot_item(placed[position], output[position], out, f"response.output[{position}]")
        for oi, call in self._calls.items():  # calls still waiting for a name the stream never gave
            if not call.opened and (call.pending or call.call_id is not None):
                self._open_call(oi, {}, out, "response", final=True)
        self._open(_TEXT, out)  # an empty response still gets its role chunk
        if response.get("status") == "incomplete":
            finish = finish_reason_for_response(response)
        else:
            finish = "tool_calls" if self._shown_call else "stop"
        out.append(self._chunk({}, finish_reason=finish))
        usage = response.get("usage")
        if self.include_usage and isinstance(usage, dict):
            assert self._base is not None
            last = dict(self._base)
            last["choices"] = []
            last["usage"] = responses_usage_to_chat(usage)
            out.append(last)
        self.phase = Phase.DONE
        self._hot = None

    def _on_error(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        # Wire form nests the fields under "error" (C:openai__error_event_then_failed.sse); the SDK's
        # ResponseErrorEvent has them at the top level.  Accept both.
        inner = event.get("error")
        source = inner if isinstance(inner, dict) else event
        out += self._fail(
            source.get("message") or "the upstream response failed",
            source.get("type") or source.get("code") or "server_error",
            source.get("code"),
            source.get("param"),
        )

    def _on_failed(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        response = event.get("response")
        error = response.get("error") if isinstance(response, dict) else None
        error = error if isinstance(error, dict) else {}
        out += self._fail(
            error.get("message") or "the upstream response failed",
            error.get("type") or error.get("code") or "server_error",
            error.get("code"),
            error.get("param"),
        )

    def _fail(self, message: Any, kind: Any, code: Any, param: Any) -> list[dict[str, Any]]:
        self.phase = Phase.FAILED
        self._hot = None
        return [{"error": {"message": str(message), "type": kind, "code": code, "param": param}}]

    def _fail_cut(self, reason: str) -> list[dict[str, Any]]:
        return self._fail(reason, "stream_error", "stream_incomplete", None)


def _str(event: dict[str, Any], name: str, index: int) -> str:
    value = event.get(name)
    if not isinstance(value, str):
        reason = f"{name} must be a string, got {type(value).__name__}"
        raise InvalidChunkError(reason, index=index, field=name)
    return value


def _part_text(parts: Any, n: int, key: str) -> Any:
    """``parts[n][key]`` when ``parts`` is a list holding an object there, else ``None``."""
    if isinstance(parts, list) and 0 <= n < len(parts) and isinstance(parts[n], dict):
        return parts[n].get(key)
    return None


def _call_text(item: dict[str, Any]) -> Any:
    """A call item's text: ``input`` of a custom_tool_call, ``arguments`` of a function_call."""
    return item.get("input" if item.get("type") == "custom_tool_call" else "arguments")


def _list(item: dict[str, Any], name: str, where: str) -> list[Any]:
    """``item[name]`` as a list (absent or null: empty), or :class:`InvalidChunkError`."""
    value = item.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidChunkError(f"{name} must be a list, got {type(value).__name__}", field=f"{where}.{name}")
    return value


def _optional_str(item: dict[str, Any], name: str, where: str) -> str | None:
    """``item[name]`` when it is a string, ``None`` when absent or null, else :class:`InvalidChunkError`."""
    value = item.get(name)
    if value is None or isinstance(value, str):
        return value
    raise InvalidChunkError(f"{name} must be a string, got {type(value).__name__}", field=f"{where}.{name}")


def _finite(value: Any) -> TypeGuard[float]:
    """A number ``int()`` can take (``created_at``): not a bool, NaN or infinity."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value)


_TYPE_NAMES = {str: "a string", int: "an integer"}


def _int(event: dict[str, Any], name: str, index: int) -> int:
    value = event.get(name, 0)
    if not isinstance(value, int) or isinstance(value, bool):
        reason = f"{name} must be an integer, got {type(value).__name__}"
        raise InvalidChunkError(reason, index=index, field=name)
    return value


_Handler = Callable[[ResponsesToChat, dict[str, Any], int, list[dict[str, Any]]], None]

#: Wire ``type`` -> handler.  Types not listed (lifecycle, content_part.added, hosted-tool progress,
#: audio, shell, types newer than this table) produce nothing.
_HANDLERS: dict[str, _Handler] = {
    "response.output_item.added": ResponsesToChat._on_item_added,
    "response.output_item.done": ResponsesToChat._on_item_done,
    "response.content_part.done": ResponsesToChat._on_part_done,
    "response.output_text.delta": ResponsesToChat._on_text_delta,
    "response.output_text.done": ResponsesToChat._on_text_done,
    "response.output_text.annotation.added": ResponsesToChat._on_annotation,
    "response.refusal.delta": ResponsesToChat._on_refusal_delta,
    "response.refusal.done": ResponsesToChat._on_refusal_done,
    "response.reasoning_summary_text.delta": ResponsesToChat._on_summary_delta,
    "response.reasoning_summary_text.done": ResponsesToChat._on_summary_done,
    "response.reasoning_summary_part.done": ResponsesToChat._on_summary_done,
    "response.reasoning_text.delta": ResponsesToChat._on_reasoning_text_delta,
    "response.reasoning_text.done": ResponsesToChat._on_reasoning_text_done,
    "response.function_call_arguments.delta": ResponsesToChat._on_args_delta,
    "response.function_call_arguments.done": ResponsesToChat._on_args_done,
    "response.custom_tool_call_input.delta": ResponsesToChat._on_args_delta,
    "response.custom_tool_call_input.done": ResponsesToChat._on_input_done,
    "response.completed": ResponsesToChat._on_terminal,
    "response.incomplete": ResponsesToChat._on_terminal,
    "response.failed": ResponsesToChat._on_failed,
    "error": ResponsesToChat._on_error,
}


# -- shells ----------------------------------------------------------------------------------------


def translate_responses_stream(events: Iterable[Any], **options: Any) -> Iterator[dict[str, Any]]:
    """Chat chunks for an iterable of Responses events (dicts, SDK objects or byte slices)."""
    return drive(ResponsesToChat(**options), events)


def atranslate_responses_stream(events: AsyncIterable[Any], **options: Any) -> AsyncIterator[dict[str, Any]]:
    """Async twin of :func:`translate_responses_stream`."""
    return adrive(ResponsesToChat(**options), events)


def _written(chunks: list[Any]) -> bytes:
    """Chunks as Chat SSE frames; frames the hot path wrote already pass through.

    An error chunk becomes ``event: error`` (as Groq sends it) and nothing after it is written.
    """
    try:
        return b"".join(chunks)  # only frames the hot path wrote (nearly every read of a stream)
    except TypeError:
        pass
    frames = []
    for chunk in chunks:
        if chunk.__class__ is bytes:
            frames.append(chunk)
        elif "error" in chunk:
            frames.append(encode_sse(chunk, event="error"))
            break
        else:
            frames.append(encode_sse(chunk))
    return b"".join(frames)
