"""The fake upstream as ``make bench-gateway`` runs it: its own process, started by the Python of another
virtualenv, so with the standard library alone (``-I -S``: no site-packages, not even the project's)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from support import fake_upstream
from support.fake_upstream import chat_frames

TESTS = Path(__file__).resolve().parents[1]


def test_the_fake_upstream_runs_on_the_standard_library_alone() -> None:
    command = [sys.executable, "-I", "-S", fake_upstream.__file__, "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    try:
        line = process.stdout.readline()
        if not line.startswith("port "):
            process.kill()
            raise AssertionError(f"the fake upstream did not start: {line!r} {process.stderr.read()}")
        base = f"http://127.0.0.1:{int(line.split()[1])}/v1"
        body = json.dumps({"model": "fast-3", "messages": [], "stream": True}).encode()
        headers = {"content-type": "application/json"}
        request = urllib.request.Request(f"{base}/chat/completions", body, headers)
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.headers["content-type"] == "text/event-stream"
            assert answer.read() == b"".join(chat_frames("fast-3", 3))
        with urllib.request.urlopen(f"{base}/stats", timeout=10) as answer:
            stats = json.loads(answer.read())
        assert (stats["requests"], stats["finished"], stats["closed_early"]) == (1, 1, 0)
    finally:
        process.kill()
        process.wait(10)
        process.stdout.close()
        process.stderr.close()


def test_what_the_gateway_benchmark_imports_from_tests_support_is_standard_library() -> None:
    code = "import sys; sys.path.insert(0, sys.argv[1]); import support.net, support.fake_upstream"
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(TESTS)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_fast_n_on_the_responses_path_is_a_valid_responses_stream_of_the_same_text() -> None:
    from support.sdk import accumulate_with_sdk

    from translator.engine.sse import iter_sse

    events = [e for e in iter_sse(fake_upstream.responses_frames("fast-5", 5)) if isinstance(e, dict)]
    final = accumulate_with_sdk(events)
    chat = [json.loads(f[6:]) for f in chat_frames("fast-5", 5) if f.startswith(b"data: {")]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chat if c["choices"])
    assert final is not None and final.output_text == text
