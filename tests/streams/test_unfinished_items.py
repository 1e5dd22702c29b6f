"""No unfinished item is ever announced as done (issue 21, item 1).

When a Chat stream fails (cut, error frame, abnormal finish_reason, data that cannot be translated), the
items the upstream finished (closed because the next one opened) keep their events; the item that was
open gets no ``*.done`` and no ``output_item.done``, and appears only in the failed response's
``output``, with status ``incomplete``.  A tool call cut inside its arguments is never announced done,
also when a ``length`` finish cuts it.  Agents such as Codex record every item announced done and send
it back on their retry: an announced partial answer would pile up, a cut call would be run.

The reverse direction (``ResponsesToChat``): after a failure a Chat client gets the error chunk and
nothing else (no finish_reason, nothing from the failed response's output), and at an incomplete
ending a call the upstream never finished is not completed from the terminal snapshot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.chat_chunks import ChatChunks, data_frame
from support.responses_events import created, function_call, message, response
from support.sdk import accumulate_with_sdk, check_failed_stream

from translator.cli import main
from translator.engine.sse import DONE, StreamDecoder
from translator.errors import TranslatorError
from translator.ids import SequentialIds, fixed_clock
from translator.streams.chat_to_responses import ChatToResponses
from translator.streams.responses_to_chat import ResponsesToChat
from translator.testing.validate import validate_chat_stream, validate_responses_stream
from translator.wire.chat_sse import ChatSSEWriter
from translator.wire.responses_sse import ResponsesSSEWriter, chat_stream_to_responses_sse

chunk = ChatChunks(id="c1", created=7, model="m")


def call(index: int, call_id: str | None = None, name: str | None = None, arguments: str = "") -> Any:
    entry: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id is not None:
        entry.update(id=call_id, type="function")
        entry["function"]["name"] = name
    return chunk({"tool_calls": [entry]})


TEXT = [chunk({"role": "assistant", "content": ""}), chunk({"content": "Hello"}), chunk({"content": " wor"})]
CUT_CALL = [
    chunk({"role": "assistant", "content": None}),
    call(0, "call_a", "shell", ""),
    call(0, arguments='{"cmd": "touch cut'),
]
ERROR = chunk(None, error={"message": "overloaded", "code": "server_error"})


def translate(items: list[Any], **options: Any) -> list[dict[str, Any]]:
    """Feed everything (a typed error stops the input, as a careful caller does), then close()."""
    translator = ChatToResponses(ids=SequentialIds(), clock=fixed_clock(1), **options)
    events: list[dict[str, Any]] = []
    for item in items:
        try:
            events += translator.feed(item)
        except TranslatorError:
            break
    return events + translator.close()


def announced_done(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a client like Codex records: every item an ``output_item.done`` announced."""
    return [e["item"] for e in events if e["type"] == "response.output_item.done"]


def done_types(events: list[dict[str, Any]], item_id: str) -> list[str]:
    return [
        e["type"] for e in events if e["type"].endswith(".done") and item_id in (e.get("item_id"), _id(e))
    ]


def _id(event: dict[str, Any]) -> Any:
    item = event.get("item")
    return item.get("id") if isinstance(item, dict) else None


# -- the open item of a failed stream ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "ending",
    [
        pytest.param([], id="cut"),
        pytest.param([ERROR], id="error-frame"),
        pytest.param([chunk({}, "error"), DONE], id="abnormal-finish"),
        pytest.param([chunk({"content": 5})], id="bad-chunk"),
    ],
)
def test_a_message_cut_mid_text_is_never_announced_done(ending: list[Any]) -> None:
    events = translate([*TEXT, *ending])
    final, unfinished = check_failed_stream(events)
    assert announced_done(events) == []
    assert done_types(events, "msg_0002") == []  # no output_text.done, content_part.done, output_item.done
    assert unfinished == final["output"]
    assert unfinished == [
        {
            "id": "msg_0002",
            "type": "message",
            "status": "incomplete",
            "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": "Hello wor"}],
            "role": "assistant",
        }
    ]


@pytest.mark.parametrize(
    "ending",
    [
        pytest.param([], id="cut"),
        pytest.param([ERROR], id="error-frame"),
        pytest.param([chunk({}, "abort"), DONE], id="abnormal-finish"),
        pytest.param([chunk({}, "length"), DONE], id="length"),
        pytest.param([b"data: {not json}\n\n"], id="bad-frame"),
    ],
)
def test_a_call_cut_inside_its_arguments_is_never_announced(ending: list[Any]) -> None:
    events = translate([*CUT_CALL, *ending])
    types = [e["type"] for e in events]
    assert "response.function_call_arguments.done" not in types
    assert "response.output_item.done" not in types
    final = events[-1]["response"]
    assert final["output"] == [
        {
            "id": "fc_0002",
            "type": "function_call",
            "status": "incomplete",
            "arguments": '{"cmd": "touch cut',
            "call_id": "call_a",
            "name": "shell",
        }
    ]
    assert validate_responses_stream(events) == []
    assert accumulate_with_sdk(events) is not None
    if final["status"] == "failed":
        check_failed_stream(events)
    else:  # length: response.incomplete, the cut call listed as it stood
        assert events[-1]["type"] == "response.incomplete"


def test_at_a_length_finish_a_message_still_closes_incomplete_but_a_whole_call_is_kept() -> None:
    # the API ends a max_output_tokens response with the message done as incomplete; only a call whose
    # arguments are not whole JSON is left unannounced
    events = translate([*TEXT, chunk({}, "length"), DONE])
    assert [item["status"] for item in announced_done(events)] == ["incomplete"]
    whole_call = [*CUT_CALL[:2], call(0, arguments='{"cmd": "ls"}'), chunk({}, "length"), DONE]
    events = translate(whole_call)
    assert [(i["type"], i["status"]) for i in announced_done(events)] == [("function_call", "incomplete")]


def test_items_the_upstream_finished_keep_their_events() -> None:
    # text, then a call: the message finished when the call opened; the call is cut
    events = translate([*TEXT, call(0, "call_a", "shell", '{"cmd": '), ERROR])
    final, unfinished = check_failed_stream(events)
    assert [(i["type"], i["status"]) for i in announced_done(events)] == [("message", "completed")]
    assert [(i["type"], i["status"]) for i in unfinished] == [("function_call", "incomplete")]
    assert [i["type"] for i in final["output"]] == ["message", "function_call"]
    assert done_types(events, "msg_0002") == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
    ]


def test_interleaved_calls_cut_leave_both_unannounced_in_output_order() -> None:
    stream = [
        chunk({"role": "assistant", "content": None}),
        call(0, "call_a", "f", '{"a": '),
        call(1, "call_b", "g", '{"b": 1'),  # waits: call 0 is open and incomplete
        call(0, arguments="1"),
    ]
    events = translate(stream)
    final, unfinished = check_failed_stream(events)
    assert announced_done(events) == []
    assert [(i["call_id"], i["arguments"], i["status"]) for i in final["output"]] == [
        ("call_a", '{"a": 1', "incomplete"),
        ("call_b", '{"b": 1', "incomplete"),
    ]
    assert unfinished == final["output"]
    # the waiting call was never added: the client saw nothing of it but the failed response's output
    assert [e["item"]["call_id"] for e in events if e["type"] == "response.output_item.added"] == ["call_a"]


def test_a_custom_tool_call_cut_gets_no_input_done() -> None:
    tool_map = {"apply_patch": {"type": "custom", "name": "apply_patch"}}
    stream = [
        chunk({"role": "assistant", "content": None}),
        call(0, "call_p", "apply_patch", '{"input": "*** Begin Patch\\n*** Add'),
    ]
    events = translate(stream, tool_map=tool_map)
    _, unfinished = check_failed_stream(events)
    assert "response.custom_tool_call_input.done" not in [e["type"] for e in events]
    assert "".join(e["delta"] for e in events if e["type"] == "response.custom_tool_call_input.delta") == (
        "*** Begin Patch\n*** Add"
    )
    assert unfinished == [
        {
            "id": "ctc_0002",
            "type": "custom_tool_call",
            "call_id": "call_p",
            "name": "apply_patch",
            "input": "*** Begin Patch\n*** Add",
        }
    ]


def test_reasoning_cut_and_text_held_as_a_think_tag_are_left_unannounced() -> None:
    events = translate([chunk({"reasoning_content": "Let me"}), chunk({"reasoning_content": " think"})])
    _, unfinished = check_failed_stream(events)
    assert announced_done(events) == [] and unfinished[0]["status"] == "incomplete"
    assert unfinished[0]["summary"] == [{"type": "summary_text", "text": "Let me think"}]
    events = translate([chunk({"content": "<think>why</think>Because <th"})], think_tags=True)
    _, unfinished = check_failed_stream(events)
    assert [i["type"] for i in announced_done(events)] == ["reasoning"]
    assert unfinished[0]["content"][0]["text"] == "Because <th"  # the held text is kept, unannounced


def test_items_after_an_abnormal_finish_are_not_announced_either() -> None:
    events = translate([*TEXT, chunk({}, "error"), chunk({"content": "late"}), DONE])
    _, unfinished = check_failed_stream(events)
    assert announced_done(events) == []
    assert [i["content"][0]["text"] for i in unfinished] == ["Hello wor", "late"]
    assert [e["output_index"] for e in events if e["type"] == "response.output_item.added"] == [0, 1]


# -- every writer and wrapper ends the same way -----------------------------------------------------------


def test_the_sse_writer_wrapper_and_cli_write_no_done_for_a_cut_call(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    stream = b"".join(data_frame(c) for c in CUT_CALL)
    writer = ResponsesSSEWriter(ChatToResponses(ids=SequentialIds(), clock=fixed_clock(1)))
    written = writer.feed(stream) + writer.close()
    assert writer.final is not None and writer.final["status"] == "failed"
    wrapped = b"".join(chat_stream_to_responses_sse([stream], ids=SequentialIds(), clock=fixed_clock(1)))
    path = tmp_path / "cut.sse"
    path.write_bytes(stream)
    assert main(["translate", "--from", "chat", "--deterministic", str(path)]) == 0
    for output in (written, wrapped, capsysbinary.readouterr().out):
        decoder = StreamDecoder()
        events = decoder.feed(output) + decoder.close()
        check_failed_stream(events)
        assert b"function_call_arguments.done" not in output and b"output_item.done" not in output


# -- property: a stream cut anywhere announces only the items the upstream finished -------------------------

_PIECES = st.lists(
    st.one_of(
        st.builds(lambda t: chunk({"content": t}), st.text("ab {}", min_size=1, max_size=4)),
        st.builds(lambda t: chunk({"reasoning_content": t}), st.text("xy", min_size=1, max_size=3)),
        st.builds(
            lambda n, a: call(n, f"call_{n}", "f", a),
            st.integers(0, 2),
            st.sampled_from(["", '{"k": ', "{}"]),
        ),
        st.builds(
            lambda n, a: call(n, arguments=a), st.integers(0, 2), st.sampled_from(['"v"', "}", "1", "]"])
        ),
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(pieces=_PIECES, end=st.sampled_from(["cut", "error", "abort"]))
def test_a_failed_stream_announces_only_what_the_upstream_moved_past(pieces: list[Any], end: str) -> None:
    ending = {"cut": [], "error": [ERROR], "abort": [chunk({}, "abort"), DONE]}[end]
    events = translate([chunk({"role": "assistant"}), *pieces, *ending])
    final, unfinished = check_failed_stream(events)
    added = [e["output_index"] for e in events if e["type"] == "response.output_item.added"]
    done = [e["output_index"] for e in events if e["type"] == "response.output_item.done"]
    # items are sequential: a done item is one the next item followed; the last one added is never done
    if added:
        assert added[-1] not in done
        assert done == added[: len(done)]
    assert len(final["output"]) == len(done) + len(unfinished)


# -- the reverse direction: what a Chat client never receives ----------------------------------------------


def chat_of(events: list[Any]) -> list[Any]:
    translator = ResponsesToChat(ids=SequentialIds(), clock=fixed_clock(1))
    chunks: list[Any] = []
    for event in events:
        chunks += translator.feed(event)
    return chunks + translator.close()


def finish_reasons(chunks: list[Any]) -> list[Any]:
    return [
        c["choices"][0]["finish_reason"]
        for c in chunks
        if c.get("choices") and c["choices"][0]["finish_reason"]
    ]


def test_chat_client_of_a_cut_call_gets_the_fragments_then_the_error_chunk_never_a_finish() -> None:
    # Chat -> Responses -> Chat: the Chat client sees what streamed, then the error chunk; no
    # finish_reason (so never "tool_calls"), no [DONE]; the failed response's output is not read
    chunks = chat_of(translate(CUT_CALL))
    assert "error" in chunks[-1] and finish_reasons(chunks) == []
    calls = [tc for c in chunks[:-1] for tc in c["choices"][0]["delta"].get("tool_calls") or []]
    assert "".join(tc["function"].get("arguments") or "" for tc in calls) == '{"cmd": "touch cut'
    assert validate_chat_stream(chunks, require_done=False) == []
    writer = ChatSSEWriter(ResponsesToChat())
    written = writer.feed(
        b"".join(b"event: x\ndata: " + orjson.dumps(e) + b"\n\n" for e in translate(CUT_CALL))
    )
    written += writer.close()
    assert b"data: [DONE]" not in written and b'"finish_reason":"tool_calls"' not in written


def test_chat_client_never_gets_a_call_only_the_failed_response_lists() -> None:
    # a call added without its name (a Chat client needs the name on the first fragment: it waits),
    # then the stream fails, listing the call whole: the call never opens
    events = [
        *created(),
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "sequence_number": 2,
            "item": {
                "id": "fc_1",
                "type": "function_call",
                "status": "in_progress",
                "arguments": "",
                "call_id": "c",
            },
        },
        {
            "type": "response.function_call_arguments.delta",
            "output_index": 0,
            "item_id": "fc_1",
            "delta": '{"cmd": "rm',
            "sequence_number": 3,
        },
        {
            "type": "response.failed",
            "sequence_number": 4,
            "response": response(
                "failed",
                [
                    {
                        "id": "fc_1",
                        "type": "function_call",
                        "status": "incomplete",
                        "name": "shell",
                        "arguments": '{"cmd": "rm -rf /tmp/x"}',
                        "call_id": "c",
                    }
                ],
                error={"code": "server_error", "message": "cut"},
            ),
        },
    ]
    chunks = chat_of(events)
    assert [c for c in chunks if "error" not in c and c["choices"][0]["delta"].get("tool_calls")] == []
    assert "error" in chunks[-1] and finish_reasons(chunks) == []


def test_chat_client_of_an_incomplete_response_never_gets_the_cut_call_completed() -> None:
    # max_output_tokens cut a call: the terminal response lists it incomplete with more arguments than
    # streamed (or a call that never streamed); nothing more of it goes out, and the finish is "length"
    streamed = [
        *created(),
        *message(0, "Hi"),
        *function_call(1, "call_1", "shell", '{"cmd": ', deltas=['{"cmd": '], with_done=False)[:-1],
    ]
    terminal = response(
        "incomplete",
        [
            {
                "id": "msg_0",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Hi", "annotations": []}],
            },
            {
                "id": "fc_1",
                "type": "function_call",
                "status": "incomplete",
                "name": "shell",
                "arguments": '{"cmd": "rm -rf',
                "call_id": "call_1",
            },
            {
                "id": "fc_0002",
                "type": "function_call",
                "status": "incomplete",
                "name": "shell",
                "arguments": "{",
                "call_id": "call_2",
            },
        ],
        incomplete_details={"reason": "max_output_tokens"},
    )
    chunks = chat_of(
        [*streamed, {"type": "response.incomplete", "response": terminal, "sequence_number": 99}]
    )
    calls = [
        tc for c in chunks if c.get("choices") for tc in c["choices"][0]["delta"].get("tool_calls") or []
    ]
    assert [tc.get("id") for tc in calls if tc.get("id")] == ["call_1"]
    assert "".join(tc["function"].get("arguments") or "" for tc in calls) == '{"cmd": '
    assert finish_reasons(chunks) == ["length"]
