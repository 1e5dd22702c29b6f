"""Chat Completions chunk stream -> Responses API event stream, sans-I/O.

``ChatToResponses().feed(chunk)`` returns the Responses events that chunk produces, at once: every
delta leaves on the chunk that carried it.  ``close()`` ends the stream; over a whole stream exactly
one terminal event (``response.completed`` / ``response.incomplete`` / ``response.failed``) is
emitted, whatever the input did (finished, errored, or was cut).

Output items are sequential, as OpenAI streams them: an item's ``output_item.done`` goes out before
the next item's ``output_item.added``.  The exceptions to "no buffering" follow from that: a tool
call's item opens with its first argument fragment (a header alone waits, so arguments that come
after other content are still accepted), and while the open call's arguments have started but are
not yet complete JSON, whatever else arrives (another call's fragments, text, reasoning) waits until
they are (or the choice finishes), then goes out in arrival order.

Which call a tool-call delta continues is decided by its ``index`` and ``id`` (``_which_call``);
``call_id`` values are unique within the response.  ``tool_map`` turns calls back into the client's
Responses tools (namespaced ``function_call``, ``custom_tool_call`` with its input unwrapped as it
streams, client ``tool_search_call``).  ``finish_reason`` values end the response by
``mapping.finish_outcome``.  Errors lose nothing (see ``FeedBase``).

Mapping reference: ``docs/mapping.md`` §4e.  Reasoning dialects:

* ``delta.reasoning_content`` (DeepSeek, Qwen, xAI, Z.ai) -> reasoning item ``summary`` (summary_text)
* ``delta.reasoning`` (OpenRouter, Groq gpt-oss) -> reasoning item ``content`` (reasoning_text)
* ``delta.reasoning_details`` (OpenRouter, Snowflake): ``reasoning.text`` / ``reasoning.summary``
  text when no plain field carried it, ``reasoning.encrypted`` data and signatures -> ``encrypted_content``
* Mistral ``content: [{"type": "thinking", ...}]`` arrays -> reasoning ``content``
* ``<think>...</think>`` inside ``content`` -> reasoning ``content`` (opt-in: ``think_tags=True``)
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from operator import itemgetter
from typing import Any, TypeVar

import orjson

from ..engine.feed import FeedBase, adrive, drive
from ..engine.json_stream import JsonCompleteness, JsonStringField, fallback_string
from ..engine.sse import Done
from ..errors import InvalidChunkError, StreamError, UnsupportedStreamError
from ..ids import Clock, IdSource, random_id, system_clock
from ..protocol.mapping import (
    abnormal_finish_error,
    chat_logprob_to_responses,
    chat_usage_to_responses,
    finish_outcome,
)
from ..protocol.mapping import response_shell as _response_shell
from ..protocol.provider_errors import classify_error
from ..protocol.tool_names import CUSTOM_INPUT
from .think_tags import ThinkTagSplitter

__all__ = [
    "ChatToResponses",
    "atranslate_chat_stream",
    "translate_chat_stream",
]

_TEXT = "output_text"
_REFUSAL = "refusal"

#: The codes a ``response.failed`` carries (what clients act on: Codex stops retrying on the first two
#: and ``invalid_prompt``); anything else is ``server_error``.  The provider's own code is kept on the
#: ``error`` event and in ``response.error.type``.  The SDK's ``ResponseError.code`` list lacks the first
#: two, which the API sends and Codex reads.
_FAILED_CODES = frozenset(
    {"context_length_exceeded", "insufficient_quota", "rate_limit_exceeded", "invalid_prompt", "server_error"}
)


#: Delta fields that carry nothing to translate (Groq's gpt-oss ``channel``; TGI/Together ``token_id``).
_PASSIVE_DELTA_KEYS = frozenset({"role", "channel", "token_id"})

_NO_CHOICE: dict[str, Any] = {}  # the choice of a delta read from an SDK object without logprobs

#: ``ChoiceDelta`` fields the object hot path reads itself; any other field of the class, when set,
#: sends the chunk down the dict path.
_READ_DELTA_FIELDS = frozenset({"content", "function_call", "refusal", "role", "tool_calls"})


def _probe(cls: type) -> Callable[[dict[str, Any]], bool]:
    """Whether a delta of ``cls`` (given as its ``__dict__``) has any field set that the object hot
    path does not read."""
    fields = getattr(cls, "model_fields", None) or {}
    other = [name for name in fields if name not in _READ_DELTA_FIELDS]
    if not other:
        return lambda delta: False
    if len(other) == 1:
        return itemgetter(other[0])
    get = itemgetter(*other)
    return lambda delta: any(get(delta))


_SERVICE_TIERS = frozenset({"auto", "default", "flex", "scale", "priority", "fast", "ultrafast"})


class _Part:
    """One content part of an open message item (output_text or refusal)."""

    __slots__ = ("annotations", "chunks", "index", "kind", "logprobs")

    def __init__(self, kind: str, index: int) -> None:
        self.kind = kind
        self.index = index
        self.chunks: list[str] = []
        self.logprobs: list[dict[str, Any]] = []
        self.annotations: list[dict[str, Any]] = []

    def final(self) -> dict[str, Any]:
        text = "".join(self.chunks)
        if self.kind == _REFUSAL:
            return {"type": "refusal", "refusal": text}
        return {
            "type": "output_text",
            "annotations": self.annotations,
            "logprobs": self.logprobs,
            "text": text,
        }


class _Item:
    """The item currently open in the output (message, reasoning or function_call)."""

    __slots__ = (
        "call",
        "content",
        "done_parts",
        "encrypted",
        "id",
        "kind",
        "mode",
        "output_index",
        "part",
        "summary",
    )

    def __init__(self, kind: str, item_id: str, output_index: int) -> None:
        self.kind = kind
        self.id = item_id
        self.output_index = output_index
        self.part: _Part | None = None  # message: the open content part
        self.done_parts: list[dict[str, Any]] = []
        self.mode = ""  # reasoning: "summary" or "content"
        self.summary: list[str] = []  # reasoning: text chunks of the open part
        self.content: list[str] = []
        self.encrypted: list[str] = []
        self.call: _Call | None = None


class _Call:
    """A Chat tool call on its way to becoming a function_call item.

    Which call a tool-call delta continues is decided by its ``index`` and ``id`` (see ``_which_call``);
    ``given_id`` is the provider's id, ``call_id`` the unique one the item carries.
    """

    __slots__ = (
        "arguments",
        "call_id",
        "closed",
        "form",
        "given_id",
        "index",
        "json",
        "name",
        "namespace",
        "opened",
        "parsed_at",
        "pending",
        "tool_name",
        "unwrap",
    )

    def __init__(self, index: object, given_id: str | None) -> None:
        self.index = index
        self.given_id = given_id
        self.call_id: str | None = None
        self.name: str | None = None
        self.arguments: list[str] = []
        self.pending: list[str] = []  # fragments received before the item could open
        self.json: JsonCompleteness | None = None  # made when completeness is asked a second time
        self.parsed_at = -1  # the arguments parsed as complete JSON when they had this many fragments
        self.opened = False
        self.closed = False
        # the Responses identity (from tool_map): form None is a function_call (tool_name, namespace),
        # "custom" a custom_tool_call whose input ``unwrap`` reads, "tool_search" a tool_search_call
        self.form: str | None = None
        self.tool_name = ""
        self.namespace: str | None = None
        self.unwrap: JsonStringField | None = None

    def complete(self) -> bool:
        """Whether the arguments so far are one complete JSON value (linear over the whole call).

        The first answer comes from one parse of the text (what a call followed by the next one needs,
        at C speed); asked again after more fragments, an incremental scanner takes over.
        """
        scan = self.json
        if scan is not None:
            return scan.complete
        if self.parsed_at != len(self.arguments):
            if self.parsed_at < 0:
                try:
                    orjson.loads("".join(self.arguments))
                    self.parsed_at = len(self.arguments)
                    return True
                except orjson.JSONDecodeError:
                    pass
            scan = self.json = JsonCompleteness()
            for fragment in self.arguments:
                scan.feed(fragment)
            return scan.complete
        return True

    def add(self, fragment: str) -> None:
        self.arguments.append(fragment)
        if self.json is not None:
            self.json.feed(fragment)


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
        "_call_at",
        "_call_by_id",
        "_call_ids",
        "_calls",
        "_choice",
        "_choice_given",
        "_clock",
        "_delta_class",
        "_delta_probe",
        "_finish_reason",
        "_forcing",
        "_ids",
        "_item",
        "_model_hint",
        "_output",
        "_params",
        "_response",
        "_saw_done",
        "_secrets",
        "_seq",
        "_service_tier",
        "_streaming",
        "_terminal_sent",
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
        self._delta_class: type | None = None  # the SDK delta class read last, and its probe
        self._delta_probe: Callable[[Any], bool] = _probe(object)
        self._ids = ids
        self._clock = clock
        self._choice = 0 if choice is None else choice
        self._choice_given = choice is not None
        self._think = ThinkTagSplitter() if think_tags else None
        self._params = _echo_params(request) if request else {}
        if response_fields:
            self._params.update(response_fields)
        self._model_hint = (request or {}).get("model")
        self._seq = 0
        self._response: dict[str, Any] | None = None
        self._output: list[dict[str, Any]] = []  # finished items, by output_index
        self._item: _Item | None = None
        self._calls: list[_Call] = []  # every call, in the order they started
        self._call_at: dict[object, _Call] = {}  # delta index -> the latest call at that index
        self._call_by_id: dict[str, _Call] = {}  # provider id -> the latest call with that id
        self._call_ids: set[str] = set()  # call_ids given to items: unique within the response
        # What waits for the open call's arguments to be complete JSON: calls whose fragments are
        # interleaved with it, and content (text, refusal, reasoning) that arrived between its fragments.
        self._waiting: list[_Call | tuple[Any, ...]] = []
        self._forcing = False  # the stream is ending: nothing waits any more
        self._secrets: list[str] = []  # encrypted reasoning that arrived while a message or call was open
        self._finish_reason: str | None = None
        self._usage: dict[str, Any] | None = None
        self._service_tier: str | None = None
        self._audio: dict[str, list[str]] | None = None
        self._terminal_sent = False
        self._streaming = False  # started and not ended: the hot path's one check
        self._saw_done = False

    # -- input ---------------------------------------------------------------------------------

    def _accepts_model(self, cls: type) -> bool:
        fields = getattr(cls, "model_fields", None)
        return isinstance(fields, dict) and "choices" in fields and "usage" in fields

    def _feed_model(self, item: Any, index: int) -> list[dict[str, Any]] | None:
        """Hot path for ``ChatCompletionChunk`` objects: read the attributes of a mid-stream chunk with
        one thing in it (text, reasoning, one argument fragment) instead of dumping it to a dict.

        ``None`` for anything else, which then takes the dict path (dumped as ``to_dict()`` would).
        """
        try:
            # The fields are read from each object's __dict__: the SDK's models define __getattr__,
            # which sends every attribute read down CPython's slow path.
            fields = item.__dict__
            choices = fields["choices"]
            if not self._streaming or len(choices) != 1 or fields["usage"] is not None:
                return None
            choice = choices[0].__dict__
            if choice["finish_reason"] or choice["logprobs"] is not None or choice["index"] != self._choice:
                return None
            extra = item.__pydantic_extra__
            if extra and "error" in extra:
                return None
            model = choice["delta"]
            delta = model.__dict__
            if delta["function_call"] is not None or delta["refusal"]:
                return None
            if model.__class__ is not self._delta_class:
                self._delta_class, self._delta_probe = model.__class__, _probe(model.__class__)
            if self._delta_probe(delta):  # fields newer SDKs added (audio...): the dict path knows them
                return None
            content = delta["content"]
            calls = delta["tool_calls"]
            extra = model.__pydantic_extra__  # provider fields: reasoning_content, reasoning...
            only = None
            if extra:
                for key, value in extra.items():
                    if value and key not in _PASSIVE_DELTA_KEYS:
                        if only is not None:
                            return None
                        only = key
            if calls is None:
                if only is None:  # the commonest chunk: text (the hot branch of _text, inline)
                    if content.__class__ is not str or not content or self._think is not None:
                        return None if content else []
                    open_item = self._item
                    part = open_item.part if open_item is not None else None
                    if part is None or part.kind != _TEXT:
                        return self._text(content, _NO_CHOICE)
                    part.chunks.append(content)
                    seq = self._seq
                    self._seq = seq + 1
                    return [
                        {
                            "type": "response.output_text.delta",
                            "item_id": open_item.id,  # type: ignore[union-attr]
                            "output_index": open_item.output_index,  # type: ignore[union-attr]
                            "content_index": part.index,
                            "delta": content,
                            "logprobs": [],
                            "sequence_number": seq,
                        }
                    ]
                value = extra[only]
                if content or value.__class__ is not str:
                    return None
                if only == "reasoning_content":
                    return self._reasoning(value, "summary")
                if only == "reasoning":
                    return self._reasoning(value, "content")
                return None
            if content or only is not None or len(calls) != 1:
                return None
            call = calls[0].__dict__
            function = call["function"]
            item_open = self._item
            if (
                item_open is None
                or item_open.call is None
                or self._waiting
                or call["id"]
                or function is None
            ):
                return None
            function = function.__dict__
            arguments = function["arguments"]
            if (
                function["name"]
                or arguments.__class__ is not str
                or self._call_at.get(call["index"]) is not item_open.call
            ):
                return None
            return self._fragment(item_open, arguments)
        except (AttributeError, KeyError):  # not shaped like the SDK's chunk after all
            return None

    def _feed_payload(self, payload: dict[str, Any] | Done, index: int) -> list[dict[str, Any]]:
        if isinstance(payload, Done):
            self._saw_done = True
            return self._end(index) if not self._terminal_sent else []
        get = payload.get
        choices = get("choices")
        if (  # hot path: one choice, mid-stream, nothing else in the chunk
            self._streaming
            and choices.__class__ is list
            and len(choices) == 1
            and get("usage") is None
            and not get("error")
        ):
            choice = choices[0]
            if (
                choice.__class__ is dict
                and not choice.get("finish_reason")
                and choice.get("index", 0) == self._choice
            ):
                delta = choice.get("delta")
                if delta.__class__ is dict:
                    return self._delta(delta, choice, index, 0)
        if self._terminal_sent:
            return []
        out: list[dict[str, Any]] = []
        try:
            self._chunk(payload, index, out)
        except StreamError as exc:  # keep what the chunk produced before the error (FeedBase)
            exc.partial = out + exc.partial
            raise
        return out

    def _chunk(self, payload: dict[str, Any], index: int, out: list[dict[str, Any]]) -> None:
        """A chunk the hot path did not take (first, finishing, usage, error, several fields...)."""
        get = payload.get
        choices = get("choices")
        failure = get("error") or (payload if get("object") == "error" else None)  # vLLM/SGLang: flat
        if self._response is None:
            if not (get("model") or choices or get("usage") is not None or failure):
                return  # a preamble with nothing to translate (Azure's prompt_filter_results chunk)
            out += self._start(payload)
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
                    continue
                delta = choice.get("delta")
                if delta:
                    if delta.__class__ is not dict:
                        raise InvalidChunkError(
                            "delta must be an object", index=index, field=f"choices[{pos}].delta"
                        )
                    out += self._delta(delta, choice, index, pos)
                finish = choice.get("finish_reason")
                if finish and self._finish_reason is None:
                    self._note_service_tier(payload)
                    out += self._on_finish_reason(str(finish))
        elif choices is not None and choices.__class__ is not list:
            raise InvalidChunkError("choices must be a list", index=index, field="choices")
        if failure:
            out += self._fail(failure)
        elif not choices and usage is not None and self._finish_reason is not None:
            out += self._terminal()  # the include_usage chunk after finish_reason: nothing else will come

    def _note_service_tier(self, chunk: dict[str, Any]) -> None:
        """The tier that served the request: read from the first, finishing and usage chunks."""
        tier = chunk.get("service_tier")
        if tier.__class__ is str and tier in _SERVICE_TIERS:
            self._service_tier = tier

    def _delta(
        self, delta: dict[str, Any], choice: dict[str, Any], index: int, pos: int
    ) -> list[dict[str, Any]]:
        # Hot path: nearly every delta carries one thing (text, reasoning, or one argument fragment).
        only = None
        for key, value in delta.items():
            if value and key not in _PASSIVE_DELTA_KEYS:
                if only is not None:
                    return self._delta_in_order(delta, choice, index, pos)
                only = key
        if only is None:
            return []
        value = delta[only]
        if value.__class__ is str:
            if only == "content" and self._think is None:
                return self._text(value, choice)
            if only == "reasoning_content":
                return self._reasoning(value, "summary")
            if only == "reasoning":
                return self._reasoning(value, "content")
        elif only == "tool_calls" and value.__class__ is list and len(value) == 1:
            fast = self._more_arguments(value[0])
            if fast is not None:
                return fast
        return self._delta_in_order(delta, choice, index, pos)

    def _delta_in_order(
        self, delta: dict[str, Any], choice: dict[str, Any], index: int, pos: int
    ) -> list[dict[str, Any]]:
        """Every field of a delta, in a fixed order: reasoning, content, refusal, tool calls, extras."""
        out: list[dict[str, Any]] = []
        try:
            self._fields(delta, choice, index, pos, out)
        except StreamError as exc:  # a later field is bad: the earlier ones' events are kept
            exc.partial = out + exc.partial
            raise
        return out

    def _fields(
        self, delta: dict[str, Any], choice: dict[str, Any], index: int, pos: int, out: list[dict[str, Any]]
    ) -> None:
        where = f"choices[{pos}].delta"
        plain_reasoning = False
        text = delta.get("reasoning_content")
        if text:
            out += self._reasoning(_expect(text, str, index, f"{where}.reasoning_content"), "summary")
            plain_reasoning = True
        text = delta.get("reasoning")
        if text:
            out += self._reasoning(_expect(text, str, index, f"{where}.reasoning"), "content")
            plain_reasoning = True
        details = delta.get("reasoning_details")
        if details:
            out += self._reasoning_details(
                _expect(details, list, index, f"{where}.reasoning_details"), plain_reasoning
            )
        content = delta.get("content")
        if content:
            if isinstance(content, str):
                if self._think is None:
                    out += self._text(content, choice)
                else:
                    for is_reasoning, piece in self._think.feed(content):
                        out += (
                            self._reasoning(piece, "content") if is_reasoning else self._text(piece, choice)
                        )
            elif isinstance(content, list):
                out += self._content_parts(content, choice, index, pos)
            else:
                raise InvalidChunkError(
                    "content must be a string or a list of parts", index=index, field=f"{where}.content"
                )
        refusal = delta.get("refusal")
        if refusal:
            out += self._message_piece(_REFUSAL, _expect(refusal, str, index, f"{where}.refusal"), None)
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
            out += self._audio_delta(_expect(audio, dict, index, f"{where}.audio"))

    # -- lifecycle -----------------------------------------------------------------------------

    def _ev(self, event: dict[str, Any]) -> dict[str, Any]:
        event["sequence_number"] = self._seq
        self._seq += 1
        return event

    def _start(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        self._note_service_tier(chunk)
        created = chunk.get("created")
        model = chunk.get("model")
        if not model or model.__class__ is not str:
            model = self._model_hint if isinstance(self._model_hint, str) else ""
        self._streaming = True
        self._response = _response_shell(
            response_id=self._ids("resp"),
            created_at=created if isinstance(created, int) and created > 0 else self._clock(),
            model=model,
            status="in_progress",
            params=self._params,
        )
        return [
            self._ev({"type": "response.created", "response": _snapshot(self._response)}),
            self._ev({"type": "response.in_progress", "response": _snapshot(self._response)}),
        ]

    def _on_finish_reason(self, reason: str) -> list[dict[str, Any]]:
        self._finish_reason = reason
        status = "completed" if finish_outcome(reason)[0] == "completed" else "incomplete"
        return self._flush_think() + self._close_all(status)

    def _end(self, index: int) -> list[dict[str, Any]]:
        """``[DONE]`` or close(): finish what is open and send the terminal event.

        Without a finish_reason the answer is not known to be whole: ``response.failed``, naming why
        (the typed error that stopped the input, a last frame cut by the end of input, or a plain cut).
        With one, the terminal follows the finish_reason even when the usage chunk after it was lost.
        """
        out: list[dict[str, Any]] = []
        if self._response is None:  # nothing at all arrived: still a well-formed (empty) response stream
            out += self._start({})
        if self._finish_reason is None and self.failure is not None:
            stop = f"translation stopped at a bad upstream chunk: {self.failure}"
            return out + self._fail({"message": stop, "type": "invalid_chunk", "code": "invalid_chunk"})
        if self._finish_reason is None and not self._saw_done:
            inside = " inside a frame (the cut frame was discarded)" if self._cut_frame() else ""
            cut = (
                f"upstream chat stream ended{inside} after {index} chunk(s) without a finish_reason or [DONE]"
            )
            return out + self._fail({"message": cut, "type": "stream_cut", "code": "stream_cut"})
        if self._finish_reason is None:
            out += self._close_all("completed")  # [DONE] without finish_reason (Snowflake): treat as stop
        return out + self._terminal()

    def _cut_frame(self) -> bool:
        return self._decoder is not None and self._decoder.cut

    def _finish(self) -> list[dict[str, Any]]:
        """close(): the input is over (``[DONE]`` or not)."""
        return self._end(self._index) if not self._terminal_sent else []

    def _fail(self, error: Any) -> list[dict[str, Any]]:
        if not isinstance(error, dict):
            error = {"message": str(error)}
        message = str(error.get("message") or "upstream error")
        raw_code = error.get("code")
        code = None if raw_code is None else str(raw_code)
        out = self._close_all("incomplete")
        out.append(
            self._ev(
                {
                    "type": "error",
                    "code": code,
                    "message": message,
                    "param": error.get("param"),
                }
            )
        )
        failure = {
            "code": canonical
            if (canonical := classify_error(error).code) in _FAILED_CODES
            else "server_error",
            "message": message,
            "param": error.get("param"),
            "type": error.get("type") if isinstance(error.get("type"), str) else code,
        }
        return out + self._terminal(failed=failure)

    def _terminal(self, failed: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        if self._terminal_sent:
            return []
        out = self._flush_think()
        out += self._close_all("incomplete" if failed else "completed")
        if self._audio is not None:
            if self._audio["data"]:
                out.append(self._ev({"type": "response.audio.done"}))
            if self._audio["transcript"]:
                out.append(self._ev({"type": "response.audio.transcript.done"}))
            self._audio = None
        assert self._response is not None
        response = dict(self._response)
        response["output"] = self._output
        if self._usage is not None:
            response["usage"] = chat_usage_to_responses(self._usage)
        if self._service_tier is not None:
            response["service_tier"] = self._service_tier
        outcome, detail = finish_outcome(self._finish_reason or "stop")
        if failed is None and outcome == "failed":  # an abnormal finish_reason: the answer was broken off
            reason = self._finish_reason or ""
            failed = abnormal_finish_error(reason, detail)
            out.append(
                self._ev({"type": "error", "code": reason, "message": failed["message"], "param": None})
            )
        if failed is not None:
            response["status"] = "failed"
            response["error"] = failed
            kind = "response.failed"
        elif outcome == "incomplete":
            response["status"] = "incomplete"
            response["incomplete_details"] = {"reason": detail}
            kind = "response.incomplete"
        else:
            response["status"] = "completed"
            kind = "response.completed"
        self._terminal_sent = True
        self._streaming = False
        out.append(self._ev({"type": kind, "response": response}))
        return out

    def _flush_think(self) -> list[dict[str, Any]]:
        """Text held back as a possible ``<think>`` tag start: at the end it is what it looked like."""
        out: list[dict[str, Any]] = []
        if self._think is not None:
            for is_reasoning, piece in self._think.flush():
                out += self._reasoning(piece, "content") if is_reasoning else self._text(piece, {})
        return out

    # -- items ---------------------------------------------------------------------------------

    def _open(self, kind: str, prefix: str, item: dict[str, Any]) -> tuple[_Item, dict[str, Any]]:
        opened = _Item(kind, self._ids(prefix), len(self._output))
        item["id"] = opened.id
        self._item = opened
        return opened, self._ev(
            {
                "type": "response.output_item.added",
                "output_index": opened.output_index,
                "item": {"id": opened.id, **item},
            }
        )

    def _close_item(self, status: str) -> list[dict[str, Any]]:
        item = self._item
        if item is None:
            return []
        self._item = None
        out: list[dict[str, Any]] = []
        if item.kind == "message":
            out += self._close_part(item)
            final: dict[str, Any] = {
                "id": item.id,
                "type": "message",
                "status": status,
                "content": item.done_parts,
                "role": "assistant",
            }
        elif item.kind == "function_call" and item.call is not None and item.call.form is not None:
            final = self._close_tool(item, item.call, status, out)
        elif item.kind == "function_call":
            call = item.call
            assert call is not None
            arguments = "".join(call.arguments)
            call.closed = True
            out.append(
                self._ev(
                    {
                        "type": "response.function_call_arguments.done",
                        "item_id": item.id,
                        "output_index": item.output_index,
                        "arguments": arguments,
                    }
                )
            )
            final = {
                "id": item.id,
                "type": "function_call",
                "status": status,
                "arguments": arguments,
                "call_id": call.call_id,
                "name": call.tool_name,
            }
            if call.namespace is not None:
                final["namespace"] = call.namespace
        else:
            out += self._close_reasoning_part(item)
            final = {"id": item.id, "type": "reasoning", "summary": item.done_parts}
            if item.mode == "content" or item.content:
                final["content"] = [{"type": "reasoning_text", "text": "".join(item.content)}]
            if item.encrypted:
                final["encrypted_content"] = "".join(item.encrypted)
        self._output.append(final)
        out.append(
            self._ev({"type": "response.output_item.done", "output_index": item.output_index, "item": final})
        )
        if self._secrets:  # encrypted reasoning that arrived inside this item: its own item, right after
            holder, added = self._open("reasoning", "rs", {"type": "reasoning", "summary": []})
            holder.encrypted, self._secrets = self._secrets, []
            out += [added, *self._close_item(status)]
        return out

    def _close_tool(self, item: _Item, call: _Call, status: str, out: list[dict[str, Any]]) -> dict[str, Any]:
        """The done events and final item of a custom tool call or a tool search call."""
        arguments = "".join(call.arguments)
        call.closed = True
        if call.unwrap is None:  # tool_search: the arguments as a JSON object (the text when not JSON)
            try:
                parsed: Any = orjson.loads(arguments) if arguments.strip() else {}
            except orjson.JSONDecodeError:
                parsed = arguments
            return {
                "id": item.id,
                "type": "tool_search_call",
                "call_id": call.call_id,
                "execution": "client",
                "status": status,
                "arguments": parsed,
            }
        where = {"item_id": item.id, "output_index": item.output_index}
        if call.unwrap.streaming:
            text = call.unwrap.value
        else:  # not {"input": "..."}: what the arguments mean, in one delta now
            text = fallback_string(arguments, CUSTOM_INPUT)
            if text:
                delta = {"type": "response.custom_tool_call_input.delta", **where, "delta": text}
                out.append(self._ev(delta))
        out.append(self._ev({"type": "response.custom_tool_call_input.done", **where, "input": text}))
        final: dict[str, Any] = {"id": item.id, "type": "custom_tool_call", "call_id": call.call_id}
        final["name"] = call.tool_name
        if call.namespace is not None:
            final["namespace"] = call.namespace
        final["input"] = text
        return final

    def _close_all(self, status: str) -> list[dict[str, Any]]:
        """The choice is over: what waits goes out in order, calls never opened open, all close."""
        self._forcing = True
        out: list[dict[str, Any]] = []
        while self._waiting:
            out += self._replay(self._waiting.pop(0))
        for call in self._calls:
            if not call.opened and (call.name is not None or call.pending):  # a bare index says nothing
                out += self._open_call(call)
        self._forcing = False
        return out + self._close_item(status)

    def _holding(self) -> bool:
        """Whether the open item is a call whose arguments started and are not complete JSON yet."""
        item = self._item
        return (
            item is not None
            and item.call is not None
            and not self._forcing
            and bool(item.call.arguments)
            and not item.call.complete()
        )

    def _release(self) -> list[dict[str, Any]]:
        """The open call's arguments are complete: what waited for them goes out, in arrival order."""
        out: list[dict[str, Any]] = []
        while self._waiting and not self._holding():
            out += self._replay(self._waiting.pop(0))
        return out

    def _replay(self, waiting: _Call | tuple[Any, ...]) -> list[dict[str, Any]]:
        if isinstance(waiting, _Call):
            return self._open_call(waiting) if not waiting.opened else []
        kind, *args = waiting
        if kind == "message":
            return self._message_piece(*args)
        if kind == "reasoning":
            return self._reasoning(*args)
        return self._add_annotations(*args)

    # message items

    def _text(self, text: str, choice: dict[str, Any]) -> list[dict[str, Any]]:
        logprobs = choice.get("logprobs")
        entries = logprobs.get("content") if logprobs and isinstance(logprobs, dict) else None
        if entries is not None and entries.__class__ is not list:
            raise InvalidChunkError("must be a list", field="choices[0].logprobs.content")
        item = self._item
        part = item.part if item is not None else None
        if part is None or part.kind != _TEXT or entries:
            return self._message_piece(_TEXT, text, entries)
        # hot path: more text for the open output_text part
        assert item is not None
        part.chunks.append(text)
        seq = self._seq
        self._seq = seq + 1
        return [
            {
                "type": "response.output_text.delta",
                "item_id": item.id,
                "output_index": item.output_index,
                "content_index": part.index,
                "delta": text,
                "logprobs": [],
                "sequence_number": seq,
            }
        ]

    def _message_piece(
        self, kind: str, text: str, logprobs: list[dict[str, Any]] | None
    ) -> list[dict[str, Any]]:
        # converted first, so a bad entry raises before any event (converting again on replay is a no-op)
        converted = [chat_logprob_to_responses(e) for e in logprobs] if logprobs else []
        if self._holding():  # between two fragments of an open call: waits for its arguments to complete
            self._waiting.append(("message", kind, text, converted))
            return []
        out, item, part = self._ensure_part(kind)
        part.chunks.append(text)
        if kind == _TEXT:
            part.logprobs += converted
            event = {
                "type": "response.output_text.delta",
                "item_id": item.id,
                "output_index": item.output_index,
                "content_index": part.index,
                "delta": text,
                "logprobs": converted,
            }
        else:
            event = {
                "type": "response.refusal.delta",
                "item_id": item.id,
                "output_index": item.output_index,
                "content_index": part.index,
                "delta": text,
            }
        out.append(self._ev(event))
        return out

    def _ensure_part(self, kind: str) -> tuple[list[dict[str, Any]], _Item, _Part]:
        """Open (if needed) a message item and a part of ``kind`` in it; the events that took."""
        out: list[dict[str, Any]] = []
        item = self._item
        if item is None or item.kind != "message":
            out += self._close_item("completed")
            item, added = self._open(
                "message",
                "msg",
                {"type": "message", "status": "in_progress", "content": [], "role": "assistant"},
            )
            out.append(added)
        part = item.part
        if part is None or part.kind != kind:
            out += self._close_part(item)
            part = item.part = _Part(kind, len(item.done_parts))
            empty: dict[str, Any] = (
                {"type": "refusal", "refusal": ""}
                if kind == _REFUSAL
                else {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
            )
            out.append(
                self._ev(
                    {
                        "type": "response.content_part.added",
                        "item_id": item.id,
                        "output_index": item.output_index,
                        "content_index": part.index,
                        "part": empty,
                    }
                )
            )
        return out, item, part

    def _close_part(self, item: _Item) -> list[dict[str, Any]]:
        part = item.part
        if part is None:
            return []
        item.part = None
        final = part.final()
        item.done_parts.append(final)
        where = {"item_id": item.id, "output_index": item.output_index, "content_index": part.index}
        if part.kind == _REFUSAL:
            done = {"type": "response.refusal.done", **where, "refusal": final["refusal"]}
        else:
            done = {
                "type": "response.output_text.done",
                **where,
                "text": final["text"],
                "logprobs": part.logprobs,
            }
        return [self._ev(done), self._ev({"type": "response.content_part.done", **where, "part": final})]

    def _annotations(self, annotations: list[Any], index: int, field: str) -> list[dict[str, Any]]:
        """OpenRouter-style ``delta.annotations``: url_citations become annotation.added events."""
        flat = [_flat_annotation(raw, index, f"{field}[{n}]") for n, raw in enumerate(annotations)]
        kept = [annotation for annotation in flat if annotation is not None]
        if not kept:
            return []
        if self._holding():
            self._waiting.append(("annotations", kept))
            return []
        return self._add_annotations(kept)

    def _add_annotations(self, kept: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out, item, part = self._ensure_part(_TEXT)
        for annotation in kept:
            out.append(
                self._ev(
                    {
                        "type": "response.output_text.annotation.added",
                        "item_id": item.id,
                        "output_index": item.output_index,
                        "content_index": part.index,
                        "annotation_index": len(part.annotations),
                        "annotation": annotation,
                    }
                )
            )
            part.annotations.append(annotation)
        return out

    def _content_parts(
        self, parts: list[Any], choice: dict[str, Any], index: int, pos: int
    ) -> list[dict[str, Any]]:
        """Mistral-style content arrays: ``text`` parts and ``thinking`` parts."""
        out: list[dict[str, Any]] = []
        try:
            self._parts(parts, choice, index, pos, out)
        except StreamError as exc:
            exc.partial = out + exc.partial
            raise
        return out

    def _parts(
        self, parts: list[Any], choice: dict[str, Any], index: int, pos: int, out: list[dict[str, Any]]
    ) -> None:
        for n, part in enumerate(parts):
            if not isinstance(part, dict):
                raise InvalidChunkError(
                    "content part must be an object", index=index, field=f"choices[{pos}].delta.content[{n}]"
                )
            kind = part.get("type")
            if kind == "text" and part.get("text"):
                out += self._text(str(part["text"]), choice)
            elif kind == "thinking":
                inner = part.get("thinking")
                pieces = inner if isinstance(inner, list) else [{"text": inner}]
                for piece in pieces:
                    text = piece.get("text") if isinstance(piece, dict) else None
                    if text:
                        out += self._reasoning(str(text), "content")

    # reasoning items

    def _reasoning(self, text: str, mode: str) -> list[dict[str, Any]]:
        item = self._item
        if item is not None and item.mode == mode and item.kind == "reasoning":  # hot path: more of the same
            seq = self._seq
            self._seq = seq + 1
            if mode == "summary":
                item.summary.append(text)
                kind, position = "response.reasoning_summary_text.delta", "summary_index"
            else:
                item.content.append(text)
                kind, position = "response.reasoning_text.delta", "content_index"
            return [
                {
                    "type": kind,
                    "item_id": item.id,
                    "output_index": item.output_index,
                    position: 0,
                    "delta": text,
                    "sequence_number": seq,
                }
            ]
        if self._holding():
            self._waiting.append(("reasoning", text, mode))
            return []
        out: list[dict[str, Any]] = []
        if item is None or item.kind != "reasoning" or (item.mode and item.mode != mode):
            out += self._close_item("completed")
            body: dict[str, Any] = {"type": "reasoning", "summary": []}
            if mode == "content":
                body["content"] = []
            item, added = self._open("reasoning", "rs", body)
            out.append(added)
        if not item.mode:
            item.mode = mode
            where = {"item_id": item.id, "output_index": item.output_index}
            if mode == "summary":
                out.append(
                    self._ev(
                        {
                            "type": "response.reasoning_summary_part.added",
                            **where,
                            "summary_index": 0,
                            "part": {"type": "summary_text", "text": ""},
                        }
                    )
                )
            else:
                out.append(
                    self._ev(
                        {
                            "type": "response.content_part.added",
                            **where,
                            "content_index": 0,
                            "part": {"type": "reasoning_text", "text": ""},
                        }
                    )
                )
        where = {"item_id": item.id, "output_index": item.output_index}
        if mode == "summary":
            item.summary.append(text)
            out.append(
                self._ev(
                    {
                        "type": "response.reasoning_summary_text.delta",
                        **where,
                        "summary_index": 0,
                        "delta": text,
                    }
                )
            )
        else:
            item.content.append(text)
            out.append(
                self._ev(
                    {"type": "response.reasoning_text.delta", **where, "content_index": 0, "delta": text}
                )
            )
        return out

    def _close_reasoning_part(self, item: _Item) -> list[dict[str, Any]]:
        where = {"item_id": item.id, "output_index": item.output_index}
        if item.mode == "summary":
            text = "".join(item.summary)
            part = {"type": "summary_text", "text": text}
            item.done_parts.append(part)
            return [
                self._ev(
                    {
                        "type": "response.reasoning_summary_text.done",
                        **where,
                        "summary_index": 0,
                        "text": text,
                    }
                ),
                self._ev(
                    {
                        "type": "response.reasoning_summary_part.done",
                        **where,
                        "summary_index": 0,
                        "part": part,
                    }
                ),
            ]
        if item.mode == "content":
            text = "".join(item.content)
            return [
                self._ev({"type": "response.reasoning_text.done", **where, "content_index": 0, "text": text}),
                self._ev(
                    {
                        "type": "response.content_part.done",
                        **where,
                        "content_index": 0,
                        "part": {"type": "reasoning_text", "text": text},
                    }
                ),
            ]
        return []

    def _reasoning_details(self, details: list[Any], text_carried: bool) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for detail in details:
            if not isinstance(detail, dict):
                continue
            kind = detail.get("type")
            if kind == "reasoning.text" and not text_carried and detail.get("text"):
                out += self._reasoning(str(detail["text"]), "content")
            elif kind == "reasoning.summary" and not text_carried and detail.get("summary"):
                out += self._reasoning(str(detail["summary"]), "summary")
            secret = detail.get("data") if kind == "reasoning.encrypted" else detail.get("signature")
            if secret and isinstance(secret, str):
                item = self._item
                if item is None:
                    item, added = self._open("reasoning", "rs", {"type": "reasoning", "summary": []})
                    out.append(added)
                if item.kind == "reasoning":
                    item.encrypted.append(secret)
                else:  # a message or call is open: it stays open, the secret goes out when it closes
                    self._secrets.append(secret)
        return out

    # function_call items

    def _tool_call(self, raw: Any, index: int, field: str, position: int = 0) -> list[dict[str, Any]]:
        if not isinstance(raw, dict):
            raise InvalidChunkError("tool call delta must be an object", index=index, field=field)
        function = raw.get("function") if "function" in raw else raw  # legacy function_call is flat
        if function is None:
            function = {}
        if not isinstance(function, dict):
            raise InvalidChunkError("function must be an object", index=index, field=f"{field}.function")
        key = raw.get("index")
        if key is not None and key.__class__ is not int and key != "function_call":
            raise InvalidChunkError(
                f"must be an integer, got {type(key).__name__}", index=index, field=f"{field}.index"
            )
        given = raw.get("id")
        given = str(given) if given else None
        name = function.get("name") or None
        arguments = function.get("arguments")
        if arguments is not None and not isinstance(arguments, str):
            arguments = orjson.dumps(arguments).decode()  # some providers send parsed JSON
        call = self._which_call(key, given, name, position)
        if name and call.name is None:
            call.name = str(name)
        out: list[dict[str, Any]] = []
        if call.closed:
            if arguments and arguments.strip():
                raise InvalidChunkError(
                    f"arguments for tool call {call.call_id!r} arrived after its item was closed",
                    index=index,
                    field=f"{field}.function.arguments",
                )
            return out
        if not call.opened:
            if arguments:
                call.pending.append(arguments)
            # A call opens with its first argument fragment (a header alone waits: the arguments may come
            # after other content, as our ResponsesToChat sends them when only the terminal had them).
            if call.name is not None and call.pending and call not in self._waiting:
                if self._holding():
                    self._waiting.append(call)  # interleaved calls: wait for the open one
                else:
                    out += self._open_call(call)
            return out
        if arguments:
            out += self._arguments(call, arguments)
        if self._waiting and not self._holding():
            out += self._release()
        return out

    def _which_call(self, key: object, given: str | None, name: Any, position: int) -> _Call:
        """The call a tool-call delta continues, or a new one.

        * with an ``index``: the latest call at that index, unless the delta brings an id other than
          that call's (Google's endpoint sends every parallel call at index 0, each with its own id);
        * without one: the call with the same id; with no id either, the last call, unless the entry
          is not the first of its ``tool_calls`` list or names a function while the last call's named
          arguments are already complete JSON (then each such entry is a call of its own).
        """
        call: _Call | None
        if key is not None:
            call = self._call_at.get(key)
            if call is not None and given is not None and call.given_id not in (None, given):
                call = None
        elif given is not None:
            call = self._call_by_id.get(given)
        elif position > 0 or not self._calls:
            call = None
        else:
            call = self._calls[-1]
            if name and call.name is not None and call.arguments and call.complete():
                call = None
        if call is None:
            call = _Call(key, given)
            self._calls.append(call)
            if key is not None:
                self._call_at[key] = call
        if given is not None and call.given_id is None:
            call.given_id = given
        if call.given_id is not None:
            self._call_by_id[call.given_id] = call
        return call

    def _more_arguments(self, raw: Any) -> list[dict[str, Any]] | None:
        """Hot path: one more argument fragment for the open call; ``None`` when it is anything else."""
        item = self._item
        if item is None or item.call is None or self._waiting or raw.__class__ is not dict or raw.get("id"):
            return None
        function = raw.get("function")
        if function.__class__ is not dict or function.get("name"):
            return None
        fragment = function.get("arguments")
        key = raw.get("index")
        if fragment.__class__ is not str or key.__class__ is not int:
            return None
        if self._call_at.get(key) is not item.call:
            return None
        return self._fragment(item, fragment)

    def _fragment(self, item: _Item, fragment: str) -> list[dict[str, Any]]:
        """One more argument fragment for the open call ``item`` (hot path)."""
        if not fragment:
            return []
        call = item.call
        assert call is not None
        if call.form is not None:
            return self._tool_input(item, call, fragment)
        call.arguments.append(fragment)
        if call.json is not None:
            call.json.feed(fragment)
        seq = self._seq
        self._seq = seq + 1
        return [
            {
                "type": "response.function_call_arguments.delta",
                "item_id": item.id,
                "output_index": item.output_index,
                "delta": fragment,
                "sequence_number": seq,
            }
        ]

    def _open_call(self, call: _Call) -> list[dict[str, Any]]:
        out = self._close_item("completed")
        call.call_id = self._unique_call_id(call.given_id)
        if call.name is None:
            call.name = ""
        entry = self._tool_map.get(call.name) if self._tool_map else None
        kind = entry.get("type") if entry else None
        call.tool_name = str(entry.get("name") or call.name) if entry else call.name
        namespace = entry.get("namespace") if entry else None
        call.namespace = str(namespace) if namespace else None
        body: dict[str, Any]
        if kind == "custom":
            call.form, call.unwrap = "custom", JsonStringField(CUSTOM_INPUT)
            prefix = "ctc"
            body = {"type": "custom_tool_call", "call_id": call.call_id, "name": call.tool_name, "input": ""}
        elif kind == "tool_search":
            call.form, prefix = "tool_search", "tsc"
            body = {
                "type": "tool_search_call",
                "call_id": call.call_id,
                "execution": "client",
                "status": "in_progress",
                "arguments": {},
            }
        else:
            prefix = "fc"
            body = {
                "type": "function_call",
                "status": "in_progress",
                "arguments": "",
                "call_id": call.call_id,
                "name": call.tool_name,
            }
        if call.namespace is not None and kind != "tool_search":
            body["namespace"] = call.namespace
        item, added = self._open("function_call", prefix, body)
        item.call = call
        call.opened = True
        out.append(added)
        pending, call.pending = call.pending, []
        for fragment in pending:
            out += self._arguments(call, fragment)
        return out

    def _tool_input(self, item: _Item, call: _Call, fragment: str) -> list[dict[str, Any]]:
        """A fragment of a custom tool's or tool search's arguments: custom input deltas at once."""
        if not fragment:
            return []
        call.add(fragment)
        if call.unwrap is None:
            return []  # tool_search: the arguments object goes out on output_item.done
        text = call.unwrap.feed(fragment)
        if not text:
            return []
        where = {"item_id": item.id, "output_index": item.output_index}
        return [self._ev({"type": "response.custom_tool_call_input.delta", **where, "delta": text})]

    def _unique_call_id(self, given: str | None) -> str:
        """The provider's id, or ``<id>_2``, ``<id>_3``... when another call of this response has it
        (DeepSeek, GLM and Kimi repeat ids across indexes); a new one when there is none."""
        call_id = given or self._ids("call")
        n = 1
        while call_id in self._call_ids:
            n += 1
            call_id = f"{given}_{n}" if given else self._ids("call")
        self._call_ids.add(call_id)
        return call_id

    def _arguments(self, call: _Call, fragment: str) -> list[dict[str, Any]]:
        item = self._item
        assert item is not None and item.call is call
        if call.form is not None:
            return self._tool_input(item, call, fragment)
        call.add(fragment)
        return [
            self._ev(
                {
                    "type": "response.function_call_arguments.delta",
                    "item_id": item.id,
                    "output_index": item.output_index,
                    "delta": fragment,
                }
            )
        ]

    # audio (Chat audio output -> Responses audio events; no output item carries it)

    def _audio_delta(self, audio: dict[str, Any]) -> list[dict[str, Any]]:
        if self._audio is None:
            self._audio = {"data": [], "transcript": []}
        out: list[dict[str, Any]] = []
        if audio.get("data"):
            self._audio["data"].append("")  # only whether any arrived matters for the .done events
            out.append(self._ev({"type": "response.audio.delta", "delta": str(audio["data"])}))
        if audio.get("transcript"):
            self._audio["transcript"].append("")
            out.append(
                self._ev({"type": "response.audio.transcript.delta", "delta": str(audio["transcript"])})
            )
        return out


_T = TypeVar("_T")
_KIND: dict[type, str] = {str: "a string", list: "a list", dict: "an object"}


def _expect(value: Any, kind: type[_T], index: int, field: str) -> _T:
    """``value`` if it is a ``kind``, else the typed error naming the chunk and field."""
    if value.__class__ is not kind:
        raise InvalidChunkError(
            f"must be {_KIND.get(kind, kind.__name__)}, got {type(value).__name__}", index=index, field=field
        )
    return value


def _flat_annotation(raw: Any, index: int, field: str) -> dict[str, Any] | None:
    """Chat ``{type: url_citation, url_citation: {...}}`` -> the flat Responses annotation.

    A url_citation already flat is kept; other annotation types have no Responses form here and are
    dropped (``None``).  A malformed url_citation is an :class:`InvalidChunkError`.
    """
    if not isinstance(raw, dict) or raw.get("type") != "url_citation":
        return None
    inner = raw.get("url_citation", raw)
    if not isinstance(inner, dict):
        raise InvalidChunkError("url_citation must be an object", index=index, field=f"{field}.url_citation")
    start, end = inner.get("start_index", 0), inner.get("end_index", 0)
    url, title = inner.get("url"), inner.get("title") or ""
    if (
        start.__class__ is not int
        or end.__class__ is not int
        or url.__class__ is not str
        or title.__class__ is not str
    ):
        raise InvalidChunkError(
            "url_citation needs integer start_index/end_index and string url/title", index=index, field=field
        )
    return {"type": "url_citation", "start_index": start, "end_index": end, "title": title, "url": url}


def _snapshot(response: dict[str, Any]) -> dict[str, Any]:
    return {**response, "output": []}


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
