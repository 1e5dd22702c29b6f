"""Batch migration: record shapes, rejects, counts by reason, failures, files, jobs, memory, progress."""

from __future__ import annotations

import base64
import gzip
import io
import warnings
from pathlib import Path
from typing import Any

import orjson
import pytest
from openai.types.chat import ChatCompletionMessage, ChatCompletionMessageParam, CompletionCreateParams
from openai.types.responses import ResponseCreateParams, ResponseInputParam
from pydantic import TypeAdapter
from support.corpus import SKIP_REASON, corpus_files, read_json

import translator.migrate.batch as migrate_module
from translator.errors import ConversionError, WrongProtocolError
from translator.ids import SequentialIds
from translator.migrate.batch import (
    MigrationFailed,
    MigrationReport,
    Progress,
    RejectLimit,
    convert_record,
    format_summary,
    migrate_file,
    migrate_lines,
)

INPUT_ITEMS: TypeAdapter[Any] = TypeAdapter(ResponseInputParam)
CHAT_MESSAGES: TypeAdapter[Any] = TypeAdapter(list[ChatCompletionMessageParam])

CHAT_LINES = [
    [{"role": "user", "content": "hi"}],
    {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]},
    {"model": "gpt-4o", "messages": [{"role": "user", "content": "q"}], "temperature": 0.1},
]
ENVELOPE = {
    "id": "conv_1",
    "user_id": "u_42",
    "created_at": 1700000000,
    "metadata": {"source": "support", "tags": ["a"]},
    "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
}


def write_jsonl(path: Path, records: list[Any], extra: list[bytes] = ()) -> Path:  # type: ignore[assignment]
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records) + b"".join(extra))
    return path


def read_jsonl(path: Path) -> list[Any]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def migrate(source: Path, destination: Path, **options: Any) -> MigrationReport:
    options.setdefault("direction", "chat-to-responses")
    return migrate_file(source, destination, progress=False, **options)


# -- record shapes ------------------------------------------------------------------------------------


def test_record_formats_chat_to_responses() -> None:
    bare, transcript, request = (
        convert_record(r, "chat-to-responses", ids=SequentialIds()) for r in CHAT_LINES
    )
    assert bare == [{"type": "message", "role": "user", "content": "hi"}]
    INPUT_ITEMS.validate_python(bare)
    assert transcript == {"input": [{"type": "message", "role": "system", "content": "s"},
                                    {"type": "message", "role": "user", "content": "q"}]}  # fmt: skip
    TypeAdapter(ResponseCreateParams).validate_python(request)
    assert request["temperature"] == 0.1 and request["store"] is False


def test_record_formats_responses_to_chat() -> None:
    assert convert_record([{"role": "user", "content": "hi"}], "responses-to-chat") == [
        {"role": "user", "content": "hi"}
    ]
    assert convert_record({"input": "q", "instructions": "s"}, "responses-to-chat") == {
        "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]
    }
    request = convert_record({"model": "m", "input": "q", "max_output_tokens": 5}, "responses-to-chat")
    TypeAdapter(CompletionCreateParams).validate_python(request)
    assert request["max_completion_tokens"] == 5
    with pytest.raises(ConversionError, match="expected"):
        convert_record({"foo": 1}, "responses-to-chat")
    with pytest.raises(ConversionError, match="expected"):
        convert_record("text", "chat-to-responses")


def test_an_envelope_keeps_every_other_field_in_both_directions() -> None:
    converted = convert_record(ENVELOPE, "chat-to-responses")
    assert list(converted) == ["id", "user_id", "created_at", "metadata", "input"]
    assert {k: converted[k] for k in ("id", "user_id", "created_at", "metadata")} == {
        k: ENVELOPE[k] for k in ("id", "user_id", "created_at", "metadata")
    }
    INPUT_ITEMS.validate_python(converted["input"])
    back = convert_record(converted, "responses-to-chat")
    assert back == ENVELOPE  # the conversation round-trips, the envelope is untouched
    with_instructions = convert_record(
        {"id": "x", "instructions": "be brief", "input": "q"}, "responses-to-chat"
    )
    assert with_instructions == {
        "id": "x",
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "q"}],
    }


def test_the_conversation_key_names_where_the_conversation_is() -> None:
    record = {"id": "c", "model": "gpt-4o", "transcript": ENVELOPE["messages"]}
    converted = convert_record(record, "chat-to-responses", conversation_key="transcript")
    assert converted == {
        "id": "c",
        "model": "gpt-4o",
        "transcript": [
            {"type": "message", "role": "user", "content": "hi"},
            {"type": "message", "role": "assistant", "content": "hello"},
        ],
    }
    # an envelope that stores a model: without the option it is a request, whose 'id' is a problem
    stored = {"id": "c", "model": "gpt-4o", "messages": ENVELOPE["messages"]}
    with pytest.raises(ConversionError, match=r"request\.id"):
        convert_record(stored, "chat-to-responses")
    assert list(convert_record(stored, "chat-to-responses", conversation_key="messages")) == [
        "id",
        "model",
        "input",
    ]
    with pytest.raises(ConversionError, match="has no 'transcript'"):
        convert_record(ENVELOPE, "chat-to-responses", conversation_key="transcript")
    with pytest.raises(ConversionError, match="both 'messages' and 'input'"):
        convert_record({**ENVELOPE, "input": 1}, "chat-to-responses")


def test_records_of_the_other_protocol_are_named() -> None:
    cases = [
        ([{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}], "chat-to-responses"),
        ({"id": "x", "input": [{"role": "user", "content": "q"}]}, "chat-to-responses"),
        (
            {"model": "m", "messages": [{"type": "message", "role": "user", "content": "q"}]},
            "chat-to-responses",
        ),
        ([{"role": "tool", "tool_call_id": "c", "content": "1"}], "responses-to-chat"),
        ({"messages": [{"role": "user", "content": "q"}]}, "responses-to-chat"),
    ]
    for record, direction in cases:
        with pytest.raises(WrongProtocolError, match=f"but the direction is {direction}"):
            convert_record(record, direction)  # type: ignore[arg-type]
    # valid in both: not a wrong direction
    assert convert_record([{"role": "user", "content": "q"}], "responses-to-chat") == [
        {"role": "user", "content": "q"}
    ]


def test_sdk_dumped_records_convert_in_strict_mode(tmp_path: Path) -> None:
    message = ChatCompletionMessage.model_validate({"role": "assistant", "content": "ok", "annotations": []})
    records = [
        {**ENVELOPE, "messages": [{"role": "user", "content": "q"}, dump]}
        for dump in (message.model_dump(), message.model_dump(exclude_none=True), message.to_dict())
    ]
    report = migrate(write_jsonl(tmp_path / "in.jsonl", records), tmp_path / "out.jsonl")
    assert (report.read, report.written, report.rejected) == (3, 3, 0)
    for record in read_jsonl(tmp_path / "out.jsonl"):
        assert record["input"][-1] == {"type": "message", "role": "assistant", "content": "ok"}


def test_reasoning_field_names_where_reasoning_goes(tmp_path: Path) -> None:
    items = [
        {"role": "user", "content": "q"},
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "think"}]},
        {"role": "assistant", "content": "a"},
    ]
    source = write_jsonl(tmp_path / "in.jsonl", [items])
    outputs = {}
    for field in ("reasoning_content", "reasoning", None):
        migrate(source, tmp_path / "out.jsonl", direction="responses-to-chat", reasoning_field=field)
        outputs[field] = read_jsonl(tmp_path / "out.jsonl")[0][1]
    assert outputs == {
        "reasoning_content": {"role": "assistant", "content": "a", "reasoning_content": "think"},
        "reasoning": {"role": "assistant", "content": "a", "reasoning": "think"},
        None: {"role": "assistant", "content": "a"},
    }


# -- lines, rejects, counts ---------------------------------------------------------------------------


def test_migrate_lines_rejects_with_line_numbers_and_skips_blank_lines() -> None:
    lines = [
        orjson.dumps(CHAT_LINES[0]) + b"\n",
        b"\n",
        b"{not json\n",
        orjson.dumps([{"role": "robot", "content": "x"}]) + b"\n",
        b"\xff\xfe\n",
        orjson.dumps({"model": "m", "messages": [], "seed": 3}) + b"\n",
    ]
    results = list(migrate_lines(lines, "chat-to-responses"))
    assert [r.line for r in results] == [1, 3, 4, 5, 6]
    assert results[0].output is not None and results[0].reason is None
    assert results[1].reason == "invalid JSON at column 2: unexpected character, expected a string key"
    assert results[2].reason == "messages[0].role: unknown message role 'robot'"
    assert results[3].reason == "invalid UTF-8 at byte 1 (column 1): invalid start byte"
    assert results[4].reason == "request.seed: 'seed' has no equivalent in the target API"
    assert results[4].record == lines[5]


def test_columns_count_characters_and_name_the_first_bad_byte() -> None:
    bad_json = '{"text": "éé", oops}\n'.encode()
    bad_utf8 = b'{"text": "\xc3\xa9\xc3\xa9\xff"}\n'
    json_error, utf8_error = migrate_lines([bad_json, bad_utf8], "chat-to-responses")
    assert json_error.reason is not None and json_error.reason.startswith("invalid JSON at column 16:")
    assert bad_json.decode()[15] == "o"  # column 16 is the 16th character of the line
    assert utf8_error.reason == "invalid UTF-8 at byte 15 (column 13): invalid start byte"
    assert bad_utf8[14:15] == b"\xff" and len(bad_utf8[:14].decode()) == 12


def test_every_problem_of_a_record_is_rejected_and_counted(tmp_path: Path) -> None:
    record = {
        "messages": [
            {"role": "user", "content": "x", "name": "a"},
            {"role": "user", "content": "y", "name": "b"},
        ]
    }
    source = write_jsonl(tmp_path / "in.jsonl", [record, record, CHAT_LINES[0]], [b"oops\n"])
    report = migrate(source, tmp_path / "out.jsonl")
    assert report == MigrationReport(
        read=4,
        written=1,
        rejected=3,
        rejected_by_reason={
            "messages[*].name: 'name' has no equivalent in the target API": 4,
            "invalid JSON": 1,
        },
    )
    first = read_jsonl(tmp_path / "out.jsonl.rejects.jsonl")[0]
    assert first["problems"] == [
        "messages[0].name: 'name' has no equivalent in the target API",
        "messages[1].name: 'name' has no equivalent in the target API",
    ]
    assert first["reason"] == "; ".join(first["problems"])


def test_rejects_keep_the_original_bytes(tmp_path: Path) -> None:
    lines = [b'{"messages": [{"role": "robot"}]}\r\n', b"\xff\xfe not utf-8 \xc3\n", b'["caf\xc3\xa9" oops]']
    source = tmp_path / "in.jsonl"
    source.write_bytes(orjson.dumps(CHAT_LINES[0]) + b"\n" + b"".join(lines))
    migrate(source, tmp_path / "out.jsonl")
    rejects = read_jsonl(tmp_path / "out.jsonl.rejects.jsonl")
    assert [r["line"] for r in rejects] == [2, 3, 4]
    recovered = [
        base64.b64decode(r["record_base64"]) if "record_base64" in r else r["record"].encode()
        for r in rejects
    ]
    assert [raw + b"\n" for raw in recovered] == [lines[0], lines[1], lines[2] + b"\n"]
    assert "record" not in rejects[1] and rejects[1]["reason"].startswith("invalid UTF-8 at byte 1")


def test_migrate_file_writes_output_and_rejects_and_reconciles(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", CHAT_LINES, [b"oops\n", b"[]\n"])
    destination = tmp_path / "out.jsonl"
    report = migrate(source, destination)
    assert (report.read, report.written, report.rejected) == (5, 4, 1) and report.reconciles
    out = read_jsonl(destination)
    assert len(out) == 4 and out[3] == []
    rejects = read_jsonl(tmp_path / "out.jsonl.rejects.jsonl")
    assert rejects == [
        {"line": 4, "reason": rejects[0]["reason"], "problems": [rejects[0]["reason"]], "record": "oops"}
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl", "out.jsonl.rejects.jsonl"]


def test_lenient_mode_converts_what_strict_mode_rejects_and_counts_drops(tmp_path: Path) -> None:
    named = {"messages": [{"role": "user", "content": "x", "name": "bob"}]}
    source = write_jsonl(tmp_path / "in.jsonl", [named, CHAT_LINES[0]])
    strict = migrate(source, tmp_path / "strict.jsonl")
    assert (strict.written, strict.rejected) == (1, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a run reports drops in its counts, not as warnings
        lenient = migrate(source, tmp_path / "lenient.jsonl", lenient=True)
    assert (lenient.written, lenient.rejected) == (2, 0)
    assert lenient.dropped_by_reason == {"messages[*].name: 'name' has no equivalent in the target API": 1}


def test_tool_pairing_rejects_in_strict_mode_and_counts_warnings_in_lenient_mode(tmp_path: Path) -> None:
    orphan = [{"role": "user", "content": "q"}, {"role": "tool", "tool_call_id": "call_x", "content": "1"}]
    source = write_jsonl(tmp_path / "in.jsonl", [orphan, CHAT_LINES[0]])
    strict = migrate(source, tmp_path / "out.jsonl")
    assert strict.rejected_by_reason == {
        "messages[*].tool_call_id: answers no earlier tool call (no call has this id)": 1
    }
    lines: list[str] = []
    lenient = migrate(source, tmp_path / "out.jsonl", lenient=True, log=lines.append)
    assert lenient.written == 2
    assert lenient.warned_by_reason == {
        "messages[*].tool_call_id: answers no earlier tool call (no call has this id)": 1
    }
    assert lines == ["line 1: messages[1].tool_call_id: answers no earlier tool call (no call has this id)"]


def test_summary_counts_by_reason() -> None:
    report = MigrationReport(
        read=10,
        written=7,
        rejected=3,
        rejected_by_reason={"invalid JSON": 2, "b": 1},
        dropped_by_reason={"x": 4},
    )
    assert format_summary(report, prog="m", rejects="r.jsonl").splitlines() == [
        "m: read 10, written 7, rejected 3 (rejects in r.jsonl)",
        "  rejected records, by reason:",
        "          2  invalid JSON",
        "          1  b",
        "  dropped values (--lenient), by reason:",
        "          4  x",
        "  (--verbose: one line per record)",
    ]


# -- failures -------------------------------------------------------------------------------------------


def test_nothing_converted_fails_and_leaves_the_previous_output(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [], [b"oops\n", b"[1]\n"])
    destination = tmp_path / "out.jsonl"
    destination.write_bytes(b"previous run\n")
    with pytest.raises(MigrationFailed, match="none of the 2 records could be converted") as info:
        migrate(source, destination)
    assert info.value.report.rejected == 2
    assert destination.read_bytes() == b"previous run\n"
    assert len(read_jsonl(tmp_path / "out.jsonl.rejects.jsonl")) == 2


def test_an_empty_input_is_an_empty_output(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n\n")
    assert migrate(source, tmp_path / "out.jsonl") == MigrationReport(0, 0, 0)
    assert (tmp_path / "out.jsonl").read_bytes() == b""


def test_the_wrong_direction_fails_at_the_first_record(tmp_path: Path) -> None:
    items = [{"type": "message", "role": "user", "content": "q"}]
    source = write_jsonl(tmp_path / "in.jsonl", [items] * 5)
    with pytest.raises(MigrationFailed, match="but the direction is chat-to-responses") as info:
        migrate(source, tmp_path / "out.jsonl")
    assert (info.value.report.read, info.value.report.written) == (1, 0)  # it stopped at once
    assert not (tmp_path / "out.jsonl").exists()
    # a record of the other protocol later in the file is one reject among others
    source = write_jsonl(tmp_path / "in.jsonl", [CHAT_LINES[0], items, CHAT_LINES[0]])
    report = migrate(source, tmp_path / "out.jsonl")
    assert (report.written, report.rejected) == (2, 1)


@pytest.mark.parametrize(("limit", "fails"), [("1", False), ("0", True), ("25%", False), ("20%", True)])
def test_max_rejects(tmp_path: Path, limit: str, fails: bool) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", CHAT_LINES, [b"oops\n"])  # 1 of 4 rejected: 25%
    destination = tmp_path / "out.jsonl"
    if fails:
        with pytest.raises(MigrationFailed, match="rejected"):
            migrate(source, destination, max_rejects=RejectLimit.parse(limit))
        assert not destination.exists()
    else:
        assert migrate(source, destination, max_rejects=RejectLimit.parse(limit)).written == 3


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_reject_count_stops_the_run_early(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    monkeypatch.setattr(migrate_module, "BATCH_BYTES", 50)  # batches of 10 lines
    source = write_jsonl(tmp_path / "in.jsonl", [], [b"oops\n"] * 100)
    with pytest.raises(MigrationFailed, match=r"more than 5 records rejected \(stopped at line 10\)") as info:
        migrate(source, tmp_path / "out.jsonl", max_rejects=RejectLimit(count=5), jobs=jobs)
    assert info.value.report.read == 10  # the first batch: the other 90 lines were never counted


def test_reject_limits_parse() -> None:
    assert RejectLimit.parse("12") == RejectLimit(count=12)
    assert RejectLimit.parse("2.5%") == RejectLimit(percent=2.5)
    for bad in ("x", "-1", "101%", "5 %x"):
        with pytest.raises(ValueError, match="is not a count"):
            RejectLimit.parse(bad)


def test_a_crash_leaves_no_partial_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", CHAT_LINES * 3)
    destination = tmp_path / "out.jsonl"
    destination.write_bytes(b"previous run\n")
    calls = 0
    real = migrate_module.convert_record

    def crash_on_fifth(record: Any, direction: Any, **options: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 5:
            raise RuntimeError("disk on fire")
        return real(record, direction, **options)

    monkeypatch.setattr(migrate_module, "convert_record", crash_on_fifth)
    with pytest.raises(RuntimeError, match="disk on fire"):
        migrate(source, destination)
    assert destination.read_bytes() == b"previous run\n"  # untouched: the new output never replaced it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]  # no temp files left


# -- files ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_compressed_input_and_output_by_extension(tmp_path: Path, suffix: str) -> None:
    from translator.migrate.file_io import _zstd

    plain = b"".join(orjson.dumps(r) + b"\n" for r in CHAT_LINES[:2]) + b"oops\n"
    compress = gzip.compress if suffix == ".gz" else _zstd().compress
    decompress = gzip.decompress if suffix == ".gz" else _zstd().decompress
    source = tmp_path / f"in.jsonl{suffix}"
    source.write_bytes(compress(plain))
    destination = tmp_path / f"out.jsonl{suffix}"
    report = migrate(source, destination)
    assert (report.written, report.rejected) == (2, 1)
    out = decompress(destination.read_bytes()).splitlines()
    assert [orjson.loads(line) for line in out] == [
        convert_record(r, "chat-to-responses") for r in CHAT_LINES[:2]
    ]
    rejects = tmp_path / f"out.jsonl.rejects.jsonl{suffix}"  # compressed like the output
    assert orjson.loads(decompress(rejects.read_bytes()))["record"] == "oops"


def test_a_destination_that_cannot_be_written_fails_before_reading(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", CHAT_LINES)
    with pytest.raises(IsADirectoryError) as info:
        migrate(source, tmp_path)
    assert info.value.filename == str(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist") as missing:
        migrate(source, tmp_path / "nope" / "out.jsonl")
    assert missing.value.filename == str(tmp_path / "nope" / "out.jsonl")
    with pytest.raises(IsADirectoryError):
        migrate(source, tmp_path / "out.jsonl", rejects=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_output_files_honour_the_umask(tmp_path: Path) -> None:
    import os

    source = write_jsonl(tmp_path / "in.jsonl", CHAT_LINES)
    previous = os.umask(0o027)
    try:
        migrate(source, tmp_path / "out.jsonl")
    finally:
        os.umask(previous)
    assert (tmp_path / "out.jsonl").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "out.jsonl.rejects.jsonl").stat().st_mode & 0o777 == 0o640


# -- jobs, memory, progress ----------------------------------------------------------------------------------


def test_jobs_give_the_same_output_in_the_same_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(migrate_module, "BATCH_BYTES", 300)  # many batches, so that order matters
    records = [[{"role": "user", "content": f"question {n}"}] for n in range(100)]
    source = write_jsonl(tmp_path / "in.jsonl", records, [b"oops\n"] * 3)
    one = migrate(source, tmp_path / "one.jsonl")
    two = migrate(source, tmp_path / "two.jsonl", jobs=2)
    assert one == two
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    assert read_jsonl(tmp_path / "two.jsonl")[42] == [
        {"type": "message", "role": "user", "content": "question 42"}
    ]
    with pytest.raises(ValueError, match="random_id"):
        migrate(source, tmp_path / "x.jsonl", jobs=2, ids=SequentialIds())


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("jobs", [1, 2])
def test_batches_cut_anywhere_give_the_same_lines_and_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int, compressed: bool
) -> None:
    """Batches that end inside a line, lines longer than a batch, CRLF, a last line without its line
    end: every record is converted once, in order, and rejects name their own line.  With jobs and a
    plain file the workers read their own byte ranges; a compressed file is read by the main process."""
    lines = []
    for n in range(40):
        if n % 7 == 3:
            lines.append(b"oops " + b"x" * (n * 9) + b"\r\n")  # rejected; some longer than a batch
        elif n % 11 == 5:
            lines.append(b"\n")  # blank: skipped, still counted
        else:
            lines.append(orjson.dumps([{"role": "user", "content": f"q{n} " + "y" * n}]) + b"\n")
    lines[-1] = lines[-1].rstrip(b"\n")
    data = b"".join(lines)
    source = tmp_path / ("in.jsonl.gz" if compressed else "in.jsonl")
    source.write_bytes(gzip.compress(data) if compressed else data)
    expected_rejects = [n + 1 for n in range(40) if n % 7 == 3]
    outputs = set()
    for size in [1 << 20, 1, 2, 7, 50, 64, 333]:
        monkeypatch.setattr(migrate_module, "BATCH_BYTES", size)
        destination = tmp_path / f"out_{size}.jsonl"
        report = migrate(source, destination, jobs=jobs, log=(notes := []).append)
        assert (report.read, report.rejected) == (40 - 3, len(expected_rejects))
        rejects = read_jsonl(Path(f"{destination}.rejects.jsonl"))
        assert [entry["line"] for entry in rejects] == expected_rejects
        assert [note.split(":")[0] for note in notes] == [f"line {n}" for n in expected_rejects]
        assert all(entry["record"][:5] == "oops " and entry["record"][-1] == "\r" for entry in rejects)
        outputs.add(destination.read_bytes())
        assert [record[0]["content"].split()[0] for record in read_jsonl(destination)] == [
            f"q{n}" for n in range(40) if n % 7 != 3 and n % 11 != 5
        ]
    assert len(outputs) == 1


def test_a_named_pipe_is_read_by_the_main_process_with_jobs(tmp_path: Path) -> None:
    """A FIFO (``migrate <(zcat x.gz) ...``) has no size and no ranges: its lines are read here."""
    import os
    import threading

    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    data = b"".join(orjson.dumps(r) + b"\n" for r in CHAT_LINES * 30)
    writer = threading.Thread(target=fifo.write_bytes, args=(data,))
    writer.start()
    try:
        report = migrate(fifo, tmp_path / "out.jsonl", jobs=2)
    finally:
        writer.join(timeout=10)
    assert (report.read, report.written) == (90, 90)
    assert len(read_jsonl(tmp_path / "out.jsonl")) == 90


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_byte_order_mark_is_skipped_at_the_start_of_the_file_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    monkeypatch.setattr(migrate_module, "BATCH_BYTES", 16)  # each line starts a batch of its own
    line = orjson.dumps([{"role": "user", "content": "q"}]) + b"\n"
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\xef\xbb\xbf" + line + line + b"\xef\xbb\xbf" + line)
    report = migrate(source, tmp_path / "out.jsonl", jobs=jobs)
    assert (report.written, report.rejected) == (2, 1)
    assert [entry["line"] for entry in read_jsonl(tmp_path / "out.jsonl.rejects.jsonl")] == [3]


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_wrong_direction_stops_at_the_first_record_whatever_the_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    monkeypatch.setattr(migrate_module, "BATCH_BYTES", 100)
    items = [{"type": "message", "role": "user", "content": "q"}]
    source = write_jsonl(tmp_path / "in.jsonl", [items] * 50)
    with pytest.raises(MigrationFailed, match=r"line 1: .*but the direction is chat-to-responses") as info:
        migrate(source, tmp_path / "out.jsonl", jobs=jobs)
    assert (info.value.report.read, info.value.report.written) == (1, 0)


def test_memory_does_not_grow_with_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Streaming: migrating 4x more records (4x more batches) must not take 4x the peak memory."""
    import tracemalloc

    monkeypatch.setattr(migrate_module, "BATCH_BYTES", 8192)  # many batches in a small test file
    record = orjson.dumps(
        {"messages": [{"role": "user", "content": "hi " * 20}, {"role": "assistant", "content": "ok " * 20}]}
    )
    bad = b"oops\n"  # rejects too: the run keeps no record of them in memory

    def peak(records: int) -> int:
        src = tmp_path / f"in_{records}.jsonl"
        src.write_bytes((record + b"\n" + bad) * records)
        tracemalloc.start()
        try:
            report = migrate(src, tmp_path / f"out_{records}.jsonl")
            used = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert report.read == 2 * records and report.written == records
        return used

    small, large = peak(1_000), peak(4_000)
    assert large < 1.5 * small, (small, large)


def test_progress_bar_is_throttled_and_forced_at_the_end() -> None:
    ticks = iter([0.0, 0.05, 0.1, 0.3, 0.31, 10.0])
    stream = io.StringIO()
    bar = Progress(100, stream, interval=0.2, clock=lambda: next(ticks), width=10)
    for done in (10, 20, 30, 40, 50):
        bar.update(done, done // 10, 0)
    bar.finish(100, 10, 1)
    frames = stream.getvalue().split("\r")[1:]
    assert frames == [
        "[#.........]  10% 1 records, 0 rejected",
        "[####......]  40% 4 records, 0 rejected",
        "[##########] 100% 10 records, 1 rejected\n",
    ]
    unknown = io.StringIO()  # stdin: no size
    Progress(None, unknown).finish(0, 5, 1)
    assert unknown.getvalue() == "\r5 records, 1 rejected\n"


def test_progress_shows_only_on_a_terminal_unless_forced(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", CHAT_LINES)
    quiet = io.StringIO()  # not a TTY
    migrate_file(source, tmp_path / "a.jsonl", direction="chat-to-responses", progress_stream=quiet)
    assert quiet.getvalue() == ""
    forced = io.StringIO()
    migrate_file(
        source, tmp_path / "b.jsonl", direction="chat-to-responses", progress=True, progress_stream=forced
    )
    assert forced.getvalue().endswith("100% 3 records, 0 rejected\n")


def test_corpus_transcripts_migrate_both_ways(tmp_path: Path) -> None:
    requests = [read_json(p) for p in corpus_files("requests", "*.request.json")]
    if not requests:
        pytest.skip(SKIP_REASON)
    chats = [{"messages": r["messages"]} for r in requests if "messages" in r]
    items = [r["input"] for r in requests if isinstance(r.get("input"), list)]
    chat_source = write_jsonl(tmp_path / "chat.jsonl", chats)
    report = migrate(chat_source, tmp_path / "responses.jsonl", lenient=True)
    assert (report.read, report.written, report.rejected) == (len(chats), len(chats), 0)
    for record in read_jsonl(tmp_path / "responses.jsonl"):
        INPUT_ITEMS.validate_python(record["input"])
    items_source = write_jsonl(tmp_path / "items.jsonl", items)
    report = migrate(items_source, tmp_path / "chat_out.jsonl", direction="responses-to-chat", lenient=True)
    assert report.reconciles and report.written == len(items)
    for record in read_jsonl(tmp_path / "chat_out.jsonl"):
        CHAT_MESSAGES.validate_python(record)


def test_a_lone_surrogate_escape_is_converted_not_rejected(tmp_path: Path) -> None:
    """An emoji cut between two UTF-16 halves (``\\ud83d`` alone) is valid JSON: the record converts,
    and the output is valid UTF-8 with U+FFFD where the half was."""
    from translator.migrate.batch import migrate_file

    source = tmp_path / "in.jsonl"
    source.write_bytes(b'[{"role": "user", "content": "smile \\ud83d"}]\n')
    report = migrate_file(source, tmp_path / "out.jsonl", direction="chat-to-responses")
    assert (report.read, report.written, report.rejected) == (1, 1, 0)
    out = (tmp_path / "out.jsonl").read_bytes().decode("utf-8")
    assert "smile \ufffd" in out
