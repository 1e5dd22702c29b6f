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
(clients append; a correction cannot be expressed).  Segments and calls: :mod:`.chat_segments`; how
the items of the terminal response are matched to what was streamed: :mod:`.reconcile`.

The per-event path: the *hot segment* (the one that sent text last) takes its next plain deltas
(same type, output_index and sub-index, no logprobs) in one loop, without the handlers.  ``feed()``
returns their chunks; ``feed_runs()`` returns each such run as ``(shape, texts)`` instead, so a writer
puts the texts straight into frames of that shape without building a chunk per delta
(:class:`translator.wire.chat_sse.ChatSSEWriter`; ``delta_chunk(shape, text)`` is the chunk each
text stands for).

Output conventions (documented in docs/streams.md, "Responses to Chat Completions"):

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
  shape (docs/streams.md says why the SDK-readable form is the default).
* Items Chat cannot carry (web/file search, code interpreter, MCP, image generation, shell, ...)
  are dropped unless ``surface_hosted_tools=True``: then each finished item is sent once,
  verbatim plus an ``index``, on the non-standard ``delta.hosted_tool_calls``.
* Failure (``error`` event, ``response.failed``, or a stream cut) ends the stream with one chunk
  ``{"error": {"message", "type", "code", "param"}}``: the openai SDK raises ``APIError`` on it.
"""

from __future__ import annotations

import enum
import warnings
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, Protocol

from ..engine.feed import FeedBase, adrive, drive
from ..engine.sse import Done
from ..engine.surrogates import HIGH_FIRST, HIGH_LAST, hold_split_pair, join_pairs
from ..errors import InvalidChunkError, StreamError, TranslatorError
from ..ids import Clock, IdSource, random_id, system_clock
from ..protocol.mapping import finish_reason_for_response, responses_logprob_to_chat, responses_usage_to_chat
from .chat_segments import (
    ARGS,
    CALL_TYPES,
    CUSTOM_FORMS,
    RAW,
    REASONING,
    REFUSAL,
    TEXT,
    Call,
    DeltaShape,
    HotRun,
    HotSegment,
    Segment,
    call_text,
    delta_event,
)
from .event_fields import TYPE_NAMES, field_int, field_list, field_str, finite, optional_str
from .reconcile import Streamed, cut_calls, reconcile

__all__ = [
    "DeltaShape",
    "HotRun",
    "Phase",
    "ResponsesToChat",
    "atranslate_responses_stream",
    "translate_responses_stream",
]

#: ``service_tier`` values a ``ChatCompletionChunk`` accepts; others (``fast``...) are left out.
_CHAT_SERVICE_TIERS = frozenset({"auto", "default", "flex", "scale", "priority"})


class Phase(enum.Enum):
    """Where a :class:`ResponsesToChat` is in its stream (``translator.phase``)."""

    START = "start"  #: nothing seen yet
    STREAMING = "streaming"  #: a response object was seen; translating
    DONE = "done"  #: completed / incomplete handled; later events are ignored
    FAILED = "failed"  #: an error chunk was sent; later events are ignored


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
        if custom_tool_calls not in CUSTOM_FORMS:
            raise ValueError(f"custom_tool_calls must be 'function' or 'custom', got {custom_tool_calls!r}")
        self.custom_tool_calls = custom_tool_calls
        self.separator = separator
        self._ids = ids
        self._clock = clock
        self.phase = Phase.START
        self._base: dict[str, Any] | None = None  #: id/object/created/model(/service_tier) of every chunk
        self._started = False  #: the role chunk was sent
        self._segments: dict[tuple[int, str, int], Segment] = {}
        self._last: dict[str, tuple[int, str, int]] = {}  #: field -> last segment that sent text into it
        self._content_len = 0  #: characters of ``content`` sent (annotation offsets)
        self._calls: dict[int, Call] = {}  #: output_index -> function or custom tool call
        self._opened_calls = 0  #: calls sent so far (the next ``tool_calls[].index``)
        self._oi_by_item_id: dict[str, int] = {}
        self._seen: dict[int, str | None] = {}  #: output_index -> item type (None: not known yet)
        self._hosted_sent: set[int] = set()  #: output indexes surfaced as hosted items
        self._annotation_count = 0  #: entries in the client's ``message.annotations``
        self._shown_call = False  #: a tool call was shown to the client
        self._last_type = "<none>"
        self._hot: HotSegment | None = None  #: its plain deltas are sent by :meth:`_take_run` alone
        self._sse_writer: _SSEWriter | None = None  #: the writer behind the deprecated feed_sse()/close_sse()
        #: the terminal response's ``usage`` as the upstream reported it (Responses' shape), whether or not
        #: ``include_usage`` sends it on (the gateway counts tokens from it)
        self.upstream_usage: dict[str, Any] | None = None

    # -- FeedBase hooks ---------------------------------------------------------------------------

    def _feed_payload(self, payload: dict[str, Any] | Done, index: int) -> list[dict[str, Any]]:
        hot = self._hot
        if hot is not None and self._take_run(hot, (payload,), 0):
            return [self.delta_chunk(hot.shape, hot.pieces[-1])]
        return self._feed_event(payload, index)

    def _payloads(self, payloads: list[dict[str, Any] | Done], out: list[Any], runs: bool = False) -> None:
        """:meth:`FeedBase._payloads`, with each run of plain deltas of the hot segment taken in one loop
        (giving their chunks, or with ``runs`` one :data:`HotRun`); the events between runs (a few per
        item) go one at a time through the base class."""
        start, total = 0, len(payloads)
        while start < total:
            hot = self._hot
            if hot is not None:
                taken = self._take_run(hot, payloads, start)
                if taken:
                    self._index += taken
                    start += taken
                    texts = hot.pieces[-taken:]
                    if runs:
                        out.append((hot.shape, texts))
                    else:
                        shape, chunk = hot.shape, self.delta_chunk
                        out += [chunk(shape, text) for text in texts]
            if start < total:
                super()._payloads(payloads[start : start + 1], out)
                start += 1

    def _runs(self, payloads: list[dict[str, Any] | Done], out: list[Any]) -> None:
        self._payloads(payloads, out, runs=True)

    def _stopped(self, exc: TranslatorError, out: list[Any]) -> TranslatorError:
        # runs held back for the next call are kept as their chunks: feed() and close() return chunks only
        if any(item.__class__ is tuple for item in out):
            out[:] = self._chunks(out)
        return super()._stopped(exc, out)

    # -- the hot segment: runs of plain deltas -------------------------------------------------------

    def feed_runs(self, item: Any) -> list[dict[str, Any] | HotRun]:
        """:meth:`feed`, with each run of plain deltas of the hot segment given as one :data:`HotRun`
        ``(shape, texts)`` instead of one chunk per delta: for writers, which put those texts straight
        into the frame of their shape (``translator.wire.chat_sse.ChatSSEWriter``).

        ``feed(item)`` is ``feed_runs(item)`` with each run replaced by its chunks,
        ``[translator.delta_chunk(shape, text) for text in texts]``; a run holds one delta or more.
        """
        if item.__class__ is dict and self._plain:  # one event (nothing decoded, nothing held back)
            out: list[Any] = []
            self._runs([item], out)
            return out
        return self._feed_item(item, self._runs)

    def delta_chunk(self, shape: DeltaShape, text: str) -> dict[str, Any]:
        """The chunk that sends ``text`` to ``shape``: what each text of a :data:`HotRun` stands for.

        Chunks of one shape differ only in the text (a writer may cut its frame template from one).
        """
        if isinstance(shape, str):
            return self._chunk({shape: text})
        index, kind, key = shape
        return self._chunk({"tool_calls": [{"index": index, kind: {key: text}}]})

    def _take_run(self, hot: HotSegment, payloads: Sequence[Any], start: int) -> int:
        """Take the plain deltas of ``hot`` from ``payloads[start]`` on (same type, output_index and
        sub-index, no logprobs): their texts are appended to the segment; the number taken.

        The per-event path of nearly every event of a stream.
        """
        hot_type, oi, sub_name, sub = hot.event_type, hot.output_index, hot.sub_field, hot.sub_index
        pieces = hot.pieces
        append = pieces.append
        content = hot.content
        before = len(pieces)
        try:  # an event without one of the fields (KeyError) or DONE (TypeError) ends the run
            for event in islice(payloads, start, None):
                text = event["delta"]
                if not (
                    event["type"] == hot_type
                    and text.__class__ is str
                    and text
                    and event["output_index"] == oi
                    and (sub_name is None or (event[sub_name] == sub and not event.get("logprobs")))
                    and (text.isascii() or not "\ud800" <= text[-1] <= "\udbff")  # (half a character: held)
                ):
                    break
                append(text)
                if content:
                    self._content_len += len(text)
        except (KeyError, TypeError):
            pass
        taken = len(pieces) - before
        if taken:
            self._last_type = hot_type
        return taken

    def _chunks(self, out: list[Any]) -> list[dict[str, Any]]:
        """``out`` with each :data:`HotRun` replaced by its chunks."""
        chunks: list[dict[str, Any]] = []
        for item in out:
            if item.__class__ is tuple:
                shape, texts = item
                chunks += [self.delta_chunk(shape, text) for text in texts]
            else:
                chunks.append(item)
        return chunks

    def _heat(self, key: tuple[int, str, int], segment: Segment, name: str) -> None:
        """Make segment ``key`` (just sent text into delta field ``name``) the hot one."""
        if self._hot is None or self._hot.pieces is not segment.pieces:
            oi, kind, sub = key
            event_type, sub_field, sub_index = delta_event(kind, sub)
            self._hot = HotSegment(event_type, oi, sub_field, sub_index, segment.pieces, kind == TEXT, name)

    def _heat_call(self, oi: int, call: Call, segment: Segment) -> None:
        """Make the arguments of ``call`` (at ``oi``, opened) the hot segment."""
        if self._hot is None or self._hot.pieces is not segment.pieces:
            shape = (call.index, call.kind, call.text_key)
            self._hot = HotSegment(call.delta_type, oi, None, 0, segment.pieces, False, shape)

    # -- deprecated: SSE output on the translator (kept for one release) ----------------------------

    def feed_sse(self, item: Any) -> bytes:
        """Deprecated: ``ChatSSEWriter(translator).feed(item)`` (:mod:`translator.wire.chat_sse`)."""
        return self._deprecated_writer("feed_sse").feed(item)

    def close_sse(self) -> bytes:
        """Deprecated: ``ChatSSEWriter(translator).close()`` (:mod:`translator.wire.chat_sse`)."""
        return self._deprecated_writer("close_sse").close()

    def _deprecated_writer(self, name: str) -> _SSEWriter:
        warnings.warn(
            f"ResponsesToChat.{name}() is deprecated: write through"
            " translator.wire.chat_sse.ChatSSEWriter(translator); it will be removed in the next release",
            DeprecationWarning,
            stacklevel=3,
        )
        if self._sse_writer is None:
            assert _sse_writer is not None  # importing translator imports translator.wire.chat_sse
            self._sse_writer = _sse_writer(self)
        return self._sse_writer

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
            "created": int(created) if finite(created) else self._clock(),
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
            "content": "" if first == TEXT else None,
            "refusal": "" if first == REFUSAL else None,
        }
        if first == ARGS:
            return delta
        out.append(self._chunk(delta))
        return None

    def _send_text(
        self,
        key: tuple[int, str, int],
        text: str,
        out: list[dict[str, Any]],
        logprobs: list[Any] | None = None,
        hold: bool = True,
    ) -> None:
        """Send ``text`` for the segment ``key`` (content, refusal or reasoning); with ``hold``, half of a
        character split from its other half waits for it (:mod:`translator.engine.surrogates`)."""
        kind = key[1]
        name = self.reasoning_field if kind == REASONING else kind
        if name is None:
            return
        segment = self._segment(key)
        if hold and (segment.held or HIGH_FIRST <= text[-1:] <= HIGH_LAST):
            text, segment.held = hold_split_pair(segment.held, text)
        if not (text or logprobs):
            return
        payload = text
        if text:
            if not segment.pieces and self._last.get(kind) not in (None, key):
                payload = self.separator + text  # a new segment of a field that already has text
            if kind == TEXT and not segment.pieces:
                segment.offset = self._content_len + len(payload) - len(text)
            segment.pieces.append(text)
            self._last[kind] = key
            if segment.held:
                self._hot = None  # its next delta must meet the held half: the handler's way
            else:
                self._heat(key, segment, name)
        self._open(kind, out)
        lp = None
        if logprobs:
            segment.logprobs += len(logprobs)
            lp = {"content": [responses_logprob_to_chat(entry) for entry in logprobs], "refusal": None}
        if kind == TEXT:
            self._content_len += len(payload)
        out.append(self._chunk({name: payload}, logprobs=lp))

    def _segment(self, key: tuple[int, str, int]) -> Segment:
        segment = self._segments.get(key)
        if segment is None:
            segment = self._segments[key] = Segment()
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
            if segment is not None:
                segment.held = ""  # the snapshot has the character a held half was part of
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

    # -- function calls -----------------------------------------------------------------------------

    def _call(self, oi: int) -> Call:
        call = self._calls.get(oi)
        if call is None:
            call = self._calls[oi] = Call()
        return call

    def _learn_call(self, oi: int, item: dict[str, Any], where: str) -> Call:
        """Take what ``item`` tells about its call (kind, call id, name) into the call's record."""
        call = self._call(oi)
        if call.opened:
            return call
        if item.get("type") == "custom_tool_call":
            call.kind, call.text_key = CUSTOM_FORMS[self.custom_tool_calls]
            call.delta_type = "response.custom_tool_call_input.delta"
        call_id = optional_str(item, "call_id", where)
        if call_id is None and isinstance(item.get("id"), str):
            call_id = item["id"]  # some servers give only the item id
        if call_id:
            call.call_id = call_id
        name = optional_str(item, "name", where)
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
        arguments = join_pairs("".join(call.pending)) if call.pending else ""
        call.pending.clear()
        snapshot = call_text(item)
        segment = self._segment((oi, ARGS, 0))
        if isinstance(snapshot, str) and snapshot.startswith(arguments):
            arguments = snapshot  # a call delivered whole (or its done snapshot) goes out in one delta
        elif not final:  # a half character at the end of what waited waits for its other half
            arguments, segment.held = hold_split_pair("", arguments)
        segment.pieces.append(arguments)
        if segment.held:
            self._hot = None  # its next delta must meet the held half: the handler's way
        else:
            self._heat_call(oi, call, segment)
        tool = {
            "index": call.index,
            "id": call.call_id,
            "type": call.kind,
            call.kind: {"name": call.name or "", call.text_key: arguments},
        }
        role = self._open(ARGS, out)
        delta = {**role, "tool_calls": [tool]} if role is not None else {"tool_calls": [tool]}
        out.append(self._chunk(delta))

    def _send_args(self, oi: int, text: str, out: list[dict[str, Any]], hold: bool = True) -> None:
        if not text:
            return
        call = self._call(oi)
        if not call.opened:
            call.pending.append(text)
            return
        segment = self._segment((oi, ARGS, 0))
        if hold and (segment.held or HIGH_FIRST <= text[-1] <= HIGH_LAST):  # half of a character
            text, segment.held = hold_split_pair(segment.held, text)
            if not text:
                self._hot = None
                return
        segment.pieces.append(text)
        if segment.held:
            self._hot = None  # its next delta must meet the held half: the handler's way
        else:
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
        segment = self._segment((oi, ARGS, 0))
        sent = segment.sent()
        if len(full) > len(sent) and full.startswith(sent):
            segment.held = ""  # the snapshot has the character a held half was part of
            self._send_args(oi, full[len(sent) :], out)

    # -- whole-item snapshots ------------------------------------------------------------------------

    def _snapshot_item(self, oi: int, item: dict[str, Any], out: list[dict[str, Any]], where: str) -> None:
        """Catch up everything a finished item (``output_item.done`` or ``response.output``) holds.

        ``where`` names the item in errors (``item``, ``response.output[2]``).
        """
        kind = item.get("type")
        if kind == "message":
            for ci, part in enumerate(field_list(item, "content", where)):
                if isinstance(part, dict):
                    self._snapshot_part(oi, ci, part, out, f"{where}.content[{ci}]")
        elif kind in CALL_TYPES:
            self._open_call(oi, item, out, where, final=True)
            self._catch_up_args(oi, call_text(item), out)
        elif kind == "reasoning":
            for si, part in enumerate(field_list(item, "summary", where)):
                if isinstance(part, dict):
                    self._catch_up((oi, REASONING, si), part.get("text"), out)
            for ci, part in enumerate(field_list(item, "content", where)):
                if isinstance(part, dict) and part.get("type") == "reasoning_text":
                    self._catch_up((oi, REASONING, RAW + ci), part.get("text"), out)
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
            self._catch_up((oi, TEXT, ci), part.get("text"), out, part.get("logprobs"))
            annotations = part.get("annotations")
            if isinstance(annotations, list):
                segment = self._segment((oi, TEXT, ci))
                for ai in range(segment.annotations, len(annotations)):
                    self._annotation(segment, ai, annotations[ai], out, f"{where}.annotations[{ai}]")
        elif kind == "refusal":
            self._catch_up((oi, REFUSAL, ci), part.get("refusal"), out)

    def _annotation(
        self, segment: Segment, ai: int, annotation: Any, out: list[dict[str, Any]], where: str
    ) -> None:
        """Annotation ``ai`` of a text segment; url_citation goes out, other kinds are dropped."""
        segment.annotations = max(segment.annotations, ai + 1)
        if not isinstance(annotation, dict) or annotation.get("type") != "url_citation":
            return
        for name, kind in (("url", str), ("title", str), ("start_index", int), ("end_index", int)):
            value = annotation.get(name)
            if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
                reason = f"url_citation {name} must be {TYPE_NAMES[kind]}, got {type(value).__name__}"
                raise InvalidChunkError(reason, field=f"{where}.{name}")
        citation = {
            "url": annotation.get("url") or "",
            "title": annotation.get("title") or "",
            "start_index": segment.offset + (annotation.get("start_index") or 0),
            "end_index": segment.offset + (annotation.get("end_index") or 0),
        }
        entry = {"index": self._annotation_count, "type": "url_citation", "url_citation": citation}
        self._annotation_count += 1
        self._open(TEXT, out)
        out.append(self._chunk({"annotations": [entry]}))

    # -- event handlers -------------------------------------------------------------------------------

    def _on_item_added(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        oi, item = self._item(event, index)
        if item["type"] in CALL_TYPES:
            self._open_call(oi, item, out, "item", final=False)
            self._catch_up_args(oi, call_text(item), out)

    def _on_item_done(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        oi, item = self._item(event, index)
        if item["type"] in CALL_TYPES:
            self._call(oi).finished = True
        self._snapshot_item(oi, item, out, "item")

    def _on_part_done(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        oi = self._oi(event, index)
        part = event.get("part")
        ci = event.get("content_index", 0)
        if isinstance(part, dict) and isinstance(ci, int):
            if part.get("type") == "reasoning_text":
                self._catch_up((oi, REASONING, RAW + ci), part.get("text"), out)
            else:
                self._snapshot_part(oi, ci, part, out, "part")

    def _on_text_delta(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        logprobs = event.get("logprobs")
        self._send_text(
            (self._oi(event, index), TEXT, field_int(event, "content_index", index)),
            field_str(event, "delta", index),
            out,
            logprobs if isinstance(logprobs, list) else None,
        )

    def _on_text_done(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        key = (self._oi(event, index), TEXT, field_int(event, "content_index", index))
        self._catch_up(key, event.get("text"), out, event.get("logprobs"))

    def _on_annotation(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        segment = self._segment((self._oi(event, index), TEXT, field_int(event, "content_index", index)))
        ai = event.get("annotation_index")
        ai = ai if isinstance(ai, int) else segment.annotations
        self._annotation(segment, ai, event.get("annotation"), out, "annotation")

    def _on_refusal_delta(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        key = (self._oi(event, index), REFUSAL, field_int(event, "content_index", index))
        self._send_text(key, field_str(event, "delta", index), out)

    def _on_refusal_done(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        key = (self._oi(event, index), REFUSAL, field_int(event, "content_index", index))
        self._catch_up(key, event.get("refusal"), out)

    def _on_summary_delta(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        key = (self._oi(event, index), REASONING, field_int(event, "summary_index", index))
        self._send_text(key, field_str(event, "delta", index), out)

    def _on_summary_done(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        key = (self._oi(event, index), REASONING, field_int(event, "summary_index", index))
        text = event.get("text")
        if text is None and isinstance(event.get("part"), dict):  # reasoning_summary_part.done
            text = event["part"].get("text")
        self._catch_up(key, text, out)

    def _on_reasoning_text_delta(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        key = (self._oi(event, index), REASONING, RAW + field_int(event, "content_index", index))
        self._send_text(key, field_str(event, "delta", index), out)

    def _on_reasoning_text_done(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        key = (self._oi(event, index), REASONING, RAW + field_int(event, "content_index", index))
        self._catch_up(key, event.get("text"), out)

    def _on_args_delta(self, event: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        self._send_args(self._oi(event, index), field_str(event, "delta", index), out)

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
        streamed = Streamed(self._seen, self._oi_by_item_id, self._segments, self._calls, self._hosted_sent)
        placed = reconcile(output, streamed)
        cut = cut_calls(response, output, placed, self._calls)
        # text that continues what was streamed last goes first: appended anywhere later, it would
        # land inside another item's text
        streaming = {key[0] for key in self._last.values()}
        for position in sorted(placed, key=lambda position: (placed[position] not in streaming, position)):
            if placed[position] not in cut:
                self._snapshot_item(placed[position], output[position], out, f"response.output[{position}]")
        for oi, call in self._calls.items():  # calls still waiting for a name the stream never gave
            if oi not in cut and not call.opened and (call.pending or call.call_id is not None):
                self._open_call(oi, {}, out, "response", final=True)
        self._flush_held(cut, out)
        self._open(TEXT, out)  # an empty response still gets its role chunk
        if response.get("status") == "incomplete":
            finish = finish_reason_for_response(response)
        else:
            finish = "tool_calls" if self._shown_call else "stop"
        out.append(self._chunk({}, finish_reason=finish))
        usage = response.get("usage")
        if isinstance(usage, dict):
            self.upstream_usage = usage
        if self.include_usage and isinstance(usage, dict):
            assert self._base is not None
            last = dict(self._base)
            last["choices"] = []
            last["usage"] = responses_usage_to_chat(usage)
            out.append(last)
        self.phase = Phase.DONE
        self._hot = None

    def _flush_held(self, cut: set[int], out: list[dict[str, Any]]) -> None:
        """Halves of characters still held when the response ends (no other half came): each goes out
        alone (U+FFFD when written), except into a call the response cut."""
        for key, segment in self._segments.items():
            if segment.held:
                held, segment.held = segment.held, ""
                if key[1] != ARGS:
                    self._send_text(key, held, out, hold=False)
                elif key[0] not in cut:
                    self._send_args(key[0], held, out, hold=False)

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


#: What the deprecated ``feed_sse``/``close_sse`` write through: ``translator.wire.chat_sse.ChatSSEWriter``,
#: which registers itself (``wire`` sits above ``streams``, so this module cannot import it; importing
#: ``translator`` imports it).  Goes with the two methods in the next release.
_sse_writer: Callable[[ResponsesToChat], _SSEWriter] | None = None


class _SSEWriter(Protocol):
    def feed(self, item: Any) -> bytes: ...
    def close(self) -> bytes: ...


def register_sse_writer(writer: Callable[[ResponsesToChat], _SSEWriter]) -> None:
    """Set the writer behind the deprecated ``feed_sse``/``close_sse`` (called by ``wire.chat_sse``)."""
    global _sse_writer
    _sse_writer = writer


# -- shells ----------------------------------------------------------------------------------------


def translate_responses_stream(events: Iterable[Any], **options: Any) -> Iterator[dict[str, Any]]:
    """Chat chunks for an iterable of Responses events (dicts, SDK objects or byte slices)."""
    return drive(ResponsesToChat(**options), events)


def atranslate_responses_stream(events: AsyncIterable[Any], **options: Any) -> AsyncIterator[dict[str, Any]]:
    """Async twin of :func:`translate_responses_stream`."""
    return adrive(ResponsesToChat(**options), events)
