"""Check a Responses event stream or a Chat Completions chunk stream against its protocol's invariants.

Both validators walk the stream once, in a plain loop, and collect *every* violation: they never stop
at the first.  A :class:`Violation` names the 0-based number of the offending event or chunk (``None``
when the fault is something missing at the end of the stream), a short stable rule code, and a reason.

Theory of operation (Responses, docs/mapping.md §4a-4c):

* ``sequence_number`` starts at 0 and grows by exactly 1 per event (``sequence.*``).
* ``response.created`` comes first, once; exactly one terminal event (``response.completed``,
  ``.incomplete`` or ``.failed``) comes last; ``id``/``model``/``created_at`` never change (``lifecycle.*``,
  ``terminal.*``, ``response.mismatch``).
* Items: ``output_index`` counts up from 0; every ``output_item.added`` has its ``output_item.done``
  before ``response.completed``; every item-scoped event names an item that is added, not yet done,
  and carries the same ``item_id`` (``item.*``).  Parts (content and summary parts) follow the same
  rules keyed by ``content_index`` / ``summary_index`` (``part.*``).
* Unfinished items (``unfinished.*``): a failed or incomplete response may end with items that never
  finished; they get no done event and are listed in ``response.output`` as they stood, with status
  ``incomplete`` (a failed response may also list none of them).  An item announced done with status
  ``incomplete`` in a stream that ends ``response.failed`` is an unfinished item announced as done
  (clients such as Codex keep every item announced done and send it back when they retry).
* Text: the deltas of a ``*.delta``/``*.done`` pair concatenate to the done text; the part done and the
  item done repeat it (``delta.mismatch``, ``part.mismatch``, ``item.mismatch``).
* The terminal ``response.output`` equals the items as they were done (``terminal.output_*``).
* ``call_id`` is unique per stream (``call_id.*``).

Chat (docs/mapping.md §4d): one ``id``/``model``/``created`` and ``object:"chat.completion.chunk"`` on every
chunk; per choice, the first delta carries ``role`` and later ones do not, ``finish_reason`` arrives once
and nothing follows it; tool call ``k`` opens with ``index:k`` (counting from 0), ``id``, ``type`` and
``function.name`` and continues without them (the SDK *concatenates* repeated strings); the
``choices:[]`` usage chunk follows every finish; ``data: [DONE]`` comes once, last.  An error chunk
(``{"error": {...}}``) ends the stream early, so the finish checks do not apply after it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..engine.sse import DONE, Done, StreamDecoder

__all__ = ["Violation", "validate_chat_stream", "validate_responses_stream", "validate_sse_bytes"]


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken invariant."""

    index: int | None
    """0-based number of the event/chunk (``[DONE]`` counts); ``None`` for something missing at the end."""
    rule: str
    """Short stable code, e.g. ``"sequence.gap"`` or ``"tool_call.index"``."""
    reason: str
    """Human-readable detail."""

    def __str__(self) -> str:
        where = f"#{self.index}" if self.index is not None else "end"
        return f"{where} {self.rule}: {self.reason}"


# --------------------------------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------------------------------

_LIFECYCLE = frozenset({"response.created", "response.in_progress", "response.queued"})
_TERMINAL = {
    "response.completed": "completed",
    "response.incomplete": "incomplete",
    "response.failed": "failed",
}
_IDENT = ("id", "model", "created_at")

# "<prefix>.delta"/"<prefix>.done" pairs: (field holding the full text on .done, scope of the text).
# Scope "content" is keyed by content_index, "summary" by summary_index, None is the whole item.
_TEXT_EVENTS: dict[str, tuple[str, str | None]] = {
    "response.output_text": ("text", "content"),
    "response.refusal": ("refusal", "content"),
    "response.reasoning_text": ("text", "content"),
    "response.reasoning_summary_text": ("text", "summary"),
    "response.function_call_arguments": ("arguments", None),
    "response.custom_tool_call_input": ("input", None),
    "response.mcp_call_arguments": ("arguments", None),
    "response.code_interpreter_call_code": ("code", None),
    "response.apply_patch_call_operation_diff": ("diff", None),
}
_PART_EVENTS = {
    "response.content_part.added": "content",
    "response.content_part.done": "content",
    "response.reasoning_summary_part.added": "summary",
    "response.reasoning_summary_part.done": "summary",
}
_SCOPE_INDEX = {"content": "content_index", "summary": "summary_index"}
_PART_TEXT_FIELD = {"refusal": "refusal"}  # every other part type keeps its text in "text"
# Ciphertext OpenAI re-encrypts between output_item.done and the terminal response (a Fernet token
# carries its own timestamp): C:responses/openai__reasoning_summary_multipart.sse, …program_item.sse.
OPAQUE_FIELDS = frozenset({"encrypted_content", "fingerprint"})

_TextKey = tuple[int, str | None, int | None]  # (output_index, scope, content/summary index)


@dataclass(slots=True)
class _Item:
    added_at: int
    id: Any
    done: dict[str, Any] | None = None
    parts: dict[tuple[str, int], bool] = field(default_factory=dict)  # (scope, index) -> done?


@dataclass(slots=True)
class _Text:
    name: str  # the field of the .done event that holds the full text
    deltas: list[str] = field(default_factory=list)
    final: str | None = None


class _ResponsesChecker:
    def __init__(self, *, require_sequence_numbers: bool, resumed: bool) -> None:
        self.require_seq = require_sequence_numbers
        self.resumed = resumed
        self.out: list[Violation] = []
        self.seq: int | None = None
        self.ident: dict[str, Any] | None = None
        self.terminal_at: int | None = None
        self.items: dict[int, _Item] = {}
        self.item_ids: dict[Any, int] = {}
        self.texts: dict[_TextKey, _Text] = {}
        self.call_ids: dict[str, int] = {}

    def flag(self, index: int | None, rule: str, reason: str) -> None:
        self.out.append(Violation(index, rule, reason))

    def run(self, events: Iterable[dict[str, Any] | Done]) -> list[Violation]:
        i = -1
        for i, event in enumerate(events):
            self.event(i, event)
        if i < 0:
            self.flag(None, "stream.empty", "no events")
        elif self.terminal_at is None:
            self.flag(
                None, "terminal.missing", "the stream ended without response.completed/incomplete/failed"
            )
            self.open_items(None, "the stream ended")
        return self.out

    def event(self, i: int, event: dict[str, Any] | Done) -> None:
        if event is DONE:
            self.flag(i, "done.unexpected", "a Responses stream has no [DONE] sentinel")
            return
        if not isinstance(event, dict):
            self.flag(i, "event.type", f"expected a JSON object, got {type(event).__name__}")
            return
        kind = event.get("type")
        if not isinstance(kind, str):
            self.flag(i, "event.type", "missing or non-string 'type'")
            return
        self.sequence(i, event)
        if i == 0 and kind != "response.created" and not self.resumed:
            self.flag(i, "lifecycle.start", f"the first event is {kind!r}, not 'response.created'")
        if self.terminal_at is not None:
            self.flag(i, "terminal.not_last", f"{kind!r} after the terminal event #{self.terminal_at}")
        if kind in _LIFECYCLE or kind in _TERMINAL:
            self.lifecycle(i, kind, event)
        elif kind == "response.output_item.added":
            self.item_added(i, event)
        elif kind == "response.output_item.done":
            self.item_done(i, event)
        elif kind in _PART_EVENTS:
            self.part(i, kind, event)
        else:
            prefix, _, suffix = kind.rpartition(".")
            if prefix in _TEXT_EVENTS and suffix in ("delta", "done"):
                self.text(i, prefix, suffix, event)
            elif "output_index" in event:
                self.item_ref(i, event)

    def sequence(self, i: int, event: dict[str, Any]) -> None:
        seq = event.get("sequence_number")
        if not isinstance(seq, int) or isinstance(seq, bool):
            if self.require_seq:
                self.flag(i, "sequence.missing", "no integer sequence_number")
            return
        if self.seq is None:
            if seq != 0 and not self.resumed:
                self.flag(i, "sequence.start", f"the first sequence_number is {seq}, not 0")
        elif seq != self.seq + 1:
            self.flag(i, "sequence.gap", f"sequence_number {seq} follows {self.seq}")
        self.seq = seq

    # lifecycle ------------------------------------------------------------------------------------

    def lifecycle(self, i: int, kind: str, event: dict[str, Any]) -> None:
        response = event.get("response")
        if not isinstance(response, dict):
            self.flag(i, "field.missing", f"{kind!r} without a 'response' object")
            response = {}
        if kind == "response.created" and i != 0:
            self.flag(i, "lifecycle.order", f"response.created at event #{i}, not first")
        ident = {key: response.get(key) for key in _IDENT}
        if self.ident is None:
            self.ident = ident
        else:
            for key in _IDENT:
                if ident[key] != self.ident[key]:
                    self.flag(i, "response.mismatch", f"response.{key} {ident[key]!r} != {self.ident[key]!r}")
        status = _TERMINAL.get(kind)
        if status is None:
            return
        if self.terminal_at is not None:
            self.flag(i, "terminal.count", f"a second terminal event (the first was #{self.terminal_at})")
            return
        self.terminal_at = i
        if response.get("status") != status:
            self.flag(i, "terminal.status", f"{kind!r} carries status {response.get('status')!r}")
        if status == "completed":
            self.open_items(i, f"{kind} arrived")
        else:
            self.unfinished(i, response.get("output"), failed=status == "failed")
        self.terminal_output(i, response.get("output"), failed=status == "failed")

    def terminal_output(self, i: int, output: Any, *, failed: bool) -> None:
        if not isinstance(output, list):
            self.flag(i, "terminal.output_mismatch", "response.output is not a list")
            return
        if len(output) != len(self.items) and not failed:
            self.flag(
                i,
                "terminal.output_count",
                f"response.output has {len(output)} items, {len(self.items)} added",
            )
        for oi, item in sorted(self.items.items()):
            if item.done is not None and (oi >= len(output) or _strip(output[oi]) != _strip(item.done)):
                self.flag(
                    i, "terminal.output_mismatch", f"response.output[{oi}] differs from its output_item.done"
                )

    def unfinished(self, i: int, output: Any, *, failed: bool) -> None:
        """A failed or incomplete ending: the items it left open, and the ones announced done unfinished."""
        listed = output if isinstance(output, list) else []
        for oi, item in sorted(self.items.items()):
            if item.done is not None:
                if failed and item.done.get("status") == "incomplete":
                    self.flag(
                        i,
                        "unfinished.announced",
                        f"item {oi} was announced done with status 'incomplete' before response.failed",
                    )
                continue
            final = listed[oi] if oi < len(listed) else None
            if not isinstance(final, dict):
                if not failed:
                    self.flag(
                        i,
                        "item.not_done",
                        f"item {oi} (added at #{item.added_at}) neither done nor in response.output",
                    )
            elif final.get("id") != item.id:
                reason = f"response.output[{oi}] is not the item added at #{item.added_at}"
                self.flag(i, "unfinished.id", reason)
            elif final.get("status", "incomplete") != "incomplete":
                self.flag(
                    i,
                    "unfinished.status",
                    f"item {oi} never finished, response.output[{oi}] says {final.get('status')!r}",
                )

    def open_items(self, index: int | None, when: str) -> None:
        for oi, item in sorted(self.items.items()):
            if item.done is None:
                self.flag(
                    index, "item.not_done", f"item {oi} (added at #{item.added_at}) not done when {when}"
                )

    # items ----------------------------------------------------------------------------------------

    def item_added(self, i: int, event: dict[str, Any]) -> None:
        oi, item = event.get("output_index"), event.get("item")
        if not isinstance(oi, int) or not isinstance(item, dict):
            self.flag(i, "field.missing", "output_item.added needs an integer output_index and an item")
            return
        if oi in self.items:
            self.flag(
                i, "item.duplicate", f"output_index {oi} was already added at #{self.items[oi].added_at}"
            )
            return
        if oi != len(self.items):
            self.flag(i, "item.output_index", f"output_index {oi}, expected {len(self.items)}")
        item_id = item.get("id")
        if item_id is not None:
            if item_id in self.item_ids:
                self.flag(
                    i, "item.id_duplicate", f"item id {item_id!r} already used at #{self.item_ids[item_id]}"
                )
            self.item_ids[item_id] = i
        call_id = item.get("call_id")
        if item.get("type") == "function_call" and not call_id:
            self.flag(i, "call_id.missing", "function_call item without call_id")
        if isinstance(call_id, str) and call_id:
            if call_id in self.call_ids:
                self.flag(
                    i, "call_id.duplicate", f"call_id {call_id!r} already used at #{self.call_ids[call_id]}"
                )
            self.call_ids[call_id] = i
        self.items[oi] = _Item(i, item_id)

    def item_ref(self, i: int, event: dict[str, Any], *, closing: bool = False) -> _Item | None:
        """The open item an item-scoped event names, flagging unknown, mismatched or closed references."""
        oi = event.get("output_index")
        item = self.items.get(oi) if isinstance(oi, int) else None
        if item is None:
            self.flag(
                i, "item.unknown", f"{event['type']!r} names output_index {oi!r}, which was never added"
            )
            return None
        item_id = (
            event["item"].get("id")
            if closing and isinstance(event.get("item"), dict)
            else event.get("item_id")
        )
        if ("item_id" in event or closing) and item_id != item.id:
            self.flag(i, "item.id_mismatch", f"item id {item_id!r} != {item.id!r} of output_index {oi}")
        if item.done is not None:
            self.flag(i, "item.after_done", f"{event['type']!r} after item {oi} was done")
            return None
        return item

    def item_done(self, i: int, event: dict[str, Any]) -> None:
        item = self.item_ref(i, event, closing=True)
        done = event.get("item")
        if item is None or not isinstance(done, dict):
            return
        oi = event["output_index"]
        for (part_scope, part_index), part_done in sorted(item.parts.items()):
            if not part_done:
                self.flag(i, "part.not_done", f"{part_scope} part {part_index} of item {oi} was never done")
        call_id = done.get("call_id")
        if isinstance(call_id, str) and call_id and call_id not in self.call_ids:
            self.flag(i, "call_id.changed", f"call_id {call_id!r} differs from the one added")
        for (text_oi, scope, index), text in self.texts.items():
            if text_oi != oi:
                continue
            self.require_text_done(i, text, (text_oi, scope, index))
            final = text.final if text.final is not None else "".join(text.deltas)
            found = _item_text(done, scope, index, text.name)
            if found is not None and found != final:
                self.flag(
                    i, "item.mismatch", f"item {oi} {_where(scope, index)}{text.name} differs from the stream"
                )
        item.done = done

    # parts and text -------------------------------------------------------------------------------

    def part(self, i: int, kind: str, event: dict[str, Any]) -> None:
        item = self.item_ref(i, event)
        scope = _PART_EVENTS[kind]
        index = event.get(_SCOPE_INDEX[scope])
        if item is None or not isinstance(index, int):
            if item is not None:
                self.flag(i, "field.missing", f"{kind!r} without an integer {_SCOPE_INDEX[scope]}")
            return
        key = (scope, index)
        if kind.endswith(".added"):
            if key in item.parts:
                self.flag(i, "part.duplicate", f"{scope} part {index} added twice")
            elif index != sum(1 for s, _ in item.parts if s == scope):
                self.flag(i, "part.index", f"{_SCOPE_INDEX[scope]} {index} is not the next one")
            item.parts[key] = False
            return
        if key not in item.parts:
            self.flag(i, "part.not_added", f"{scope} part {index} done but never added")
        elif item.parts[key]:
            self.flag(i, "part.duplicate", f"{scope} part {index} done twice")
        item.parts[key] = True
        text = self.texts.get((event["output_index"], scope, index))
        part = event.get("part")
        if text is not None and isinstance(part, dict):
            self.require_text_done(i, text, (event["output_index"], scope, index))
            final = text.final if text.final is not None else "".join(text.deltas)
            found = part.get(_PART_TEXT_FIELD.get(str(part.get("type")), "text"))
            if found != final:
                self.flag(i, "part.mismatch", f"{scope} part {index} text differs from the stream")

    def text(self, i: int, prefix: str, suffix: str, event: dict[str, Any]) -> None:
        item = self.item_ref(i, event)
        if item is None:
            return
        field_name, scope = _TEXT_EVENTS[prefix]
        index = event.get(_SCOPE_INDEX[scope]) if scope is not None else None
        if scope is not None:
            if not isinstance(index, int):
                self.flag(i, "field.missing", f"{event['type']!r} without an integer {_SCOPE_INDEX[scope]}")
                return
            if item.parts.get((scope, index)) is not False:
                state = "done" if (scope, index) in item.parts else "not added"
                self.flag(i, "part.not_open", f"{event['type']!r} for {scope} part {index}, which is {state}")
        key = (event["output_index"], scope, index)
        text = self.texts.setdefault(key, _Text(field_name))
        if text.final is not None:
            self.flag(i, "text.after_done", f"{event['type']!r} after the text was done")
            return
        if suffix == "delta":
            delta = event.get("delta")
            if not isinstance(delta, str):
                self.flag(i, "field.missing", f"{event['type']!r} without a string delta")
            else:
                text.deltas.append(delta)
            return
        final = event.get(field_name)
        if not isinstance(final, str):
            self.flag(i, "field.missing", f"{event['type']!r} without a string {field_name!r}")
            final = "".join(text.deltas)
        elif text.deltas and "".join(text.deltas) != final:
            self.flag(
                i, "delta.mismatch", f"the deltas do not concatenate to {field_name!r} of {event['type']!r}"
            )
        text.final = final

    def require_text_done(self, i: int, text: _Text, key: _TextKey) -> None:
        if text.final is None and text.deltas:
            self.flag(i, "text.not_done", f"{_where(key[1], key[2])}{text.name} streamed but never done")
            text.final = "".join(text.deltas)


def _strip(item: Any) -> Any:
    """An item without its opaque ciphertext values (their presence still counts)."""
    if not isinstance(item, dict):
        return item
    return {key: (value is None) if key in OPAQUE_FIELDS else value for key, value in item.items()}


def _where(scope: str | None, index: int | None) -> str:
    return f"{scope}[{index}]." if scope is not None else ""


def _item_text(item: dict[str, Any], scope: str | None, index: int | None, field_name: str) -> str | None:
    """The text an item done carries for one stream key, or None when the item does not repeat it."""
    if scope is None:
        value = item.get(field_name)
        return value if isinstance(value, str) else None
    parts = item.get(scope)
    if (
        not isinstance(parts, list)
        or index is None
        or index >= len(parts)
        or not isinstance(parts[index], dict)
    ):
        return None
    part = parts[index]
    value = part.get(_PART_TEXT_FIELD.get(str(part.get("type")), "text"))
    return value if isinstance(value, str) else None


def validate_responses_stream(
    events: Iterable[dict[str, Any] | Done],
    *,
    require_sequence_numbers: bool = True,
    resumed: bool = False,
) -> list[Violation]:
    """Every invariant a Responses event stream breaks, in stream order.

    Args:
        events: decoded events (dicts); a ``DONE`` is flagged, since OpenAI sends none.
        require_sequence_numbers: flag events without ``sequence_number`` (old recordings lack it).
        resumed: the stream was resumed with ``starting_after``: it may start past 0 and without
            ``response.created``.
    """
    checker = _ResponsesChecker(require_sequence_numbers=require_sequence_numbers, resumed=resumed)
    return checker.run(events)


# --------------------------------------------------------------------------------------------------
# Chat Completions
# --------------------------------------------------------------------------------------------------

_CHUNK_IDENT = ("id", "model", "created")


@dataclass(slots=True)
class _Choice:
    finished_at: int | None = None
    calls: dict[int, Any] = field(default_factory=dict)  # tool call index -> id


class _ChatChecker:
    def __init__(self, *, require_done: bool) -> None:
        self.require_done = require_done
        self.out: list[Violation] = []
        self.ident: dict[str, Any] | None = None
        self.choices: dict[int, _Choice] = {}
        self.call_ids: dict[str, int] = {}
        self.done_at: int | None = None
        self.error_at: int | None = None
        self.usage_at: int | None = None

    def flag(self, index: int | None, rule: str, reason: str) -> None:
        self.out.append(Violation(index, rule, reason))

    def run(self, chunks: Iterable[dict[str, Any] | Done]) -> list[Violation]:
        i = -1
        for i, chunk in enumerate(chunks):
            if self.done_at is not None:
                rule = "done.duplicate" if chunk is DONE else "done.not_last"
                self.flag(i, rule, f"a chunk after [DONE] at #{self.done_at}")
                continue
            if chunk is DONE:
                self.done_at = i
                self.end(i)
            elif isinstance(chunk, dict):
                self.chunk(i, chunk)
            else:
                self.flag(i, "chunk.type", f"expected a JSON object or [DONE], got {type(chunk).__name__}")
        if i < 0:
            self.flag(None, "stream.empty", "no chunks")
        elif self.done_at is None:
            if self.require_done and self.error_at is None:
                self.flag(None, "done.missing", "the stream ended without data: [DONE]")
            self.end(None)
        return self.out

    def end(self, index: int | None) -> None:
        if self.error_at is not None:
            return
        for c, choice in sorted(self.choices.items()):
            if choice.finished_at is None:
                self.flag(index, "finish.missing", f"choice {c} never got a finish_reason")

    def chunk(self, i: int, chunk: dict[str, Any]) -> None:
        if self.error_at is not None:
            self.flag(i, "error.not_last", f"a chunk after the error chunk #{self.error_at}")
        if chunk.get("error"):
            self.error_at = i
            if "choices" not in chunk:
                return  # a bare {"error": {...}} chunk: the stream failed
            self.flag(i, "error.in_chunk", "an 'error' inside a regular chunk (the SDK raises on it)")
        if chunk.get("object") != "chat.completion.chunk":
            self.flag(i, "chunk.object", f"object is {chunk.get('object')!r}, not 'chat.completion.chunk'")
        ident = {key: chunk.get(key) for key in _CHUNK_IDENT}
        if self.ident is None:
            self.ident = ident
        else:
            for key in _CHUNK_IDENT:
                if ident[key] != self.ident[key]:
                    self.flag(i, f"chunk.{key}_changed", f"{key} {ident[key]!r} != {self.ident[key]!r}")
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            self.flag(i, "chunk.choices_missing", "no 'choices' list")
            return
        if chunk.get("usage") is not None:
            self.usage(i, bool(choices))
        elif choices and self.usage_at is not None:
            self.flag(i, "usage.not_last", f"a choice chunk after the usage chunk #{self.usage_at}")
        for choice in choices:
            if isinstance(choice, dict):
                self.choice(i, choice)
            else:
                self.flag(i, "choice.index", "a choice that is not an object")

    def usage(self, i: int, with_choices: bool) -> None:
        if with_choices:
            self.flag(
                i, "usage.with_choices", "usage on a chunk that has choices (expected a choices:[] chunk)"
            )
            return
        if self.usage_at is not None:
            self.flag(i, "usage.duplicate", f"a second usage chunk (the first was #{self.usage_at})")
        self.usage_at = i
        for c, choice in sorted(self.choices.items()):
            if choice.finished_at is None:
                self.flag(i, "usage.before_finish", f"usage chunk before choice {c} finished")

    def choice(self, i: int, choice: dict[str, Any]) -> None:
        c = choice.get("index")
        if not isinstance(c, int):
            self.flag(i, "choice.index", "a choice without an integer index")
            return
        state = self.choices.get(c)
        delta = choice.get("delta")
        delta = delta if isinstance(delta, dict) else {}
        if state is None:
            state = self.choices[c] = _Choice()
            if delta.get("role") != "assistant":
                self.flag(i, "delta.role_missing", f"the first delta of choice {c} has no role 'assistant'")
        elif state.finished_at is not None:
            self.flag(
                i,
                "choice.after_finish",
                f"choice {c} continues after its finish_reason at #{state.finished_at}",
            )
        elif delta.get("role"):
            self.flag(i, "delta.role_repeated", f"role repeated on choice {c} (clients concatenate it)")
        tool_calls = delta.get("tool_calls")
        if isinstance(tool_calls, list):
            for call in tool_calls:
                self.tool_call(i, state, call)
        if choice.get("finish_reason") is not None and state.finished_at is None:
            state.finished_at = i

    def tool_call(self, i: int, state: _Choice, call: Any) -> None:
        k = call.get("index") if isinstance(call, dict) else None
        if not isinstance(k, int) or not isinstance(call, dict):
            self.flag(i, "tool_call.index", "a tool call delta without an integer index")
            return
        function = call.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        call_id = call.get("id")
        if k in state.calls:  # continuation: the SDK concatenates strings, so nothing may repeat
            if call_id:
                self.flag(i, "tool_call.id_repeated", f"tool call {k} repeats id {call_id!r}")
            if name:
                self.flag(i, "tool_call.name_repeated", f"tool call {k} repeats name {name!r}")
            return
        if k != len(state.calls):
            self.flag(i, "tool_call.index", f"tool call index {k}, expected {len(state.calls)}")
        if not call_id:
            self.flag(i, "tool_call.id_missing", f"tool call {k} opens without an id")
        elif call_id in self.call_ids:
            self.flag(
                i, "call_id.duplicate", f"tool call id {call_id!r} already used at #{self.call_ids[call_id]}"
            )
        else:
            self.call_ids[call_id] = i
        if not call.get("type"):
            self.flag(i, "tool_call.type_missing", f"tool call {k} opens without a type")
        if not name:
            self.flag(i, "tool_call.name_missing", f"tool call {k} opens without function.name")
        state.calls[k] = call_id


def validate_chat_stream(
    chunks: Iterable[dict[str, Any] | Done], *, require_done: bool = True
) -> list[Violation]:
    """Every invariant a Chat Completions chunk stream breaks, in stream order.

    Args:
        chunks: decoded chunks (dicts) and the ``DONE`` sentinel.
        require_done: flag a stream that ends without ``data: [DONE]`` (several providers omit it,
            and so do recordings stored as JSON lines).
    """
    return _ChatChecker(require_done=require_done).run(chunks)


def validate_sse_bytes(
    data: bytes, protocol: Literal["chat", "responses"], **options: bool
) -> list[Violation]:
    """Decode a whole SSE (or JSONL) body and validate it; ``options`` go to the protocol's validator.

    Raises:
        SSEError: the bytes are not an event stream (bad UTF-8 or JSON).
        ValueError: ``protocol`` is neither ``"chat"`` nor ``"responses"``.
    """
    decoder = StreamDecoder()
    items = decoder.feed(data) + decoder.close()
    if protocol == "chat":
        return validate_chat_stream(items, **options)
    if protocol == "responses":
        return validate_responses_stream(items, **options)
    raise ValueError(f"protocol must be 'chat' or 'responses', not {protocol!r}")
