"""The phase table of Chat -> Responses (translator.streams.chat_phases), and the translator following it.

As in h2's ``test_state_machines.py``, Hypothesis talks about general behaviour: every input in every
phase either moves to the phase the table says or raises the typed error; and a translator fed any
sequence of inputs (as real chunks) is, after each, in the phase the table predicts, with exactly one
terminal event, written on the move that ends the response.
"""

from __future__ import annotations

from itertools import product
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.sdk import validate_responses_events

from translator.engine.sse import DONE
from translator.errors import StreamStateError
from translator.ids import SequentialIds, fixed_clock
from translator.streams.chat_phases import DELTAS_FLOW, TRANSITIONS, Input, Phase, advance
from translator.streams.chat_to_responses import ChatToResponses
from translator.streams.interruptible import InterruptibleChatToResponses

TERMINAL = {"response.completed", "response.incomplete", "response.failed"}


@given(phase=st.sampled_from(Phase), input_=st.sampled_from(Input))
def test_every_input_in_every_phase_moves_by_the_table_or_is_a_state_error(
    phase: Phase, input_: Input
) -> None:
    if (phase, input_) in TRANSITIONS:
        assert advance(phase, input_) is TRANSITIONS[phase, input_]
    else:
        with pytest.raises(StreamStateError, match=f"{input_.name} is not allowed in phase {phase.name}"):
            advance(phase, input_)


def test_close_is_accepted_once_and_then_nothing_is() -> None:
    for phase in Phase:
        if phase is Phase.CLOSED:
            assert not [input_ for input_ in Input if (phase, input_) in TRANSITIONS]
        else:
            assert advance(phase, Input.CLOSE) is Phase.CLOSED


def test_deltas_flow_while_the_choice_runs_and_never_move_the_phase() -> None:
    assert {Phase.STREAMING, Phase.FINISHED} == DELTAS_FLOW
    assert all(advance(phase, Input.DELTA) is phase for phase in DELTAS_FLOW)


def test_done_always_ends_the_response_and_only_close_leaves_ended() -> None:
    for phase in (Phase.IDLE, Phase.STREAMING, Phase.FINISHED, Phase.ENDED):
        assert advance(phase, Input.DONE) is Phase.ENDED
    leaving_ended = {new for (old, _), new in TRANSITIONS.items() if old is Phase.ENDED and new is not old}
    assert leaving_ended == {Phase.CLOSED}


def test_no_phase_is_entered_again_once_left_except_by_its_own_loops() -> None:
    """The phases are ordered: IDLE < STREAMING < FINISHED < ENDED < CLOSED, and moves never go back."""
    for (old, _), new in TRANSITIONS.items():
        assert new >= old


# -- the translator follows the table ------------------------------------------------------------


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choices = (
        [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    )
    return {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": choices,
        **extra,
    }


USAGE = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}

#: What the test feeds, as real input, and the table inputs it is made of in a phase where chunks are
#: read (in ENDED chunks are dropped unread; in IDLE a chunk with anything in it starts the response
#: first, FIRST_CHUNK).
STEPS: dict[str, tuple[Any, list[Input]]] = {
    "preamble": (
        {"id": "", "model": "", "object": "", "choices": [], "prompt_filter_results": [{"prompt_index": 0}]},
        [],
    ),
    "text": (chunk({"content": "hi"}), [Input.DELTA]),
    "reasoning": (chunk({"reasoning_content": "hm"}), [Input.DELTA]),
    "call": (  # (no index, no id: each such named, complete call is a call of its own)
        chunk({"tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]}),
        [Input.DELTA],
    ),
    "text and finish": (chunk({"content": "x"}, "stop"), [Input.DELTA, Input.FINISH_REASON]),
    "finish": (chunk({}, "length"), [Input.FINISH_REASON]),
    "usage chunk": (chunk(None, usage=USAGE), [Input.USAGE_CHUNK]),
    "usage with choices": (chunk({"content": "y"}, usage=USAGE), [Input.DELTA]),
    "error": ({"error": {"message": "overloaded", "code": "server_error"}}, [Input.ERROR]),
    "flat error": ({"object": "error", "message": "oom", "code": 500}, [Input.ERROR]),
    "done": (DONE, [Input.DONE]),
}


def predicted(phase: Phase, step: str) -> Phase:
    item, inputs = STEPS[step]
    if item is DONE:
        return advance(phase, Input.DONE)
    if phase is Phase.ENDED:  # chunks are dropped unread
        return phase
    if phase is Phase.IDLE:
        if step == "preamble":
            return advance(phase, Input.PREAMBLE)
        phase = advance(phase, Input.FIRST_CHUNK)
    for input_ in inputs:
        phase = advance(phase, input_)
    return phase


@settings(max_examples=300)
@given(steps=st.lists(st.sampled_from(sorted(STEPS)), max_size=8))
def test_the_translator_is_in_the_phase_the_table_predicts(steps: list[str]) -> None:
    translator = ChatToResponses(ids=SequentialIds(), clock=fixed_clock(1))
    phase = Phase.IDLE
    events: list[dict[str, Any]] = []
    for step in steps:
        before = phase
        out = translator.feed(STEPS[step][0])
        phase = predicted(phase, step)
        assert translator.phase is phase, (step, before)
        ended_now = phase is Phase.ENDED and before is not Phase.ENDED
        assert sum(event["type"] in TERMINAL for event in out) == ended_now, (step, before)
        events += out
    before = phase
    out = translator.close()
    assert translator.phase is Phase.CLOSED
    assert sum(event["type"] in TERMINAL for event in out) == (before is not Phase.ENDED)
    events += out
    assert sum(event["type"] in TERMINAL for event in events) == 1
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    validate_responses_events(events)
    with pytest.raises(StreamStateError, match="after close"):
        translator.feed(chunk({"content": "late"}))
    assert translator.phase is Phase.CLOSED


@pytest.mark.parametrize(("before", "step"), list(product(["idle", "streaming", "finished", "ended"], STEPS)))
def test_each_step_from_each_phase(before: str, step: str) -> None:
    """The same property, exhaustively for one step after each reachable phase."""
    lead = {
        "idle": [],
        "streaming": [chunk({"content": "a"})],
        "finished": [chunk({"content": "a"}, "stop")],
        "ended": [chunk({"content": "a"}, "stop"), chunk(None, usage=USAGE)],
    }[before]
    translator = ChatToResponses(ids=SequentialIds(), clock=fixed_clock(1))
    for item in lead:
        translator.feed(item)
    start = translator.phase
    assert start.name.lower() == before
    out = translator.feed(STEPS[step][0])
    assert translator.phase is predicted(start, step)
    terminal = sum(event["type"] in TERMINAL for event in out)
    assert terminal == (translator.phase is Phase.ENDED and start is not Phase.ENDED)


# -- interrupt(): the caller stops reading (steering) -----------------------------------------------


@pytest.mark.parametrize("before", ["idle", "streaming", "finished", "ended"])
def test_interrupt_ends_the_response_incomplete_with_the_reason_from_any_phase_before_ended(
    before: str,
) -> None:
    lead = {
        "idle": [],
        "streaming": [chunk({"content": "a"})],
        "finished": [chunk({"content": "a"}, "stop")],
        "ended": [chunk({"content": "a"}, "stop"), chunk(None, usage=USAGE)],
    }[before]
    translator = InterruptibleChatToResponses(ids=SequentialIds(), clock=fixed_clock(1))
    events = [event for item in lead for event in translator.feed(item)]
    out = translator.interrupt("steered")
    events += out + translator.close()
    assert sum(event["type"] in TERMINAL for event in events) == 1
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    validate_responses_events(events)
    if before == "ended":
        assert out == []
        return
    assert out[-1]["type"] == "response.incomplete"
    final = out[-1]["response"]
    assert final["status"] == "incomplete"
    assert final["incomplete_details"] == {"reason": "steered"}
    for item in final["output"]:
        assert item["status"] == ("completed" if before == "finished" else "incomplete")


def test_interrupt_closes_an_open_call_and_numbers_the_callers_events_in_sequence() -> None:
    translator = InterruptibleChatToResponses(ids=SequentialIds(), clock=fixed_clock(1))
    events = translator.feed(chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f"}}]}))
    events += translator.feed(chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]}))
    assert translator.has_tool_calls
    mine = translator.number({"type": "mine"})
    assert mine["sequence_number"] == len(events) == translator.next_sequence - 1
    out = translator.interrupt("steered")
    assert out[-1]["response"]["incomplete_details"] == {"reason": "steered"}
    assert [e["sequence_number"] for e in [*events, mine, *out]] == list(range(len(events) + 1 + len(out)))
    assert translator.interrupt("steered") == []
