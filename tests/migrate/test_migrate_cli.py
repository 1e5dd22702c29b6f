"""``translator migrate`` as a process, and the wrong-direction checks of every verb.

The interruption tests send real signals to real ``python -m translator`` processes reading a pipe.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from translator.cli import main

CHAT = [{"role": "user", "content": "hi"}]
ITEMS = [{"type": "message", "role": "user", "content": "hi"}]


def run(capsysbinary: pytest.CaptureFixture[bytes], *argv: str) -> tuple[int, bytes, str]:
    code = main(list(argv))
    captured = capsysbinary.readouterr()
    return code, captured.out, captured.err.decode()


def jsonl(*records: Any) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def migrate_process(*argv: str, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "translator", "migrate", *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
    )


def temporaries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp"))


def wait_for_temporaries(folder: Path, count: int) -> list[Path]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = temporaries(folder)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no temporary files appeared in {folder}")


# -- interruption -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signum", "status", "message"),
    [
        (signal.SIGTERM, 143, b"translator: terminated\n"),
        (signal.SIGINT, 130, b"\ntranslator: interrupted\n"),
    ],
    ids=["SIGTERM", "SIGINT"],
)
def test_a_signal_removes_the_temporary_files_and_leaves_the_output(
    tmp_path: Path, signum: int, status: int, message: bytes
) -> None:
    (tmp_path / "out.jsonl").write_bytes(b"previous run\n")
    process = migrate_process(
        "--direction", "chat-to-responses", "-", "out.jsonl", "--rejects", "bad.jsonl", cwd=tmp_path
    )
    assert process.stdin is not None
    process.stdin.write(jsonl(CHAT) * 50)  # read and converted, then the process waits for more
    process.stdin.flush()
    wait_for_temporaries(tmp_path, 2)
    process.send_signal(signum)
    _, err = process.communicate(timeout=30)
    assert process.returncode == status
    assert err == message  # no traceback
    assert temporaries(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]
    assert (tmp_path / "out.jsonl").read_bytes() == b"previous run\n"


def test_files_left_by_a_killed_run_are_removed_by_the_next_one_but_a_live_runs_are_not(
    tmp_path: Path,
) -> None:
    killed = migrate_process("--direction", "chat-to-responses", "-", "out.jsonl", cwd=tmp_path)
    wait_for_temporaries(tmp_path, 2)
    killed.kill()  # SIGKILL: nothing can clean up
    killed.communicate(timeout=30)
    stale = temporaries(tmp_path)
    assert len(stale) == 2
    live = migrate_process("--direction", "chat-to-responses", "-", "out.jsonl", cwd=tmp_path)
    live_files = [p for p in wait_for_temporaries(tmp_path, 4) if p not in stale]
    for path in [*stale, *live_files]:  # old enough to be taken for stale: only the lock tells
        os.utime(path, (time.time() - 3600, time.time() - 3600))

    (tmp_path / "in.jsonl").write_bytes(jsonl(CHAT))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "translator",
            "migrate",
            "--direction",
            "chat-to-responses",
            "in.jsonl",
            "out.jsonl",
        ],
        capture_output=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    removed = [line for line in result.stderr.decode().splitlines() if "left by an interrupted run" in line]
    assert len(removed) == 2 and all(p.name in "\n".join(removed) for p in stale)
    assert temporaries(tmp_path) == live_files  # the live run's files are still there

    _, err = live.communicate(jsonl(CHAT), timeout=30)
    assert live.returncode == 0, err
    assert temporaries(tmp_path) == []


# -- stdin, stdout, files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_stdin_to_stdout(tmp_path: Path, jobs: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "translator", "migrate", "--direction", "chat-to-responses", "-", "-",
         "--rejects", "bad.jsonl", "--jobs", jobs],
        input=jsonl(CHAT, CHAT) + b"oops\n",
        capture_output=True,
        cwd=tmp_path,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0
    assert result.stdout == jsonl(ITEMS, ITEMS)  # only the records: the summary is on stderr
    assert result.stderr.decode().startswith("translator migrate: read 3, written 2, rejected 1")
    assert orjson.loads((tmp_path / "bad.jsonl").read_bytes())["record"] == "oops"


def test_dev_stdin_redirected_from_a_file_with_jobs(tmp_path: Path) -> None:
    """The workers read byte ranges of the file itself: ``/dev/stdin`` must not name their own stdin."""
    (tmp_path / "in.jsonl").write_bytes(jsonl(CHAT) * 40 + b"oops\n")
    with (tmp_path / "in.jsonl").open("rb") as stdin:
        result = subprocess.run(
            [sys.executable, "-m", "translator", "migrate", "--direction", "chat-to-responses", "/dev/stdin",
             "out.jsonl", "--jobs", "2"],
            stdin=stdin, capture_output=True, cwd=tmp_path, check=False,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.jsonl").read_bytes() == jsonl(ITEMS) * 40
    assert orjson.loads((tmp_path / "out.jsonl.rejects.jsonl").read_bytes())["line"] == 41


def test_stdout_needs_a_rejects_file(capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path) -> None:
    code, _, err = run(capsysbinary, "migrate", "--direction", "chat-to-responses", "-", "-")
    assert code == 2 and "name a --rejects FILE" in err


def test_destinations_are_checked_before_reading(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl(CHAT))
    argv = ["migrate", "--direction", "chat-to-responses", str(source)]
    code, _, err = run(capsysbinary, *argv, str(tmp_path))
    assert code == 4 and err == f"translator: error: {tmp_path}: Is a directory (give a file name)\n"
    missing = tmp_path / "no" / "out.jsonl"
    code, _, err = run(capsysbinary, *argv, str(missing))
    assert (
        code == 4 and err == f"translator: error: {missing}: the folder '{missing.parent}' does not exist\n"
    )


def test_zst_without_the_extra_names_it(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_bytes(jsonl(CHAT))
    code = (
        "import sys\n"
        "sys.modules['compression.zstd'] = None; sys.modules['backports.zstd'] = None\n"
        "from translator.cli import main\n"
        "sys.exit(main(['migrate', '--direction', 'chat-to-responses', 'in.jsonl', 'out.jsonl.zst']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert "pip install 'chat-responses-translator[zstd]'" in result.stderr.decode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


# -- exit status, options ---------------------------------------------------------------------------------


def test_nothing_converted_exits_3(capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"oops\n" * 3)
    code, out, err = run(
        capsysbinary, "migrate", "--direction", "chat-to-responses", str(source), str(tmp_path / "o")
    )
    assert code == 3 and out == b""
    assert "translator migrate: read 3, written 0, rejected 3" in err
    assert "          3  invalid JSON" in err
    assert err.endswith("error: none of the 3 records could be converted (the output was not written; "
                        f"rejects: {tmp_path / 'o'}.rejects.jsonl)\n")  # fmt: skip
    assert not (tmp_path / "o").exists()


def test_max_rejects_and_jobs_options(capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl(CHAT) * 9 + b"oops\n")
    argv = ["migrate", "--direction", "chat-to-responses", str(source), str(tmp_path / "o"), "--jobs", "2"]
    code, out, _ = run(capsysbinary, *argv, "--max-rejects", "10%")
    assert code == 0 and out == b"read\t10\nwritten\t9\nrejected\t1\n"
    code, _, err = run(capsysbinary, *argv, "--max-rejects", "5%")
    assert code == 3 and "1 of 10 records rejected (10.0%), more than 5%" in err
    code, _, err = run(capsysbinary, *argv, "--max-rejects", "lots")
    assert code == 2 and "--max-rejects: 'lots' is not a count" in err
    code, _, err = run(capsysbinary, *argv, "--jobs", "0")
    assert code == 2


def test_reasoning_field_is_for_responses_to_chat(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    reasoning = {"type": "reasoning", "id": "r", "summary": [{"type": "summary_text", "text": "t"}]}
    source.write_bytes(jsonl([reasoning, {"role": "assistant", "content": "a"}]))
    code, _, err = run(capsysbinary, "migrate", "--direction", "chat-to-responses", "--reasoning-field", "x",
                       str(source), str(tmp_path / "o"))  # fmt: skip
    assert code == 2 and "--reasoning-field applies to --direction responses-to-chat" in err
    for field, expected in (("thinking", {"thinking": "t"}), ("none", {})):
        dst = str(tmp_path / "o")
        argv = ["--direction", "responses-to-chat", "--reasoning-field", field, str(source), dst]
        code, _, _ = run(capsysbinary, "migrate", *argv)
        assert code == 0
        assert orjson.loads((tmp_path / "o").read_bytes()) == [
            {"role": "assistant", "content": "a", **expected}
        ]


def test_conversation_key_option(capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl({"id": 7, "model": "gpt-4o", "turns": CHAT}))
    argv = ["--direction", "chat-to-responses", "--conversation-key", "turns", str(source), f"{tmp_path}/o"]
    code, _, _ = run(capsysbinary, "migrate", *argv)
    assert code == 0
    assert orjson.loads((tmp_path / "o").read_bytes()) == {"id": 7, "model": "gpt-4o", "turns": ITEMS}


# -- the other protocol, every verb -----------------------------------------------------------------------


def test_migrate_the_wrong_way_says_which_direction(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl(ITEMS, ITEMS))
    code, _, err = run(
        capsysbinary, "migrate", "--direction", "chat-to-responses", str(source), str(tmp_path / "o")
    )
    assert code == 3
    assert "this looks like Responses data (entry 0: it has type 'message')" in err
    assert "use --direction responses-to-chat" in err


def write(tmp_path: Path, name: str, value: Any) -> str:
    path = tmp_path / name
    path.write_bytes(value if isinstance(value, bytes) else orjson.dumps(value))
    return str(path)


COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}],
}
RESPONSE = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1,
    "model": "m",
    "status": "completed",
    "output": [],
}


@pytest.mark.parametrize(
    ("argv", "value", "message"),
    [
        (["convert", "--to", "responses"], RESPONSE, "is a Response, already the target; use --to chat"),
        (["convert", "--to", "chat"], COMPLETION, "is a ChatCompletion, already the target; use --to"),
        (["convert", "--to", "chat"], {"type": "response.done"}, "one stream chunk/event: use `translator"),
        (["convert", "--to", "responses"], {"foo": 1}, "expected a ChatCompletion object"),
        (["convert-request", "--to", "responses"], {"model": "m", "input": "q"},
         "this looks like a Responses request (it has 'input'); use --to chat"),
        (["convert-request", "--to", "chat"], {"model": "m", "messages": CHAT},
         "this looks like a Chat Completions request (it has 'messages'); use --to responses"),
        (["convert-request", "--to", "responses"], {"model": "m", "messages": ITEMS},
         "this looks like a Responses request (messages: entry 0: it has type 'message'); use --to chat"),
        (["accumulate", "--protocol", "chat"], b'data: {"type":"response.created","response":{}}\n\n',
         "chunk 0: the input looks like a Responses stream; use --protocol responses"),
        (["accumulate"], b"", "no chunks or events: nothing to accumulate"),
        (["accumulate"], orjson.dumps(COMPLETION) + b"\n",
         "chunk 0 is a chat.completion object, not a stream: use `translator convert`"),
        (["accumulate"], b'{"foo": 1}\n', "neither a Chat Completions chunk nor a Responses event (its keys"),
    ],
    ids=[
        "convert-response-to-responses",
        "convert-completion-to-chat",
        "convert-an-event",
        "convert-something-else",
        "request-responses-to-responses",
        "request-chat-to-chat",
        "request-items-in-messages",
        "accumulate-wrong-protocol",
        "accumulate-empty",
        "accumulate-an-object",
        "accumulate-something-else",
    ],
)  # fmt: skip
def test_every_verb_names_input_of_the_other_protocol(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, argv: list[str], value: Any, message: str
) -> None:
    code, out, err = run(capsysbinary, *argv, write(tmp_path, "in.json", value))
    assert (code, out) == (3, b"")
    assert message in err, err
