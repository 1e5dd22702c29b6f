"""Which streamed output index each item of a terminal ``response.output`` is (ResponsesToChat).

The terminal response repeats the items, but not always as they were streamed: ``output_index`` may
skip numbers (C:openai__phase_two_messages.sse), GitHub Copilot rotates item ids, some servers leave a
streamed reasoning item out.  :func:`reconcile` matches each finished item to what the stream
delivered (:class:`Streamed`), so that :class:`~translator.streams.responses_to_chat.ResponsesToChat`
catches up each item exactly once, at the place it was streamed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .chat_segments import ARGS, CALL_TYPES, RAW, TEXT, Call, Segment, call_text, part_text

__all__ = ["Streamed", "affinity", "cut_calls", "reconcile"]


@dataclass(slots=True)
class Streamed:
    """What the stream delivered, by output index (the translator's own records, not copies)."""

    seen: dict[int, str | None]  #: output_index -> item type (None: not known yet)
    item_ids: dict[str, int]  #: item id -> output_index
    segments: dict[tuple[int, str, int], Segment]
    calls: dict[int, Call]  #: output_index -> function or custom tool call
    hosted: set[int]  #: output indexes surfaced as hosted items


def reconcile(output: list[Any], streamed: Streamed) -> dict[int, int]:
    """Where each item of the terminal ``response.output`` was streamed: position -> output_index.

    An item is matched by its item id, or a call by its call id, when that id was streamed and what was
    sent agrees; else to the next streamed index (in the order of both lists; out of order only as a
    last resort) whose sent text it continues; else to the next one of its type that sent nothing.  An
    unknown id proves nothing: OpenRouter keeps the message's id but renames the reasoning item's
    (C:openrouter__gpt_oss_reasoning_text_data_only_done).  An item that matches nothing gets a fresh
    index (recorded in ``streamed.seen``): it was never streamed, and it is delivered once.
    """
    items = [
        (position, item)
        for position, item in enumerate(output)
        if isinstance(item, dict) and isinstance(item.get("type"), str)
    ]
    seen = streamed.seen
    placed = _by_id(items, streamed)
    claimed = set(placed.values())
    ordered = sorted(seen)
    rank = {oi: n for n, oi in enumerate(ordered)}
    cursor = 0
    for position, item in items:
        if position in placed:
            cursor = max(cursor, rank[placed[position]] + 1)
            continue
        after = [oi for oi in ordered[cursor:] if oi not in claimed]
        before = [oi for oi in ordered[:cursor] if oi not in claimed]
        fits = {oi: affinity(oi, item, streamed) for oi in after + before}
        found = next((oi for oi in after + before if fits[oi] > 0), None)
        if found is None:
            found = next((oi for oi in after if fits[oi] == 0), None)
        if found is None:  # never streamed
            found = max(seen, default=-1) + 1
            seen[found] = item["type"]
        else:
            claimed.add(found)
            cursor = max(cursor, rank[found] + 1)
        placed[position] = found
    return placed


def _by_id(items: list[tuple[int, dict[str, Any]]], streamed: Streamed) -> dict[int, int]:
    """The items whose item id (or call id) was streamed, where what was sent agrees."""
    by_call_id = {call.call_id: oi for oi, call in streamed.calls.items() if call.call_id}
    placed: dict[int, int] = {}
    claimed: set[int] = set()
    for position, item in items:
        item_id, call_id = item.get("id"), item.get("call_id")
        oi: int | None = streamed.item_ids.get(item_id) if isinstance(item_id, str) else None
        if oi is None and item["type"] in CALL_TYPES and isinstance(call_id, str):
            oi = by_call_id.get(call_id)
        if oi is not None and oi not in claimed and affinity(oi, item, streamed) >= 0:
            placed[position] = oi
            claimed.add(oi)
    return placed


def affinity(oi: int, item: dict[str, Any], streamed: Streamed) -> int:
    """How what was streamed at ``oi`` relates to the finished ``item``.

    -1: it cannot be that item (another type, text that ``item`` does not continue, another call
    id); 1: it is (what was sent is the start of ``item``'s text, or the call ids agree); 0: nothing
    tells (nothing was sent).
    """
    kind = item["type"]
    if streamed.seen.get(oi) not in (None, kind):
        return -1
    sent = {key[1:]: segment.sent() for key, segment in streamed.segments.items() if key[0] == oi}
    sent = {key: text for key, text in sent.items() if text}
    pairs: list[tuple[str, Any]] = []  # (text sent, the item's text at the same place)
    if kind in CALL_TYPES:
        call = streamed.calls.get(oi)
        call_id = item.get("call_id")
        if call is not None and call.call_id and isinstance(call_id, str):
            return 1 if call.call_id == call_id else -1
        if call is not None and not call.opened:
            sent[(ARGS, 0)] = "".join(call.pending)
        pairs = [(text, call_text(item)) for (field, _), text in sent.items() if field == ARGS]
    elif kind == "message":
        for (field, ci), text in sent.items():
            key = "text" if field == TEXT else field
            pairs.append((text, part_text(item.get("content"), ci, key)))
    elif kind == "reasoning":
        for (_, sub), text in sent.items():
            where = ("content", sub - RAW) if sub >= RAW else ("summary", sub)
            pairs.append((text, part_text(item.get(where[0]), where[1], "text")))
    elif oi in streamed.hosted:
        return 1 if streamed.seen.get(oi) == kind else -1
    if len(pairs) < len(sent) or any(not isinstance(f, str) or not f.startswith(t) for t, f in pairs):
        return -1  # text of another kind was sent there, or text this item does not continue
    return 1 if any(text for text, _ in pairs) else 0


def cut_calls(
    response: dict[str, Any], output: list[Any], placed: dict[int, int], calls: dict[int, Call]
) -> set[int]:
    """The calls an incomplete response (``max_output_tokens``...) cut: the output indexes of calls
    (streamed, or listed in ``output``; ``placed`` is :func:`reconcile`'s answer) whose
    ``output_item.done`` never came, unless the response lists them ``completed``.  Nothing more of them
    goes to the client (a call not opened yet never opens; arguments known only from the terminal
    snapshot are not sent): a Chat client must never receive a cut call as a whole one."""
    if response.get("status") != "incomplete":
        return set()
    listed = {oi: output[position] for position, oi in placed.items()}
    candidates = set(calls) | {oi for oi, item in listed.items() if item.get("type") in CALL_TYPES}
    return {
        oi
        for oi in candidates
        if not (oi in calls and calls[oi].finished) and listed.get(oi, {}).get("status") != "completed"
    }
