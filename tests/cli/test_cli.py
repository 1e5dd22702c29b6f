"""The ``translator`` command line: every subcommand through ``main([...])``, exit codes, one subprocess."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from support.chat_chunks import ChatChunks
from support.corpus import ROOT, corpus_params

from translator.cli import main
from translator.engine.sse import DONE, Done, StreamDecoder
from translator.ids import SequentialIds, fixed_clock
from translator.wire.chat_sse import responses_stream_to_chat_sse

EXAMPLE = ROOT / "examples" / "chat_text_and_tool_calls.sse"
EXAMPLE_REQUEST = ROOT / "examples" / "chat_text_and_tool_calls.request.json"
TERMINAL = ("response.completed", "response.incomplete", "response.failed")


def decode(data: bytes) -> list[Any]:
    decoder = StreamDecoder()
    return decoder.feed(data) + decoder.close()


def frames(data: bytes) -> list[bytes]:
    return [frame for frame in data.split(b"\n\n") if frame]


def run(capsysbinary: pytest.CaptureFixture[bytes], *argv: str) -> tuple[int, bytes, str]:
    code = main(list(argv))
    captured = capsysbinary.readouterr()
    return code, captured.out, captured.err.decode()


chat_chunk = ChatChunks(id="chatcmpl-1", created=1700000000, model="gpt-x")


def sse(*payloads: dict[str, Any], done: bool = True) -> bytes:
    body = b"".join(b"data: " + orjson.dumps(p) + b"\n\n" for p in payloads)
    return body + (b"data: [DONE]\n\n" if done else b"")


def chat_text(items: list[Any]) -> str:
    return "".join(
        choice["delta"].get("content") or ""
        for item in items
        if isinstance(item, dict)
        for choice in item.get("choices", [])
    )


def set_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


# -- usage -----------------------------------------------------------------------------------------


def test_help_exits_0(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    code, out, _ = run(capsysbinary, "--help")
    assert code == 0
    assert b"translate" in out and b"convert-request" in out and b"exit codes" in out


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["translate"],  # --from is required
        ["translate", "--from", "xml"],
        ["validate", "--protocol", "soap", "-"],
        ["translate", "--from", "chat", "--to", "chat", "-"],
        ["translate", "--from", "responses", "--think-tags", "-"],
        ["translate", "--from", "chat", "--no-usage", "-"],
        ["convert-request", "--to", "chat", "--hoist-instructions", str(EXAMPLE_REQUEST)],
    ],
)
def test_usage_errors_exit_2(capsysbinary: pytest.CaptureFixture[bytes], argv: list[str]) -> None:
    code, out, err = run(capsysbinary, *argv)
    assert code == 2
    assert out == b""
    assert "error:" in err


# -- translate -------------------------------------------------------------------------------------


def test_translate_chat_to_responses(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    code, out, err = run(capsysbinary, "translate", "--from", "chat", "--to", "responses", str(EXAMPLE))
    assert (code, err) == (0, "")
    events = decode(out)
    # SSE frames: `event: <type>` then data
    for frame, event in zip(frames(out), events, strict=True):
        assert frame.startswith(b"event: " + event["type"].encode() + b"\ndata: ")
    assert events[0]["type"] == "response.created"
    assert events[-1]["type"] == "response.completed"
    calls = [item for item in events[-1]["response"]["output"] if item["type"] == "function_call"]
    assert [call["name"] for call in calls] == ["get_weather", "get_weather"]


def test_translate_deterministic_is_reproducible(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    argv = ("translate", "--from", "chat", "--deterministic", str(EXAMPLE))
    first = run(capsysbinary, *argv)
    second = run(capsysbinary, *argv)
    assert first == second
    assert decode(first[1])[0]["response"]["id"] == "resp_0001"


def test_translate_echoes_request(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    code, out, _ = run(
        capsysbinary, "translate", "--from", "chat", "--request", str(EXAMPLE_REQUEST), str(EXAMPLE)
    )
    assert code == 0
    request = orjson.loads(EXAMPLE_REQUEST.read_bytes())
    assert decode(out)[-1]["response"]["tools"] != [] or "tools" not in request


def test_translate_stdin_and_jsonl(
    capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    set_stdin(monkeypatch, EXAMPLE.read_bytes())
    code, out, _ = run(capsysbinary, "translate", "--from", "chat", "--format", "jsonl", "--deterministic")
    assert code == 0
    lines = out.splitlines()
    events = [orjson.loads(line) for line in lines]
    assert events[-1]["type"] == "response.completed"
    # JSONL input is sniffed too, and gives the same events
    set_stdin(monkeypatch, out)
    code, again, _ = run(capsysbinary, "translate", "--from", "responses", "--deterministic")
    assert code == 0
    assert again.endswith(b"data: [DONE]\n\n")


def test_translate_round_trip_keeps_text_and_calls(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    code, responses_sse, _ = run(capsysbinary, "translate", "--from", "chat", str(EXAMPLE))
    assert code == 0
    path = tmp_path / "responses.sse"
    path.write_bytes(responses_sse)
    code, chat_sse, _ = run(capsysbinary, "translate", "--from", "responses", "--to", "chat", str(path))
    assert code == 0
    original, back = decode(EXAMPLE.read_bytes()), decode(chat_sse)
    assert back[-1] is DONE
    assert chat_text(back) == chat_text(original)

    def arguments(items: list[Any]) -> dict[int, str]:
        out: dict[int, str] = {}
        for item in items:
            for choice in item.get("choices", []) if isinstance(item, dict) else []:
                for call in choice["delta"].get("tool_calls") or []:
                    out[call["index"]] = out.get(call["index"], "") + call["function"].get("arguments", "")
        return out

    assert sorted(arguments(back).values()) == sorted(arguments(original).values())


def test_translate_responses_error_ends_without_done(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    path = tmp_path / "cut.sse"
    path.write_bytes(
        b'event: error\ndata: {"type":"error","code":"server_error","message":"boom","param":null}\n\n'
    )
    code, out, _ = run(capsysbinary, "translate", "--from", "responses", str(path))
    assert code == 0  # the translation worked; the stream itself carries the failure
    assert out.startswith(b"event: error\ndata: ")
    assert b"[DONE]" not in out
    assert decode(out)[-1]["error"]["message"] == "boom"


@pytest.mark.parametrize("completed", [False, True])
def test_translate_responses_input_that_breaks_ends_without_done(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, completed: bool
) -> None:
    """A bad frame stops the run (exit 3): the output ends with what the translator holds, its error
    frame when the stream was not finished, and never ``[DONE]`` (the input did not end well)."""
    response = {"id": "resp_1", "object": "response", "created_at": 1, "model": "m", "output": []}
    events = [
        {"type": "response.created", "response": {**response, "status": "in_progress"}},
        {"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "hi"},
    ]
    if completed:
        events.append({"type": "response.completed", "response": {**response, "status": "completed"}})
    data = b"".join(b"event: %s\ndata: %s\n\n" % (e["type"].encode(), orjson.dumps(e)) for e in events)
    path = tmp_path / "broken.sse"
    path.write_bytes(data + b"data: {not json\n\n")
    code, out, err = run(capsysbinary, "translate", "--from", "responses", "--to", "chat", str(path))
    assert code == 3 and "invalid JSON" in err
    assert b"[DONE]" not in out
    items = decode(out)
    assert chat_text(items) == "hi"
    if completed:
        assert items[-1]["choices"][0]["finish_reason"] == "stop"
    else:
        assert frames(out)[-1].startswith(b"event: error\n")
        assert "invalid JSON" in items[-1]["error"]["message"]


def test_translate_bad_chunk_exits_3_naming_it(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    path = tmp_path / "bad.sse"
    bad = {**chat_chunk({}), "choices": 7}
    path.write_bytes(sse(chat_chunk({"role": "assistant", "content": "hi"}), bad))
    code, out, err = run(capsysbinary, "translate", "--from", "chat", str(path))
    assert code == 3
    assert err.startswith("translator: error: chunk 1, field 'choices'")
    # output went out as it was produced: the first chunk's events were written before the error
    assert [e["type"] for e in decode(out)][:2] == ["response.created", "response.in_progress"]


def test_translate_bad_json_exits_3_naming_the_chunk(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    path = tmp_path / "bad.sse"
    path.write_bytes(sse(chat_chunk({"content": "a"}), done=False) + b'data: {"choices": [\n\n')
    code, _, err = run(capsysbinary, "translate", "--from", "chat", str(path))
    assert code == 3
    assert err.startswith("translator: error: chunk 1: invalid JSON")


def test_translate_wrong_protocol_exits_3(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    code, _, err = run(capsysbinary, "translate", "--from", "responses", str(EXAMPLE))
    assert code == 3
    assert "use --from chat" in err


def test_missing_file_exits_4(capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path) -> None:
    missing = tmp_path / "nope.sse"
    for argv in (
        ["translate", "--from", "chat", str(missing)],
        ["validate", str(missing)],
        ["convert-request", "--to", "responses", str(missing)],
        ["migrate", "--direction", "chat-to-responses", str(missing), str(tmp_path / "out.jsonl")],
    ):
        code, out, err = run(capsysbinary, *argv)
        assert (code, out) == (4, b"")
        assert err == f"translator: error: {missing}: No such file or directory\n"


def test_directory_is_an_io_error(capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path) -> None:
    code, _, err = run(capsysbinary, "translate", "--from", "chat", str(tmp_path))
    assert code == 4
    assert err.startswith("translator: error: ")


# -- validate / normalize --------------------------------------------------------------------------


def test_validate_clean_streams(capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path) -> None:
    assert run(capsysbinary, "validate", str(EXAMPLE)) == (0, b"", "")
    _, out, _ = run(capsysbinary, "translate", "--from", "chat", str(EXAMPLE))
    path = tmp_path / "responses.sse"
    path.write_bytes(out)
    assert run(capsysbinary, "validate", str(path)) == (0, b"", "")  # detected as responses
    assert run(capsysbinary, "validate", "--protocol", "responses", str(path)) == (0, b"", "")


def test_validate_reports_violations(capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path) -> None:
    code, out, _ = run(capsysbinary, "translate", "--from", "chat", str(EXAMPLE))
    broken = b"\n\n".join(frames(out)[:-1]) + b"\n\n"  # drop response.completed
    path = tmp_path / "cut.sse"
    path.write_bytes(broken)
    code, report, err = run(capsysbinary, "validate", str(path))
    assert (code, err) == (1, "")
    rows = [line.split("\t") for line in report.decode().splitlines()]
    assert rows and all(len(row) == 3 for row in rows)
    chat = tmp_path / "no_done.sse"
    chat.write_bytes(sse(chat_chunk({"role": "assistant", "content": "x"}, "stop"), done=False))
    code, report, _ = run(capsysbinary, "validate", "--protocol", "chat", str(chat))
    assert code == 1
    assert report.startswith(b"end\t")
    assert run(capsysbinary, "validate", "--no-require-done", str(chat)) == (0, b"", "")


def test_normalize_keeps_the_format(capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path) -> None:
    code, out, _ = run(capsysbinary, "normalize", str(EXAMPLE))
    assert code == 0
    items = decode(out)
    assert items[-1] is DONE and out.endswith(b"data: [DONE]\n\n")
    assert not out.startswith(b"event:")
    assert {item["id"] for item in items if isinstance(item, dict)} == {"chatcmpl-1"}
    path = tmp_path / "normalized.sse"
    path.write_bytes(out)
    assert run(capsysbinary, "normalize", str(path))[1] == out  # idempotent

    code, responses, _ = run(capsysbinary, "translate", "--from", "chat", "--format", "jsonl", str(EXAMPLE))
    path = tmp_path / "responses.jsonl"
    path.write_bytes(responses)
    code, out, _ = run(capsysbinary, "normalize", str(path))
    assert code == 0
    events = [orjson.loads(line) for line in out.splitlines()]
    assert events[0]["response"]["id"] == "resp_1"


# -- objects and requests --------------------------------------------------------------------------


def test_convert_request_both_ways(capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path) -> None:
    code, out, err = run(
        capsysbinary, "convert-request", "--to", "responses", "--hoist-instructions", str(EXAMPLE_REQUEST)
    )
    assert (code, err) == (0, "")
    params = orjson.loads(out)
    assert params["model"] == orjson.loads(EXAMPLE_REQUEST.read_bytes())["model"]
    assert "input" in params and "messages" not in params
    path = tmp_path / "responses_request.json"
    path.write_bytes(out)
    code, out, _ = run(capsysbinary, "convert-request", "--to", "chat", "--lenient", str(path))
    assert code == 0
    assert "messages" in orjson.loads(out)


def test_convert_request_unsupported_parameter(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    path = tmp_path / "request.json"
    path.write_bytes(orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], "n": 2}))
    code, out, err = run(capsysbinary, "convert-request", "--to", "responses", str(path))
    assert (code, out) == (3, b"")
    assert err.startswith("translator: error: ") and "n" in err
    code, out, err = run(capsysbinary, "convert-request", "--to", "responses", "--lenient", str(path))
    assert code == 0
    assert "translator: warning: " in err
    assert "n" not in orjson.loads(out)


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]"])
def test_convert_request_bad_json_exits_3(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "request.json"
    path.write_bytes(content)
    code, _, err = run(capsysbinary, "convert-request", "--to", "chat", str(path))
    assert code == 3
    assert err.startswith(f"translator: error: {path}: ")


def test_accumulate(capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path) -> None:
    pytest.importorskip("translator.streams.accumulate")
    code, out, _ = run(capsysbinary, "accumulate", str(EXAMPLE))
    assert code == 0
    completion = orjson.loads(out)
    assert completion["object"] == "chat.completion"
    assert completion["choices"][0]["message"]["content"] == chat_text(decode(EXAMPLE.read_bytes()))
    code, events, _ = run(capsysbinary, "translate", "--from", "chat", str(EXAMPLE))
    path = tmp_path / "responses.sse"
    path.write_bytes(events)
    code, out, _ = run(capsysbinary, "accumulate", "--protocol", "responses", str(path))
    assert code == 0
    assert orjson.loads(out)["output"] == decode(events)[-1]["response"]["output"]


def test_convert_objects(capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path) -> None:
    pytest.importorskip("translator.convert.objects")
    completion = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-x",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "hello"}, "finish_reason": "stop"}
        ],
    }
    path = tmp_path / "completion.json"
    path.write_bytes(orjson.dumps(completion))
    code, out, _ = run(capsysbinary, "convert", "--to", "responses", "--deterministic", str(path))
    assert code == 0
    response = orjson.loads(out)
    assert response["object"] == "response"
    back_path = tmp_path / "response.json"
    back_path.write_bytes(out)
    code, out, _ = run(capsysbinary, "convert", "--to", "chat", str(back_path))
    assert code == 0
    assert orjson.loads(out)["choices"][0]["message"]["content"] == "hello"


def test_migrate(capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path) -> None:
    pytest.importorskip("translator.migrate.batch")
    src = tmp_path / "chats.jsonl"
    src.write_bytes(orjson.dumps({"messages": [{"role": "user", "content": "hi"}]}) + b"\n" + b"{broken\n")
    dst, rejects = tmp_path / "out.jsonl", tmp_path / "rejects.jsonl"
    code, out, _ = run(
        capsysbinary,
        "migrate",
        "--direction",
        "chat-to-responses",
        str(src),
        str(dst),
        "--rejects",
        str(rejects),
    )
    assert code == 0
    report = dict(line.split("\t") for line in out.decode().splitlines())
    assert report == {"read": "2", "written": "1", "rejected": "1"}
    assert dst.exists() and rejects.exists()


# -- processes -------------------------------------------------------------------------------------


def test_python_dash_m(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "translator", "translate", "--from", "chat", "--to", "responses", EXAMPLE],
        capture_output=True,
        check=False,
        cwd=tmp_path,
    )
    assert (result.returncode, result.stderr) == (0, b"")
    assert decode(result.stdout)[-1]["type"] == "response.completed"


def test_closed_stdout_is_quiet(tmp_path: Path) -> None:
    """``translator translate big.sse | head -c 10``: no traceback, status 0."""
    big = tmp_path / "big.sse"
    big.write_bytes(sse(*(chat_chunk({"content": f"word{i} "}) for i in range(3000))))
    process = subprocess.Popen(
        [sys.executable, "-m", "translator", "translate", "--from", "chat", str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.read(10) == b"event: res"
    process.stdout.close()
    err = process.stderr.read()
    process.stderr.close()
    assert process.wait(timeout=60) == 0
    assert err == b""


# -- corpus ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", corpus_params("chat", "*.sse"))
def test_corpus_chat_to_responses(capsysbinary: pytest.CaptureFixture[bytes], path: Path) -> None:
    code, out, err = run(capsysbinary, "translate", "--from", "chat", "--to", "responses", str(path))
    if code == 3 and "choice" in err:  # n>1 streams need --choice
        code, out, err = run(capsysbinary, "translate", "--from", "chat", "--choice", "0", str(path))
    assert (code, err) == (0, "")
    events = decode(out)
    assert all(isinstance(event, dict) for event in events)
    assert events[-1]["type"] in TERMINAL
    assert [e["type"] for e in events].count(events[-1]["type"]) == 1


@pytest.mark.parametrize("path", corpus_params("responses", "*.sse"))
def test_corpus_responses_to_chat(capsysbinary: pytest.CaptureFixture[bytes], path: Path) -> None:
    code, out, err = run(capsysbinary, "translate", "--from", "responses", "--to", "chat", str(path))
    assert (code, err) == (0, "")
    items = decode(out)
    last = items[-1]
    if isinstance(last, Done):
        assert out.endswith(b"data: [DONE]\n\n")
        assert all(isinstance(item, dict) and "choices" in item for item in items[:-1])
    else:  # a failed or cut stream ends in one error chunk, written as `event: error`, and no [DONE]
        assert set(last) == {"error"}
        assert frames(out)[-1].startswith(b"event: error\n")


@pytest.mark.parametrize("path", corpus_params("responses", "*.sse"))
def test_corpus_responses_to_chat_sse_is_the_libraries_bytes(
    capsysbinary: pytest.CaptureFixture[bytes], path: Path
) -> None:
    args = ("translate", "--from", "responses", "--to", "chat", "--deterministic", str(path))
    code, out, err = run(capsysbinary, *args)
    assert (code, err) == (0, "")
    expected = responses_stream_to_chat_sse([path.read_bytes()], ids=SequentialIds(), clock=fixed_clock(0))
    assert out == b"".join(expected)


def test_migrate_lenient_counts_drops_by_reason_and_lists_them_per_line_with_verbose(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    src = tmp_path / "in.jsonl"
    record = {"messages": [{"role": "user", "content": "hi"}], "model": "m", "seed": 1}
    src.write_bytes(orjson.dumps(record) + b"\n" + orjson.dumps(record) + b"\n")
    argv = ["migrate", "--direction", "chat-to-responses", "--lenient", str(src), str(tmp_path / "o")]
    code, out, err = run(capsysbinary, *argv)
    assert code == 0 and b"written\t2" in out
    assert err.splitlines() == [
        "translator migrate: read 2, written 2, rejected 0",
        "  dropped values (--lenient), by reason:",
        "          2  request.seed: 'seed' has no equivalent in the target API",
        "  (--verbose: one line per record)",
    ]
    code, out, err = run(capsysbinary, *argv, "--verbose")
    assert err.splitlines()[:2] == [
        "translator: line 1: request.seed: 'seed' has no equivalent in the target API (dropped)",
        "translator: line 2: request.seed: 'seed' has no equivalent in the target API (dropped)",
    ]


def custom_call_stream() -> bytes:
    """A Responses stream whose answer is one custom (freeform) tool call."""
    item = {
        "id": "ctc_1",
        "type": "custom_tool_call",
        "call_id": "call_p",
        "name": "apply_patch",
        "input": "",
    }
    done = {**item, "input": "*** Begin Patch"}
    response = {"id": "r", "object": "response", "created_at": 1, "model": "m", "status": "completed"}
    events = [
        {"type": "response.created", "response": {**response, "status": "in_progress", "output": []}},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.custom_tool_call_input.delta", "output_index": 0, "delta": "*** Begin Patch"},
        {"type": "response.output_item.done", "output_index": 0, "item": done},
        {"type": "response.completed", "response": {**response, "output": [done]}},
    ]
    return b"".join(b"event: " + e["type"].encode() + b"\ndata: " + orjson.dumps(e) + b"\n\n" for e in events)


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ([], {"type": "function", "function": {"name": "apply_patch", "arguments": "*** Begin Patch"}}),
        (
            ["--custom-tool-calls", "custom"],
            {"type": "custom", "custom": {"name": "apply_patch", "input": "*** Begin Patch"}},
        ),
    ],
)
def test_custom_tool_calls_option(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, option: list[str], expected: dict[str, Any]
) -> None:
    stream = tmp_path / "custom.sse"
    stream.write_bytes(custom_call_stream())
    code, out, _ = run(capsysbinary, "translate", "--from", "responses", *option, str(stream))
    assert code == 0
    chunks = [c for c in decode(out) if isinstance(c, dict) and c["choices"]]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    tool_calls = [tc for c in chunks for tc in c["choices"][0]["delta"].get("tool_calls", [])]
    kind = expected["type"]
    assert tool_calls[0]["type"] == kind and tool_calls[0]["id"] == "call_p"
    text_key = "arguments" if kind == "function" else "input"
    assert "".join(tc[kind][text_key] for tc in tool_calls) == expected[kind][text_key]
    response = tmp_path / "response.json"
    response.write_bytes(orjson.dumps(orjson.loads(custom_call_stream().split(b"data: ")[-1])["response"]))
    code, out, _ = run(capsysbinary, "convert", "--to", "chat", *option, str(response))
    assert code == 0
    assert orjson.loads(out)["choices"][0]["message"]["tool_calls"] == [{"id": "call_p", **expected}]


def test_custom_tool_calls_option_applies_to_chat_output_only(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    code, _, err = run(
        capsysbinary, "translate", "--from", "chat", "--custom-tool-calls", "custom", str(EXAMPLE)
    )
    assert code == 2 and "--custom-tool-calls" in err
    code, _, err = run(
        capsysbinary, "convert", "--to", "responses", "--custom-tool-calls", "custom", str(EXAMPLE_REQUEST)
    )
    assert code == 2 and "--custom-tool-calls" in err
