"""Batch migration: formats, rejects with line numbers, reconciling counts, atomic output, progress."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import orjson
import pytest
from corpus import SKIP_REASON, corpus_files, read_json
from openai.types.chat import ChatCompletionMessageParam, CompletionCreateParams
from openai.types.responses import ResponseCreateParams, ResponseInputParam
from pydantic import TypeAdapter

import translator.migrate as migrate_module
from translator.errors import ConversionError
from translator.ids import SequentialIds
from translator.migrate import MigrationReport, Progress, convert_record, migrate_file, migrate_lines
from translator.transcripts import DroppedParameterWarning

INPUT_ITEMS: TypeAdapter[Any] = TypeAdapter(ResponseInputParam)
CHAT_MESSAGES: TypeAdapter[Any] = TypeAdapter(list[ChatCompletionMessageParam])

CHAT_LINES = [
    [{"role": "user", "content": "hi"}],
    {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]},
    {"model": "gpt-4o", "messages": [{"role": "user", "content": "q"}], "temperature": 0.1},
]


def write_jsonl(path: Path, records: list[Any], extra: list[bytes] = ()) -> Path:  # type: ignore[assignment]
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records) + b"".join(extra))
    return path


def read_jsonl(path: Path) -> list[Any]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


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


def test_migrate_lines_rejects_with_line_numbers_and_skips_blank_lines() -> None:
    lines = [
        orjson.dumps(CHAT_LINES[0]) + b"\n",
        b"\n",
        b"{not json\n",
        orjson.dumps([{"role": "robot", "content": "x"}]) + b"\n",
        b"\xff\xfe\n",
        orjson.dumps({"messages": [], "seed": 3}) + b"\n",
    ]
    results = list(migrate_lines(lines, "chat-to-responses"))
    assert [r.line for r in results] == [1, 3, 4, 5, 6]
    assert results[0].output is not None and results[0].reason is None
    assert results[1].reason is not None and results[1].reason.startswith("invalid JSON")
    assert results[2].reason == "messages[0].role: unknown message role 'robot'"
    assert results[3].reason is not None and "invalid JSON" in results[3].reason
    assert results[4].reason == "request.seed: 'seed' has no equivalent in the target API"
    assert results[4].record == lines[5]


def test_migrate_file_writes_output_and_rejects_and_reconciles(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", CHAT_LINES, [b"oops\n", b"[]\n"])
    destination = tmp_path / "out.jsonl"
    report = migrate_file(source, destination, direction="chat-to-responses", progress=False)
    assert report == MigrationReport(read=5, written=4, rejected=1)
    assert report.reconciles
    out = read_jsonl(destination)
    assert len(out) == 4 and out[3] == []
    rejects = read_jsonl(tmp_path / "out.jsonl.rejects.jsonl")
    assert rejects == [{"line": 4, "reason": rejects[0]["reason"], "record": "oops"}]
    assert rejects[0]["reason"].startswith("invalid JSON")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl", "out.jsonl.rejects.jsonl"]


def test_lenient_mode_converts_what_strict_mode_rejects(tmp_path: Path) -> None:
    source = write_jsonl(
        tmp_path / "in.jsonl", [{"messages": [{"role": "user", "content": "x", "name": "bob"}]}]
    )
    strict = migrate_file(source, tmp_path / "strict.jsonl", direction="chat-to-responses", progress=False)
    assert strict == MigrationReport(read=1, written=0, rejected=1)
    with pytest.warns(DroppedParameterWarning, match="name"):
        lenient = migrate_file(
            source, tmp_path / "lenient.jsonl", direction="chat-to-responses", lenient=True, progress=False
        )
    assert lenient == MigrationReport(read=1, written=1, rejected=0)


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
        migrate_file(source, destination, direction="chat-to-responses", progress=False)
    assert destination.read_bytes() == b"previous run\n"  # untouched: the new output never replaced it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]  # no temp files left


def test_progress_bar_is_throttled_and_forced_at_the_end(tmp_path: Path) -> None:
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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedParameterWarning)
        report = migrate_file(
            chat_source,
            tmp_path / "responses.jsonl",
            direction="chat-to-responses",
            lenient=True,
            progress=False,
        )
        assert report == MigrationReport(read=len(chats), written=len(chats), rejected=0)
        for record in read_jsonl(tmp_path / "responses.jsonl"):
            INPUT_ITEMS.validate_python(record["input"])
        items_source = write_jsonl(tmp_path / "items.jsonl", items)
        report = migrate_file(
            items_source,
            tmp_path / "chat_out.jsonl",
            direction="responses-to-chat",
            lenient=True,
            progress=False,
        )
    assert report.reconciles and report.written == len(items)
    for record in read_jsonl(tmp_path / "chat_out.jsonl"):
        CHAT_MESSAGES.validate_python(record)


def test_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    """Streaming: migrating 4x more records must not take (anywhere near) 4x the peak memory."""
    import tracemalloc

    record = orjson.dumps(
        {"messages": [{"role": "user", "content": "hi " * 20}, {"role": "assistant", "content": "ok " * 20}]}
    )

    def peak(records: int) -> int:
        src = tmp_path / f"in_{records}.jsonl"
        src.write_bytes((record + b"\n") * records)
        tracemalloc.start()
        try:
            report = migrate_file(
                src, tmp_path / f"out_{records}.jsonl", direction="chat-to-responses", progress=False
            )
            used = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert report.read == report.written == records
        return used

    small, large = peak(1_000), peak(4_000)
    assert large < 1.5 * small, (small, large)
