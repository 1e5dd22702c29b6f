"""Chat Completions chunk stream -> Responses API event stream, sans-I/O.

``ChatToResponses().feed(chunk)`` returns the Responses events that chunk produces, at once: every
delta leaves on the chunk that carried it.  ``close()`` ends the stream; over a whole stream exactly
one terminal event (``response.completed`` / ``response.incomplete`` / ``response.failed``) is
emitted, whatever the input did (finished, errored, or was cut).  When it failed, the item that was
open is never announced done (no ``*.done``, no ``output_item.done``): the failed response lists it,
status ``incomplete`` (``_leave_unfinished``); nor is a tool call cut inside its arguments.

Output items are sequential, as OpenAI streams them: an item's ``output_item.done`` goes out before
the next item's ``output_item.added``.  The exceptions to "no buffering" follow from that: a tool
call's item opens with its first argument fragment (a header alone waits, so arguments that come
after other content are still accepted), and while the open call's arguments have started but are
not yet complete JSON, whatever else arrives (another call's fragments, text, reasoning) waits until
they are (or the choice finishes), then goes out in arrival order.

The parts, each in its own module:

* :mod:`.chat_phases`: the phase of the translation and the table of what moves it (a finish_reason
  closes the items, usage or ``[DONE]`` ends the response...);
* :mod:`.provider_quirks`: what providers send beyond OpenAI's chunks (reasoning dialects, error
  chunks, call ids...), each reader naming its provider and a recording;
* :mod:`.chat_tool_calls`: which call a tool-call delta continues, and its arguments so far;
* :mod:`.chat_waiting`: what waits for the open call's arguments;
* :mod:`.item_writers`: the events, one writer per output item kind.

This module routes: a chunk goes to its reader by phase (``_READERS``); a delta's fields go, in a
fixed order, to the handler of each (``_fields``); a delta that carries one field alone (nearly all
of them: text, reasoning, one argument fragment) goes straight to that field's handler by
``_ROUTES``, from the dict path (``_feed_payload``) and from the SDK object path (``_feed_model``)
alike; handlers decide which item the input belongs to (and whether it waits) and call its writer.
``tool_map`` turns calls back into the client's Responses tools (namespaced ``function_call``,
``custom_tool_call`` with its input unwrapped as it streams, client ``tool_search_call``).
``finish_reason`` values end the response by ``mapping.finish_outcome``.  Errors lose nothing (see
``FeedBase``).  Mapping reference: ``docs/mapping.md`` §4e.
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from ..engine.feed import FeedBase, adrive, drive
from ..engine.sse import Done
from ..errors import InvalidChunkError, StreamError, StreamStateError, UnsupportedStreamError
from ..ids import Clock, IdSource, random_id, system_clock
from ..protocol.mapping import chat_logprob_to_responses, finish_outcome
from ..protocol.mapping import response_shell as _response_shell
from .chat_endings import broken_off, cut_error, final_response, stopped_error, upstream_failure
from .chat_phases import DELTAS_FLOW, Input, Phase, advance
from .chat_tool_calls import CallTable, ChatCall, read_call_entry
from .chat_waiting import Waiting, WaitingAnnotations, WaitingReasoning, WaitingText, next_out
from .item_writers import (
    REFUSAL,
    TEXT,
    AudioWriter,
    ItemWriter,
    MessageWriter,
    ReasoningWriter,
    ResponseStream,
    call_writer,
)
from .provider_quirks import (
    CONTENT,
    PASSIVE_DELTA_KEYS,
    REASONING_FIELDS,
    SECRET,
    STATUS_AT_DONE_WITHOUT_FINISH,
    carries_nothing,
    content_parts,
    flat_annotation,
    reasoning_details,
    service_tier,
    think_tag_reader,
    upstream_error,
)

__all__ = [
    "ChatToResponses",
    "atranslate_chat_stream",
    "translate_chat_stream",
]

Event = dict[str, Any]

#: ``ChoiceDelta`` fields the object hot path reads itself; any other field of the class, when set,
#: sends the chunk down the dict path.
_READ_DELTA_FIELDS = frozenset({"content", "function_call", "refusal", "role", "tool_calls"})


def _unread_field(cls: type) -> str | None:
    """The one field of an SDK delta class the object hot path does not read (``audio``): a chunk that
    sets it takes the dict path, which knows it.  ``function_call`` (read, and checked anyway) when
    there is none; ``None`` when there are several (none today), and then every chunk of the class
    takes the dict path."""
    fields = getattr(cls, "model_fields", None) or {}
    other = [name for name in fields if name not in _READ_DELTA_FIELDS]
    if len(other) > 1:
        return None
    return other[0] if other else "function_call"


class ChatToResponses(FeedBase):
    """Translate one Chat Completions stream into Responses events.

    :param request: the Chat create params of the call, if known: created/in_progress/terminal events
        then echo its model, instructions (leading system/developer messages), tools, tool_choice,
        temperature, max tokens and so on, as the Responses API echoes its request.
    :param ids: id source ``(prefix) -> str`` for ``resp``/``msg``/``fc``/``rs``/``call`` ids.
    :param clock: Unix-seconds clock, used when a chunk carries no ``created``.
    :param think_tags: split ``<think>...</think>`` out of ``content`` into a reasoning item.
    :param choice: with ``n>1`` streams, the choice index to translate (others are ignored);
        by default a choice other than 0 raises :class:`UnsupportedStreamError`.
    :param response_fields: ``Response`` fields to set over the echoed/default ones
        (for example ``{"truncation": "auto"}``).
    :param tool_map: Chat function name (as the upstream model sees it) -> the Responses identity of
        the tool: ``{"type": "function", "name", "namespace"}`` gives a ``function_call`` with that name
        and namespace; ``{"type": "custom", "name"}`` a ``custom_tool_call`` whose ``input`` is the string
        of the Chat arguments ``{"input": "..."}``, streamed as it arrives; ``{"type": "tool_search"}`` a
        client ``tool_search_call`` with the parsed arguments.  Names not in the map stay functions.
    """

    # Slots: the hot path reads these on every chunk, and more than 30 instance attributes would cost
    # CPython its fast (shared-key) attribute access.
    __slots__ = (
        "_audio",
        "_calls",
        "_choice",
        "_choice_given",
        "_clock",
        "_delta_class",
        "_delta_unread",
        "_finish_reason",
        "_item",
        "_model_hint",
        "_params",
        "_phase",
        "_response",
        "_routes",
        "_secrets",
        "_service_tier",
        "_stream",
        "_streaming",
        "_think",
        "_tool_map",
        "_usage",
        "_waiting",
    )

    def __init__(
        self,
        *,
        request: dict[str, Any] | None = None,
        ids: IdSource = random_id,
        clock: Clock = system_clock,
        think_tags: bool = False,
        choice: int | None = None,
        response_fields: dict[str, Any] | None = None,
        tool_map: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        super().__init__()
        self._tool_map = {str(name): dict(entry) for name, entry in (tool_map or {}).items()}
        self._delta_class: type | None = None  # the SDK delta class read last, and its unread field
        self._delta_unread: str | None = None
        self._clock = clock
        self._choice = 0 if choice is None else choice
        self._choice_given = choice is not None
        self._think = think_tag_reader(think_tags)
        # with <think> tags, text is never routed alone: it goes through the splitter (_content)
        self._routes = _ROUTES_WITH_THINK_TAGS if think_tags else _ROUTES
        self._params = _echo_params(request) if request else {}
        if response_fields:
            self._params.update(response_fields)
        self._model_hint = (request or {}).get("model")
        self._stream = ResponseStream(ids)
        self._response: Event | None = None  # the response shell, from the first chunk
        self._item: ItemWriter | None = None  # the open output item
        self._calls = CallTable()
        self._waiting: deque[Waiting] = deque()  # what waits for the open call's arguments (chat_waiting)
        self._secrets: list[str] = []  # encrypted reasoning that arrived while a message or call was open
        self._finish_reason: str | None = None
        self._usage: Event | None = None
        self._service_tier: str | None = None
        self._audio: AudioWriter | None = None
        self._phase = Phase.IDLE
        self._streaming = False  # deltas are translated in this phase (DELTAS_FLOW): the hot path's check

    @property
    def phase(self) -> Phase:
        """Where the translation is (:mod:`translator.streams.chat_phases`)."""
        return self._phase

    def _move(self, input_: Input) -> Phase:
        """Take ``input_``: the phase moves as the table says (or :class:`StreamStateError`).

        Returns the phase it was in: what goes out depends on where the move started.
        """
        previous = self._phase
        phase = self._phase = advance(previous, input_)
        self._streaming = phase in DELTAS_FLOW
        return previous

    # -- the per-chunk path: one field alone goes to its handler by _ROUTES -------------------------

    def _accepts_model(self, cls: type) -> bool:
        fields = getattr(cls, "model_fields", None)
        return isinstance(fields, dict) and "choices" in fields and "usage" in fields

    def _feed_payload(self, payload: dict[str, Any] | Done, index: int) -> list[Event]:
        if payload.__class__ is not dict and isinstance(payload, Done):  # (a plain dict, nearly always)
            return self._end(self._move(Input.DONE), index, done=True)
        get = payload.get
        choices = get("choices")
        if not (  # the per-chunk path: one choice, mid-stream, nothing else in the chunk
            self._streaming
            and choices.__class__ is list
            and len(choices) == 1
            and get("usage") is None
            and not get("error")
        ):
            return self._read(payload, index)
        choice = choices[0]
        if not (
            choice.__class__ is dict
            and not choice.get("finish_reason")
            and choice.get("index", 0) == self._choice
        ):
            return self._read(payload, index)
        delta = choice.get("delta")
        if delta.__class__ is not dict:
            return self._read(payload, index)
        kind = lone = None  # the one field that carries something
        for key, value in delta.items():
            if value and key not in PASSIVE_DELTA_KEYS:
                if kind is not None:
                    return self._delta_in_order(delta, choice, index, 0)
                kind, lone = key, value
        if kind is None:
            return []
        if kind == "content" and choice.get("logprobs"):  # (text with logprobs: read in order)
            return self._delta_in_order(delta, choice, index, 0)
        try:
            value_type, writer, more, start, arg = self._routes[kind]
        except KeyError:  # a field with no route of its own
            return self._delta_in_order(delta, choice, index, 0)
        if lone.__class__ is value_type:
            item = self._item
            if item.__class__ is writer:  # the open item takes it as it is
                out = more(item, lone, arg)
                if out is not None:
                    return out
            out = start(self, lone, arg)
            if out is not None:
                return out
        return self._delta_in_order(delta, choice, index, 0)

    def _feed_model(self, item: Any, index: int) -> list[Event] | None:
        """Hot path for ``ChatCompletionChunk`` objects: the one field a mid-stream chunk carries goes to
        its handler by ``_ROUTES``, as from the dict path, without dumping the object to a dict.

        ``None`` for anything else, which then takes the dict path (dumped as ``to_dict()`` would).
        The fields are read from each object's ``__dict__`` and its class with ``type()``: the SDK's
        models define ``__getattr__``, which sends every attribute read down CPython's slow path.
        """
        try:
            fields = item.__dict__
            choices = fields["choices"]
            if not self._streaming or choices.__class__ is not list or len(choices) != 1 or fields["usage"]:
                return None
            choice = choices[0].__dict__
            extra = item.__pydantic_extra__
            if (
                choice["finish_reason"]
                or choice["logprobs"] is not None
                or choice["index"] != self._choice
                or (extra and "error" in extra)
            ):
                return None
            model = choice["delta"]
            delta = model.__dict__
            cls = type(model)
            unread = self._delta_unread if cls is self._delta_class else self._learn_delta_class(cls)
            if delta["function_call"] is not None or delta["refusal"] or unread is None or delta[unread]:
                return None
            content = delta["content"]
            calls = delta["tool_calls"]
            extra = model.__pydantic_extra__  # provider fields: reasoning_content, reasoning...
            kind = "content" if content else None  # the one field that carries something
            lone = content
            if extra:
                for key, value in extra.items():
                    if value and key not in PASSIVE_DELTA_KEYS:
                        if kind is not None:
                            return None
                        kind, lone = key, value
            if calls is not None:
                if kind is not None or calls.__class__ is not list or len(calls) != 1:
                    return None
                call = calls[0].__dict__
                function = call["function"].__dict__  # (None: not an SDK shape, the except below)
                return self._next_fragment(call["index"], call["id"], function["name"], function["arguments"])
            if kind is None:
                return []
            value_type, writer, more, start, arg = self._routes[kind]  # (no route: KeyError, the except)
            if lone.__class__ is not value_type:
                return None
            open_item = self._item
            if open_item.__class__ is writer:  # the open item takes it as it is
                out = more(open_item, lone, arg)
                if out is not None:
                    return out
            return start(self, lone, arg)
        except (AttributeError, KeyError):  # not shaped like the SDK's chunk after all
            return None

    def _learn_delta_class(self, cls: type) -> str | None:
        """The SDK delta class changed (another SDK version): learn the field it has that ``_feed_model``
        does not read."""
        self._delta_class, self._delta_unread = cls, _unread_field(cls)
        return self._delta_unread

    def _tool_calls_alone(self, calls: list[Any], _: object) -> list[Event] | None:
        """Route of ``delta.tool_calls`` alone: one more fragment of the open call, or ``None``."""
        if len(calls) != 1:
            return None
        raw = calls[0]
        if raw.__class__ is not dict:
            return None
        function = raw.get("function")
        if function.__class__ is not dict:
            return None
        return self._next_fragment(
            raw.get("index"), raw.get("id"), function.get("name"), function.get("arguments")
        )

    def _next_fragment(self, key: Any, given: Any, name: Any, fragment: Any) -> list[Event] | None:
        """One more argument fragment for the open call (the fields of a lone tool-call entry, read from
        a dict or an SDK object), or ``None`` when the entry is anything else (``_tool_call`` reads it)."""
        item = self._item
        if (
            item is None
            or item.call is None
            or self._waiting
            or given
            or name
            or fragment.__class__ is not str
            or key.__class__ is not int
            or self._calls.at.get(key) is not item.call
        ):
            return None
        return item.fragment(fragment)

    # -- chunks the per-chunk path did not take, read by phase ---------------------------------------

    def _read(self, payload: dict[str, Any], index: int) -> list[Event]:
        out: list[Event] = []
        try:
            _READERS[self._phase](self, payload, index, out)
        except StreamError as exc:  # keep what the chunk produced before the error (FeedBase)
            exc.partial = out + exc.partial
            raise
        return out

    def _read_first(self, payload: dict[str, Any], index: int, out: list[Event]) -> None:
        """IDLE: a chunk with something in it starts the response (a preamble does not)."""
        if carries_nothing(payload):
            self._move(Input.PREAMBLE)
            return
        self._move(Input.FIRST_CHUNK)
        out += self._start(payload)
        self._read_chunk(payload, index, out)

    def _read_chunk(self, payload: dict[str, Any], index: int, out: list[Event]) -> None:
        """STREAMING, FINISHED: a chunk the per-chunk path did not take (finishing, usage, error...)."""
        get = payload.get
        choices = get("choices")
        usage = get("usage")
        if usage is not None:
            if usage.__class__ is not dict:
                raise InvalidChunkError("usage must be an object", index=index, field="usage")
            self._usage = usage
            self._note_service_tier(payload)
        if choices:
            if choices.__class__ is not list:
                raise InvalidChunkError("choices must be a list", index=index, field="choices")
            for pos, choice in enumerate(choices):
                self._read_choice(payload, choice, index, pos, out)
        elif choices is not None and choices.__class__ is not list:
            raise InvalidChunkError("choices must be a list", index=index, field="choices")
        failure = upstream_error(payload)
        if failure:
            self._move(Input.ERROR)
            out += self._fail(failure)
        elif not choices and usage is not None and self._move(Input.USAGE_CHUNK) is Phase.FINISHED:
            out += self._terminal()  # the include_usage chunk after finish_reason: nothing else will come

    def _read_choice(
        self, payload: dict[str, Any], choice: Any, index: int, pos: int, out: list[Event]
    ) -> None:
        if choice.__class__ is not dict:
            raise InvalidChunkError("choice must be an object", index=index, field=f"choices[{pos}]")
        if choice.get("index", 0) != self._choice:
            if not self._choice_given:
                raise UnsupportedStreamError(
                    f"stream has more than one choice (index {choice.get('index')!r});"
                    " Responses has no n>1: pass choice=<index> (CLI: --choice N)"
                    " to translate one of them",
                    index=index,
                    field=f"choices[{pos}].index",
                )
            return
        delta = choice.get("delta")
        if delta:
            if delta.__class__ is not dict:
                raise InvalidChunkError("delta must be an object", index=index, field=f"choices[{pos}].delta")
            out += self._delta_in_order(delta, choice, index, pos)
        finish = choice.get("finish_reason")
        if finish and self._move(Input.FINISH_REASON) is Phase.STREAMING:  # (a repeated one changes nothing)
            self._note_service_tier(payload)
            out += self._on_finish_reason(str(finish))

    def _drop(self, payload: dict[str, Any], index: int, out: list[Event]) -> None:
        """ENDED: after the terminal event, chunks are dropped unread."""

    def _after_close(self, payload: dict[str, Any], index: int, out: list[Event]) -> None:
        raise StreamStateError("feed() after close()", index=index)

    def _note_service_tier(self, chunk: dict[str, Any]) -> None:
        """The tier that served the request: read from the first, finishing and usage chunks."""
        tier = service_tier(chunk)
        if tier is not None:
            self._service_tier = tier

    # -- a delta's fields, in order -------------------------------------------------------------------

    def _delta_in_order(
        self, delta: dict[str, Any], choice: dict[str, Any], index: int, pos: int
    ) -> list[Event]:
        """Every field of a delta, in a fixed order: reasoning, content, refusal, tool calls, extras."""
        out: list[Event] = []
        try:
            self._fields(delta, choice, index, pos, out)
        except StreamError as exc:  # a later field is bad: the earlier ones' events are kept
            exc.partial = out + exc.partial
            raise
        return out

    def _fields(
        self, delta: dict[str, Any], choice: dict[str, Any], index: int, pos: int, out: list[Event]
    ) -> None:
        where = f"choices[{pos}].delta"
        plain_reasoning = False
        for field, mode in REASONING_FIELDS.items():
            text = delta.get(field)
            if text:
                out += self._reasoning(_expect(text, str, index, f"{where}.{field}"), mode)
                plain_reasoning = True
        details = delta.get("reasoning_details")
        if details:
            details = _expect(details, list, index, f"{where}.reasoning_details")
            out += self._reasoning_details(details, plain_reasoning)
        content = delta.get("content")
        if content:
            self._content(content, choice, index, pos, out)
        refusal = delta.get("refusal")
        if refusal:
            out += self._message_piece(REFUSAL, _expect(refusal, str, index, f"{where}.refusal"))
        calls = delta.get("tool_calls")
        if calls:
            for n, call in enumerate(_expect(calls, list, index, f"{where}.tool_calls")):
                out += self._tool_call(call, index, f"{where}.tool_calls[{n}]", n)
        legacy = delta.get("function_call")
        if legacy:
            legacy = _expect(legacy, dict, index, f"{where}.function_call")
            out += self._tool_call({"index": "function_call", **legacy}, index, f"{where}.function_call")
        annotations = delta.get("annotations")
        if annotations:
            annotations = _expect(annotations, list, index, f"{where}.annotations")
            out += self._annotations(annotations, index, f"{where}.annotations")
        audio = delta.get("audio")
        if audio:
            if self._audio is None:
                self._audio = AudioWriter(self._stream)
            out += self._audio.delta(_expect(audio, dict, index, f"{where}.audio"))

    def _content(self, content: Any, choice: dict[str, Any], index: int, pos: int, out: list[Event]) -> None:
        """``delta.content``: text (split at ``<think>`` tags when asked), or a list of parts."""
        if isinstance(content, str):
            if self._think is None:
                out += self._text(content, choice)
                return
            for is_reasoning, piece in self._think.feed(content):
                out += self._reasoning(piece, CONTENT) if is_reasoning else self._text(piece, choice)
        elif isinstance(content, list):
            for is_reasoning, text in content_parts(content, index, f"choices[{pos}].delta.content"):
                out += self._reasoning(text, CONTENT) if is_reasoning else self._text(text, choice)
        else:
            raise InvalidChunkError(
                "content must be a string or a list of parts",
                index=index,
                field=f"choices[{pos}].delta.content",
            )

    # -- lifecycle ------------------------------------------------------------------------------------

    def _start(self, chunk: dict[str, Any]) -> list[Event]:
        """``response.created`` and ``response.in_progress`` (the response, from the chunk and request)."""
        self._note_service_tier(chunk)
        created = chunk.get("created")
        model = chunk.get("model")
        if not model or model.__class__ is not str:
            model = self._model_hint if isinstance(self._model_hint, str) else ""
        self._response = _response_shell(
            response_id=self._stream.ids("resp"),
            created_at=created if isinstance(created, int) and created > 0 else self._clock(),
            model=model,
            status="in_progress",
            params=self._params,
        )
        return self._stream.started(self._response)

    def _on_finish_reason(self, reason: str) -> list[Event]:
        """The choice finished: what is open closes, ``completed`` or ``incomplete`` (``length``...: as
        the API ends a ``max_output_tokens`` response), except that a call cut inside its arguments (and
        what waited behind it), or anything at an abnormal finish_reason, is never announced done."""
        self._finish_reason = reason
        outcome = finish_outcome(reason)[0]
        if outcome == "failed" or (outcome == "incomplete" and self._holding()):
            self._leave_unfinished()
            return []
        return self._flush_think() + self._close_all(outcome)

    def _finish(self) -> list[Event]:
        """close(): the input is over (``[DONE]`` or not)."""
        return self._end(self._move(Input.CLOSE), self._index, done=False)

    def _end(self, previous: Phase, index: int, *, done: bool) -> list[Event]:
        """``[DONE]`` (``done``) or close() arrived in phase ``previous``: finish what is open and send
        the terminal event, unless it went out already.

        Without a finish_reason the answer is not known to be whole: ``response.failed``, naming why
        (the typed error that stopped the input, a last frame cut by the end of input, or a plain cut),
        except that ``[DONE]`` alone completes it (:data:`~.provider_quirks.STATUS_AT_DONE_WITHOUT_FINISH`).
        With one, the terminal follows the finish_reason even when the usage chunk after it was lost.
        """
        if previous is Phase.ENDED:
            return []
        out = self._start({}) if previous is Phase.IDLE else []  # nothing arrived: an empty response
        if previous is not Phase.FINISHED:
            if self.failure is not None:
                return out + self._fail(stopped_error(self.failure))
            if not done:
                cut_frame = self._decoder is not None and self._decoder.cut
                return out + self._fail(cut_error(index, cut_frame))
            out += self._close_all(STATUS_AT_DONE_WITHOUT_FINISH)
        return out + self._terminal()

    def _fail(self, error: Any) -> list[Event]:
        """An upstream error (or our own reason to stop): ``error``, then ``response.failed`` holding what
        did not finish (never announced done: :meth:`_leave_unfinished`)."""
        code, message, param, failure = upstream_failure(error)
        self._leave_unfinished()
        return [self._stream.error(code, message, param), *self._terminal(failed=failure)]

    def _terminal(self, failed: Event | None = None) -> list[Event]:
        """What is open closes, then the terminal event: failed (``failed``), or by the finish_reason.

        In a failed response (``failed``, or an abnormal finish_reason) nothing open is announced done.
        """
        out: list[Event] = []
        if failed is not None or broken_off(self._finish_reason):
            self._leave_unfinished()
        else:
            out = self._flush_think()
            out += self._close_all("completed")
            if self._audio is not None:
                out += self._audio.done()
                self._audio = None
        assert self._response is not None
        kind, response, broken = final_response(
            self._response, self._stream.items, self._usage, self._service_tier, self._finish_reason, failed
        )
        if broken is not None:  # an abnormal finish_reason: an error event says so first
            out.append(self._stream.error(self._finish_reason or "", broken["message"], None))
        out.append(self._stream.ended(kind, response))
        return out

    def _flush_think(self) -> list[Event]:
        """Text held back as a possible ``<think>`` tag start: at the end it is what it looked like."""
        out: list[Event] = []
        if self._think is not None:
            for is_reasoning, piece in self._think.flush():
                out += self._reasoning(piece, CONTENT) if is_reasoning else self._message_text(piece, None)
        return out

    # -- items: one open at a time ----------------------------------------------------------------------

    def _leave_unfinished(self) -> None:
        """The stream failed: what did not finish (the open item, what waited behind it, text held as a
        possible ``<think>`` tag) goes into ``response.output`` as it stands, status ``incomplete``, never
        announced done (a client such as Codex sends every item announced done back on its retry); nor
        does cut audio get its ``.done``.  Items the upstream finished keep their events."""
        stream = self._stream
        mark = stream.mark()
        self._flush_think()
        self._close_all("incomplete")
        self._audio = None
        stream.unannounce(mark)

    def _close_item(self, status: str) -> list[Event]:
        """The open item closes with ``status``; a tool call closing as ``incomplete`` whose arguments are
        not complete JSON was cut, and is never announced done (it is left, :meth:`ItemWriter.leave`)."""
        item = self._item
        if item is None:
            return []
        self._item = None
        out: list[Event] = []
        if status == "incomplete" and item.call is not None and not item.call.complete():
            item.leave()
        else:
            out = item.close(status)
        if self._secrets:  # encrypted reasoning that arrived inside this item: its own item, right after
            holder = self._item = ReasoningWriter(self._stream)
            holder.encrypted, self._secrets = self._secrets, []
            out.append(holder.added(""))
            out += self._close_item(status)
        return out

    def _close_all(self, status: str) -> list[Event]:
        """The choice is over: what waits goes out in order, calls never opened open, all close."""
        out: list[Event] = []
        waiting = self._waiting
        while waiting:
            entry = waiting.popleft()
            if entry.__class__ is ChatCall:  # the calls that started before it open first
                while (earlier := self._calls.first_unopened(entry)) is not entry:
                    out += self._open_call(earlier)
            out += self._let_out(entry)
        for call in self._calls.calls:
            if not call.opened and (call.name is not None or call.pending):  # a bare index says nothing
                out += self._open_call(call)
        return out + self._close_item(status)

    def _holding(self) -> bool:
        """Whether the open item is a call whose arguments started and are not complete JSON yet."""
        item = self._item
        return (
            item is not None
            and item.call is not None
            and bool(item.call.arguments)
            and not item.call.complete()
        )

    def _release_waiting(self) -> list[Event]:
        """The open call's arguments are complete: what waited goes out, in order (:func:`next_out`)."""
        out: list[Event] = []
        waiting = self._waiting
        while waiting and not self._holding() and (entry := next_out(waiting, self._calls)) is not None:
            out += self._let_out(entry)
        return out

    def _let_out(self, entry: Waiting) -> list[Event]:
        """What waited goes to its writer (nothing holds it any more)."""
        match entry:
            case ChatCall():
                return self._open_call(entry) if not entry.opened else []
            case WaitingText(kind, text, logprobs):
                return self._write_message(kind, text, logprobs)
            case WaitingReasoning(text, mode):
                return self._write_reasoning(text, mode)
            case WaitingAnnotations(annotations):
                return self._write_annotations(annotations)
        raise TypeError(f"not a waiting entry: {entry!r}")  # pragma: no cover

    # message items

    def _text(self, text: str, choice: dict[str, Any]) -> list[Event]:
        """Text of a delta read in order, with the choice's logprobs (``logprobs.content``)."""
        logprobs = choice.get("logprobs")
        entries = logprobs.get("content") if logprobs and isinstance(logprobs, dict) else None
        if entries is not None and entries.__class__ is not list:
            raise InvalidChunkError("must be a list", field="choices[0].logprobs.content")
        return self._message_text(text, entries)

    def _message_text(self, text: str, logprobs: list[Any] | None) -> list[Event]:
        """Message text with its Chat ``logprobs`` entries, if any (``content`` alone: ``_ROUTES``)."""
        item = self._item
        if type(item) is MessageWriter and not logprobs:  # more text for the open message
            return item.text(text)
        return self._message_piece(TEXT, text, logprobs)

    def _message_piece(self, kind: str, text: str, logprobs: list[Any] | None = None) -> list[Event]:
        """Text or refusal text (``kind``) for a message: it waits while the open call holds output."""
        # converted first, so a bad entry raises before any event
        converted = [chat_logprob_to_responses(e) for e in logprobs] if logprobs else []
        if self._holding():  # between two fragments of an open call: waits for its arguments to complete
            self._waiting.append(WaitingText(kind, text, converted))
            return []
        return self._write_message(kind, text, converted)

    def _write_message(self, kind: str, text: str, logprobs: list[Event]) -> list[Event]:
        out, message = self._open_message()
        return out + (message.text(text, logprobs) if kind == TEXT else message.refusal(text))

    def _open_message(self) -> tuple[list[Event], MessageWriter]:
        """The open message, or a new one (what was open closes first): the events that took."""
        item = self._item
        if type(item) is MessageWriter:
            return [], item
        out = self._close_item("completed")
        message = self._item = MessageWriter(self._stream)
        out.append(message.added())
        return out, message

    def _annotations(self, annotations: list[Any], index: int, field: str) -> list[Event]:
        """OpenRouter-style ``delta.annotations``: url_citations become annotation.added events."""
        flat = [flat_annotation(raw, index, f"{field}[{n}]") for n, raw in enumerate(annotations)]
        kept = [annotation for annotation in flat if annotation is not None]
        if not kept:
            return []
        if self._holding():
            self._waiting.append(WaitingAnnotations(kept))
            return []
        return self._write_annotations(kept)

    def _write_annotations(self, annotations: list[Event]) -> list[Event]:
        out, message = self._open_message()
        return out + message.annotations(annotations)

    # reasoning items

    def _reasoning(self, text: str, mode: str) -> list[Event]:
        """Reasoning text for the summary (``mode`` SUMMARY) or the reasoning text (CONTENT)."""
        item = self._item
        if type(item) is ReasoningWriter:  # the open reasoning item takes it, unless it has the other mode
            events = item.delta(text, mode)
            if events is not None:
                return events
        if self._holding():
            self._waiting.append(WaitingReasoning(text, mode))
            return []
        return self._write_reasoning(text, mode)

    def _write_reasoning(self, text: str, mode: str) -> list[Event]:
        out: list[Event] = []
        item = self._item
        if type(item) is not ReasoningWriter or (item.mode and item.mode != mode):
            out = self._close_item("completed")
            item = self._item = ReasoningWriter(self._stream)
            out.append(item.added(mode))
        events = item.delta(text, mode)
        assert events is not None  # (the item's mode is this one, or not set yet)
        return out + events

    def _reasoning_details(self, details: list[Any], text_carried: bool) -> list[Event]:
        out: list[Event] = []
        for mode, text in reasoning_details(details, text_carried):
            if mode != SECRET:
                out += self._reasoning(text, mode)
                continue
            item = self._item
            if item is None:
                item = self._item = ReasoningWriter(self._stream)
                out.append(item.added(""))
            if type(item) is ReasoningWriter:
                item.keep_secret(text)
            else:  # a message or call is open: it stays open, the secret goes out when it closes
                self._secrets.append(text)
        return out

    # tool calls

    def _tool_call(self, raw: Any, index: int, field: str, position: int = 0) -> list[Event]:
        """One entry of ``delta.tool_calls`` (or the legacy ``function_call``) read in order."""
        key, given, name, arguments = read_call_entry(raw, index, field)
        call = self._calls.which(key, given, name, position)
        if name and call.name is None:
            call.name = str(name)
        if call.closed:
            if arguments and arguments.strip():
                raise InvalidChunkError(
                    f"arguments for tool call {call.call_id!r} arrived after its item was closed",
                    index=index,
                    field=f"{field}.function.arguments",
                )
            return []
        if not call.opened:
            return self._before_opening(call, arguments)
        out = self._arguments(call, arguments) if arguments else []
        if self._waiting and not self._holding():
            out += self._release_waiting()
        return out

    def _before_opening(self, call: ChatCall, arguments: str | None) -> list[Event]:
        """A delta of a call whose item is not open: it opens with its first argument fragment (a header
        alone waits: the arguments may come after other content, as our ResponsesToChat sends them
        when only the terminal had them), unless another call's arguments are incomplete, or a call
        that started before it has not opened (items keep the calls' order however they interleave)."""
        if arguments:
            call.pending.append(arguments)
        if call.name is None or not call.pending or call in self._waiting:
            return []
        if self._holding() or self._calls.first_unopened(call) is not call:
            self._waiting.append(call)  # interleaved calls: wait for the open one, or an earlier one
            return []
        out = self._open_call(call)
        if self._waiting and not self._holding():  # calls that waited for this one to open
            out += self._release_waiting()
        return out

    def _open_call(self, call: ChatCall) -> list[Event]:
        out = self._close_item("completed")
        call.call_id = self._calls.unique_call_id(call.given_id, self._stream.ids)
        if call.name is None:
            call.name = ""
        tool = self._tool_map.get(call.name) if self._tool_map else None
        item = self._item = call_writer(self._stream, call, tool)
        call.opened = True
        out.append(item.added())
        pending, call.pending = call.pending, []
        for fragment in pending:
            out += item.fragment(fragment)
        return out

    def _arguments(self, call: ChatCall, fragment: str) -> list[Event]:
        item = self._item
        assert item is not None and item.call is call
        return item.fragment(fragment)


def _no_writer(item: ItemWriter, value: Any, arg: Any) -> None:
    """(No open item takes a tool-call entry as it is: which call it continues is for ``_next_fragment``.)"""


#: A delta field that comes alone -> (the type its value must have, the writer class of an open item
#: that takes it as it is, the writer's method that does, the handler when that item is not open, the
#: argument both get).  The writer's method and the handler return ``None`` when the value is not
#: their simple case; the delta is then read in order (``_fields``).  Both per-chunk paths
#: (``_feed_payload``, ``_feed_model``) route by this table.
_Route = tuple[
    type,
    "type[ItemWriter] | None",
    Callable[[Any, Any, Any], "list[Event] | None"],
    Callable[[ChatToResponses, Any, Any], "list[Event] | None"],
    Any,
]
_ROUTES: dict[str, _Route] = {
    "content": (str, MessageWriter, MessageWriter.text, ChatToResponses._message_text, None),
    **{
        field: (str, ReasoningWriter, ReasoningWriter.delta, ChatToResponses._reasoning, mode)
        for field, mode in REASONING_FIELDS.items()
    },
    "tool_calls": (list, None, _no_writer, ChatToResponses._tool_calls_alone, None),
}
_ROUTES_WITH_THINK_TAGS = {field: route for field, route in _ROUTES.items() if field != "content"}

#: Who reads a chunk the per-chunk path did not take, by phase (a tuple indexed by ``Phase``).
_Reader = Callable[[ChatToResponses, dict[str, Any], int, list[Event]], None]
_READER_BY_PHASE: dict[Phase, _Reader] = {
    Phase.IDLE: ChatToResponses._read_first,
    Phase.STREAMING: ChatToResponses._read_chunk,
    Phase.FINISHED: ChatToResponses._read_chunk,
    Phase.ENDED: ChatToResponses._drop,
    Phase.CLOSED: ChatToResponses._after_close,
}
_READERS = tuple(_READER_BY_PHASE[phase] for phase in sorted(Phase))

_T = TypeVar("_T")
_KIND: dict[type, str] = {str: "a string", list: "a list", dict: "an object"}


def _expect(value: Any, kind: type[_T], index: int, field: str) -> _T:
    """``value`` if it is a ``kind``, else the typed error naming the chunk and field."""
    if value.__class__ is not kind:
        raise InvalidChunkError(
            f"must be {_KIND.get(kind, kind.__name__)}, got {type(value).__name__}", index=index, field=field
        )
    return value


def _echo_params(request: dict[str, Any]) -> dict[str, Any]:
    """The Responses-shaped settings a Chat request corresponds to (lenient mode)."""
    from ..convert.requests import chat_request_to_responses

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        params = chat_request_to_responses(request, lenient=True, hoist_instructions=True)
    return params


def translate_chat_stream(chunks: Iterable[Any], **options: Any) -> Iterator[dict[str, Any]]:
    """Responses events for an iterable of Chat chunks (dicts, SDK objects, or SSE/JSONL bytes)."""
    return drive(ChatToResponses(**options), chunks)


def atranslate_chat_stream(chunks: AsyncIterable[Any], **options: Any) -> AsyncIterator[dict[str, Any]]:
    """Async twin of :func:`translate_chat_stream`."""
    return adrive(ChatToResponses(**options), chunks)
