"""``ChatToResponses(tool_map=...)``: Chat function calls turned back into the Responses tool the client
declared (namespaced function, custom tool with its input streamed, client tool search), judged by the
official SDK's types and ``ResponseStreamState``."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.chat_chunks import ChatChunks
from support.corpus import CORPUS
from support.sdk import accumulate_with_sdk

from translator.engine.json_stream import JsonStringField, fallback_string
from translator.ids import SequentialIds, fixed_clock
from translator.streams.chat_to_responses import ChatToResponses, translate_chat_stream
from translator.testing.validate import validate_responses_stream

TERMINAL = ("response.completed", "response.incomplete", "response.failed")
MAP: dict[str, dict[str, str]] = {
    "multi_agent_v1__spawn": {"type": "function", "name": "spawn", "namespace": "multi_agent_v1"},
    "apply_patch": {"type": "custom", "name": "apply_patch"},
    "tool_search": {"type": "tool_search"},
    "renamed_fn": {"type": "function", "name": "fn.with.dots"},
}
PATCH = '*** Begin Patch\n*** Add File: a.txt\n+héllo "wörld" \\ \t 😀 \u2028 end\n*** End Patch\n'


chunk = ChatChunks(id="c1", created=7, model="m")


def call_chunks(
    name: str, arguments: list[str], index: int = 0, call_id: str = "call_1"
) -> list[dict[str, Any]]:
    head = {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
    return [chunk({"tool_calls": [head]})] + [
        chunk({"tool_calls": [{"index": index, "function": {"arguments": a}}]}) for a in arguments
    ]


def run(chunks: list[Any], tool_map: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    translator = ChatToResponses(
        ids=SequentialIds(), clock=fixed_clock(1), tool_map=MAP if tool_map is None else tool_map
    )
    events: list[dict[str, Any]] = []
    for c in chunks:
        events += translator.feed(c)
    return events + translator.close()


def final(events: list[dict[str, Any]]) -> tuple[dict[str, Any], Any]:
    assert sum(e["type"] in TERMINAL for e in events) == 1 and events[-1]["type"] in TERMINAL
    assert validate_responses_stream(events) == []
    sdk = accumulate_with_sdk(events)
    assert sdk is not None
    return events[-1]["response"], sdk


def pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def test_namespaced_function_comes_back_with_its_namespace() -> None:
    events = run([*call_chunks("multi_agent_v1__spawn", ['{"task":', ' "x"}']), chunk({}, "tool_calls")])
    response, sdk = final(events)
    item = response["output"][0]
    assert (item["type"], item["name"], item["namespace"], item["arguments"]) == (
        "function_call",
        "spawn",
        "multi_agent_v1",
        '{"task": "x"}',
    )
    assert sdk.output[0].namespace == "multi_agent_v1" and sdk.output[0].name == "spawn"
    added = next(e for e in events if e["type"] == "response.output_item.added")
    assert added["item"]["namespace"] == "multi_agent_v1" and added["item"]["name"] == "spawn"
    assert [e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta"] == [
        '{"task":',
        ' "x"}',
    ]


def test_a_function_renamed_for_the_upstream_gets_its_own_name_back_without_namespace() -> None:
    response, _ = final(run([*call_chunks("renamed_fn", ["{}"]), chunk({}, "tool_calls")]))
    assert response["output"][0]["name"] == "fn.with.dots" and "namespace" not in response["output"][0]


def test_names_not_in_the_map_stay_plain_function_calls() -> None:
    response, _ = final(run([*call_chunks("exec_command", ['{"cmd": "ls"}']), chunk({}, "tool_calls")]))
    assert (
        response["output"][0]["type"] == "function_call" and response["output"][0]["name"] == "exec_command"
    )


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 1000])
def test_custom_tool_input_is_unwrapped_as_it_arrives(size: int) -> None:
    arguments = json.dumps({"input": PATCH})  # \\u escapes for the emoji's surrogate pair and U+2028
    assert "\\ud83d\\ude00" in arguments
    translator = ChatToResponses(ids=SequentialIds(), clock=fixed_clock(1), tool_map=MAP)
    events = translator.feed(call_chunks("apply_patch", [])[0])
    decoded_so_far, received = "", ""
    for fragment in pieces(arguments, size):
        out = translator.feed(chunk({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]}))
        events += out
        received += fragment
        decoded_so_far += "".join(
            e["delta"] for e in out if e["type"] == "response.custom_tool_call_input.delta"
        )
        # never waits for the end: all that can be decoded from what arrived is out already
        assert decoded_so_far == decodable(received, arguments)
    events += translator.feed(chunk({}, "tool_calls")) + translator.close()
    response, sdk = final(events)
    item = response["output"][0]
    assert item["type"] == "custom_tool_call" and item["input"] == PATCH and item["name"] == "apply_patch"
    assert item["call_id"] == "call_1" and sdk.output[0].input == PATCH
    deltas = [e["delta"] for e in events if e["type"] == "response.custom_tool_call_input.delta"]
    assert "".join(deltas) == PATCH
    assert len(deltas) >= min(len(arguments) // size, 10) - 2  # streamed, not one lump at the end
    done = [e for e in events if e["type"] == "response.custom_tool_call_input.done"]
    assert [d["input"] for d in done] == [PATCH]
    assert not [e for e in events if e["type"].startswith("response.function_call_arguments")]


def decodable(received: str, arguments: str) -> str:
    """What can be decoded of the ``input`` string from ``received``, a prefix of ``arguments``."""
    head = '{"input": "'
    body = arguments[len(head) : -2][: max(0, len(received) - len(head))]
    for cut in range(len(body), -1, -1):
        try:
            text: str = json.loads('"' + body[:cut] + '"')
        except json.JSONDecodeError:
            continue
        return text[:-1] if text and "\ud800" <= text[-1] <= "\udbff" else text  # a pair's first half waits
    return ""


@settings(max_examples=200, deadline=None)
@given(value=st.text(max_size=12), cuts=st.lists(st.integers(0, 200), max_size=8), ascii_only=st.booleans())
def test_every_split_of_the_json_string_decodes_to_the_same_text(
    value: str, cuts: list[int], ascii_only: bool
) -> None:
    raw = json.dumps({"input": value}, ensure_ascii=ascii_only)
    points = sorted({min(c, len(raw)) for c in cuts} | {0, len(raw)})
    field = JsonStringField("input")
    out = []
    for start, end in pairwise(points):
        out.append(field.feed(raw[start:end]))
    expected = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    assert field.streaming and "".join(out) == expected == field.value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"input": "\\ud83d"}', "\ufffd"),  # a lone high surrogate
        ('{"input": "\\ude00x"}', "\ufffdx"),  # a lone low surrogate
        ('{"input": "\\ud83d\\u0041"}', "\ufffdA"),  # high surrogate then not a low one
        ('{"input": "a\\qb"}', "aqb"),  # unknown escape: kept (lenient)
        ('{"input": "a", "extra": 1}', "a"),  # more keys after the string: ignored
        ('  {\n "input" :\t"spaced"}', "spaced"),
    ],
)
def test_escape_edge_cases_split_at_every_point(raw: str, expected: str) -> None:
    for cut in range(len(raw) + 1):
        field = JsonStringField("input")
        got = field.feed(raw[:cut]) + field.feed(raw[cut:])
        assert got == expected, cut


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (['{"patch": "x\\ny"}'], "x\ny"),  # another single key: its string
        (["*** Begin Patch\n", "*** End Patch"], "*** Begin Patch\n*** End Patch"),  # raw text, not JSON
        (['{"input": 5}'], "5"),  # not a string: its JSON
        (['{"a": "1", "b": "2"}'], '{"a": "1", "b": "2"}'),  # not one string: the text itself
        ([], ""),
    ],
)
def test_custom_tool_arguments_of_another_shape_fall_back_at_the_end(
    arguments: list[str], expected: str
) -> None:
    events = run([*call_chunks("apply_patch", arguments), chunk({}, "tool_calls")])
    response, sdk = final(events)
    assert response["output"][0]["input"] == expected == sdk.output[0].input
    deltas = [e["delta"] for e in events if e["type"] == "response.custom_tool_call_input.delta"]
    assert deltas == ([expected] if expected else [])
    assert fallback_string("".join(arguments), "input") == expected


def test_tool_search_call_carries_the_parsed_arguments() -> None:
    events = run(
        [*call_chunks("tool_search", ['{"query": "calen', 'dar", "limit": 3}']), chunk({}, "tool_calls")]
    )
    response, sdk = final(events)
    item = response["output"][0]
    assert item["type"] == "tool_search_call" and item["execution"] == "client"
    assert item["arguments"] == {"query": "calendar", "limit": 3} and item["call_id"] == "call_1"
    assert item["status"] == "completed" and item["id"].startswith("tsc_")
    assert sdk.output[0].type == "tool_search_call" and sdk.output[0].arguments == {
        "query": "calendar",
        "limit": 3,
    }


def test_mixed_calls_in_one_turn_with_text_and_reasoning() -> None:
    chunks = [
        chunk({"reasoning_content": "plan"}),
        chunk({"content": "Patching."}),
        *call_chunks("apply_patch", pieces(json.dumps({"input": PATCH}), 9), index=0, call_id="c0"),
        *call_chunks("multi_agent_v1__spawn", ["{}"], index=1, call_id="c1"),
        *call_chunks("tool_search", ['{"query": "x"}'], index=2, call_id="c2"),
        *call_chunks("exec_command", ['{"cmd": "ls"}'], index=3, call_id="c3"),
        chunk({}, "tool_calls"),
    ]
    response, sdk = final(run(chunks))
    assert [i["type"] for i in response["output"]] == [
        "reasoning",
        "message",
        "custom_tool_call",
        "function_call",
        "tool_search_call",
        "function_call",
    ]
    assert [getattr(i, "call_id", None) for i in sdk.output[2:]] == ["c0", "c1", "c2", "c3"]


def test_sse_wrapper_passes_the_tool_map() -> None:
    chunks = [*call_chunks("apply_patch", [json.dumps({"input": "x"})]), chunk({}, "tool_calls")]
    events = list(translate_chat_stream(chunks, tool_map=MAP, ids=SequentialIds(), clock=fixed_clock(1)))
    assert events[-1]["response"]["output"][0]["type"] == "custom_tool_call"


CODEX = CORPUS.parent / "codex" / "request_gpt-5.5.json"


@pytest.mark.skipif(not CODEX.is_file(), reason=f"Codex request not found at {CODEX}")
def test_the_tool_map_of_a_real_codex_request_turns_calls_back() -> None:
    from translator.convert.requests import convert_responses_request

    conversion = convert_responses_request(orjson.loads(Path(CODEX).read_bytes()))
    tool_map = {name: dict(entry) for name, entry in conversion.tool_map.items()}
    chat_names = {tool["function"]["name"] for tool in conversion.params["tools"]}
    patch_name = next(name for name, entry in tool_map.items() if entry["type"] == "custom")
    assert patch_name in chat_names
    chunks = [
        *call_chunks(patch_name, pieces(json.dumps({"input": PATCH}), 4)),
        chunk({}, "tool_calls"),
    ]
    response, _ = final(run(chunks, tool_map))
    assert response["output"][0]["type"] == "custom_tool_call"
    assert response["output"][0]["name"] == "apply_patch" and response["output"][0]["input"] == PATCH


def test_cli_translate_takes_a_tool_map(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    from translator.cli import main
    from translator.engine.sse import StreamDecoder

    stream = tmp_path / "s.sse"
    chunks = [*call_chunks("apply_patch", pieces(json.dumps({"input": PATCH}), 6)), chunk({}, "tool_calls")]
    stream.write_bytes(b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks) + b"data: [DONE]\n\n")
    tool_map = tmp_path / "map.json"
    tool_map.write_bytes(orjson.dumps(MAP))
    code = main(["translate", "--from", "chat", "--deterministic", "--tool-map", str(tool_map), str(stream)])
    decoder = StreamDecoder()
    events = decoder.feed(capsysbinary.readouterr().out) + decoder.close()
    response, _ = final(events)
    assert code == 0 and response["output"][0]["type"] == "custom_tool_call"
    assert response["output"][0]["input"] == PATCH
    tool_map.write_bytes(b'{"f": {"type": "hosted"}}')
    code = main(["translate", "--from", "chat", "--tool-map", str(tool_map), str(stream)])
    assert code == 3 and b"type must be" in capsysbinary.readouterr().err
