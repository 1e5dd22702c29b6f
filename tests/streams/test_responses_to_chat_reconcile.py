"""Items known only from the terminal response are reconciled with the stream (issue 12, item 10).

Hypothesis builds a Response's output (messages, reasoning, function and custom calls), streams it
the way real servers get it wrong (output_index gaps, item ids rotated on every event as GitHub
Copilot does, text cut short so its tail arrives only in the terminal response, items never streamed,
a fully streamed reasoning item left out of the terminal response), and checks what the SDK's
``ChatCompletionStreamState`` accumulates: every call exactly once with its id, name and whole
arguments, and the content and reasoning holding every item's text exactly once (their order may
differ: text already sent cannot be moved, so a tail that arrives late follows what was sent since).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

from translator.ids import SequentialIds, fixed_clock
from translator.streams.responses_to_chat import translate_responses_stream

RESPONSE = {"id": "resp_1", "object": "response", "created_at": 1, "model": "m"}


@dataclass
class Item:
    kind: str  # message, reasoning, function_call, custom_tool_call
    text: str  # the message text, reasoning summary, call arguments or input
    call_id: str = ""
    streamed: int = -1  # characters streamed as deltas; -1: the item never appears in the stream
    in_terminal: bool = True

    def final(self, item_id: str) -> dict[str, Any]:
        if self.kind == "message":
            part = {"type": "output_text", "text": self.text, "annotations": []}
            return {
                "id": item_id,
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [part],
            }
        if self.kind == "reasoning":
            return {
                "id": item_id,
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": self.text}],
            }
        key = "input" if self.kind == "custom_tool_call" else "arguments"
        return {"id": item_id, "type": self.kind, "call_id": self.call_id, "name": "tool", key: self.text}


texts = st.text(alphabet="abc ", min_size=1, max_size=6)


@st.composite
def items(draw: st.DrawFn) -> list[Item]:
    out = []
    for n in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["message", "reasoning", "function_call", "custom_tool_call"]))
        # a leading letter of its own per item: two items with the same text and no id that tells
        # them apart cannot be told apart (test_responses_to_chat covers the ids that do)
        text = "VWXYZ"[n] + draw(texts)
        streamed = draw(st.integers(-1, len(text)))
        # only a reasoning item the client already has in full may be left out of the terminal response
        dropped = kind == "reasoning" and streamed == len(text) and draw(st.booleans())
        out.append(Item(kind, text, f"call_{n}", streamed, not dropped))
    return out


def events_for(plan: list[Item], gaps: list[int], rotate: bool) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": {**RESPONSE, "status": "in_progress"}}
    ]
    oi = -1
    serial = iter(range(10_000))

    def ident(n: int) -> str:
        return f"rot_{next(serial)}" if rotate else f"item_{n}"

    for n, item in enumerate(plan):
        if item.streamed < 0:
            continue
        oi += 1 + gaps[n]
        added = item.final(ident(n))
        if item.kind == "message":
            added["content"] = []
        elif item.kind == "reasoning":
            added["summary"] = []
        elif item.kind == "function_call":
            added["arguments"] = ""
        else:
            added["input"] = ""
        events.append({"type": "response.output_item.added", "output_index": oi, "item": added})
        piece = item.text[: item.streamed]
        if not piece:
            continue
        where = {"output_index": oi, "item_id": ident(n)}
        delta_type = {
            "message": "response.output_text.delta",
            "reasoning": "response.reasoning_summary_text.delta",
            "function_call": "response.function_call_arguments.delta",
            "custom_tool_call": "response.custom_tool_call_input.delta",
        }[item.kind]
        extra = (
            {"content_index": 0}
            if item.kind == "message"
            else {"summary_index": 0}
            if item.kind == "reasoning"
            else {}
        )
        events.append({"type": delta_type, **where, **extra, "delta": piece})
    output = [item.final(ident(n)) for n, item in enumerate(plan) if item.in_terminal]
    events.append(
        {"type": "response.completed", "response": {**RESPONSE, "status": "completed", "output": output}}
    )
    return events


@settings(max_examples=200, deadline=None)
@given(items(), st.lists(st.integers(0, 2), min_size=5, max_size=5), st.booleans())
def test_every_item_reaches_the_client_exactly_once(plan: list[Item], gaps: list[int], rotate: bool) -> None:
    events = events_for(plan, gaps, rotate)
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for chunk in translate_responses_stream(events, ids=SequentialIds(), clock=fixed_clock(1)):
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    final = state.get_final_completion().choices[0]
    message = final.message
    calls = sorted((t.id, t.function.name, t.function.arguments) for t in message.tool_calls or [])
    expected_calls = sorted(
        (item.call_id, "tool", item.text)
        for item in plan
        if item.kind in ("function_call", "custom_tool_call")
    )
    assert calls == expected_calls
    assert final.finish_reason == ("tool_calls" if expected_calls else "stop")
    for kind, got in (
        ("message", message.content or ""),
        ("reasoning", (message.model_extra or {}).get("reasoning_content") or ""),
    ):
        wanted = [item.text for item in plan if item.kind == kind]
        # each text exactly once, joined by one separator each: the same characters, in any order
        assert Counter(got) == Counter("\n".join(wanted)), (kind, got, wanted)
