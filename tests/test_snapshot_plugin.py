"""translator.snapshot and the pytest plugin: readable, normalized .sse golden files through syrupy."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import orjson
import pytest
from syrupy.assertion import SnapshotAssertion

from translator.snapshot import format_sse
from translator.sse import DONE

pytest_plugins = ["pytester"]

RESPONSES = [
    {
        "type": "response.created",
        "sequence_number": 4,
        "response": {"id": "resp_abc", "created_at": 1758064478},
    },
    {
        "type": "response.output_text.delta",
        "sequence_number": 5,
        "item_id": "msg_q",
        "delta": "Hi\n",
        "obfuscation": "x",
    },
    {
        "type": "response.completed",
        "sequence_number": 6,
        "response": {"id": "resp_abc", "created_at": 1758064478},
    },
]
CHAT = [
    {
        "id": "chatcmpl-Z",
        "object": "chat.completion.chunk",
        "created": 9,
        "choices": [{"delta": {"content": "é"}}],
    },
    DONE,
]

FORMAT_CASES = {
    "responses_events": (
        RESPONSES,
        {},
        'event: response.created\ndata: {"type":"response.created","sequence_number":0,'
        '"response":{"id":"resp_1","created_at":0}}\n\n'
        'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":1,'
        '"item_id":"msg_1","delta":"Hi\\n"}\n\n'
        'event: response.completed\ndata: {"type":"response.completed","sequence_number":2,'
        '"response":{"id":"resp_1","created_at":0}}\n\n',
    ),
    "chat_chunks_and_done": (
        CHAT,
        {},
        'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":0,'
        '"choices":[{"delta":{"content":"é"}}]}'
        "\n\ndata: [DONE]\n\n",
    ),
    "not_normalized": (
        CHAT[:1],
        {"normalize": False},
        'data: {"id":"chatcmpl-Z","object":"chat.completion.chunk","created":9,'
        '"choices":[{"delta":{"content":"é"}}]}'
        "\n\n",
    ),
    "raw_sse_bytes": (
        b'data: {"b":1,"a":2}\r\n\r\ndata: [DONE]\r\n\r\n',
        {},
        'data: {"b":1,"a":2}\n\ndata: [DONE]\n\n',
    ),
    "one_object": ({"error": {"message": "boom"}}, {}, 'data: {"error":{"message":"boom"}}\n\n'),
    "drop": (
        [{"id": "x", "system_fingerprint": "fp"}],
        {"drop": ["system_fingerprint"]},
        'data: {"id":"id_1"}\n\n',
    ),
}


@pytest.mark.parametrize(("data", "options", "expected"), FORMAT_CASES.values(), ids=FORMAT_CASES.keys())
def test_format_sse_writes_one_readable_frame_per_item(
    data: Any, options: dict[str, Any], expected: str
) -> None:
    assert format_sse(data, **options) == expected


def test_format_sse_rejects_a_non_stream() -> None:
    with pytest.raises(TypeError, match="cannot write int"):
        format_sse(3)


def test_sse_snapshot_fixture_in_this_repo(sse_snapshot: SnapshotAssertion) -> None:
    # Stored at golden/test_snapshot_plugin/test_sse_snapshot_fixture_in_this_repo.sse
    assert [*RESPONSES, *CHAT] == sse_snapshot


# -- the plugin in a scratch project ---------------------------------------------------------------

USER_TEST = """
import json
from pathlib import Path

def test_stream(sse_snapshot):
    events = json.loads((Path(__file__).parent / "stream.json").read_text())
    assert events == sse_snapshot
"""


def _project(pytester: pytest.Pytester, stream: list[Any], ini: str = "") -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile(test_user=USER_TEST)
    _write_stream(pytester, stream)


def _write_stream(pytester: pytest.Pytester, stream: list[Any]) -> None:
    (pytester.path / "stream.json").write_bytes(orjson.dumps(stream))


def test_plugin_writes_compares_and_regenerates_golden_files(pytester: pytest.Pytester) -> None:
    _project(pytester, RESPONSES)
    golden = pytester.path / "golden" / "test_user" / "test_stream.sse"

    pytester.runpytest("--snapshot-update").assert_outcomes(passed=1)
    first = golden.read_bytes()
    assert first == format_sse(RESPONSES).encode()
    assert first.startswith(b"event: response.created\ndata: {")

    pytester.runpytest().assert_outcomes(passed=1)

    # another recording of the same behaviour: other ids, timestamps, sequence numbers
    other = orjson.loads(
        orjson.dumps(RESPONSES).replace(b"resp_abc", b"resp_zzz").replace(b"1758064478", b"1")
    )
    for n, event in enumerate(other):
        event["sequence_number"] = 40 + n
    _write_stream(pytester, other)
    pytester.runpytest().assert_outcomes(passed=1)

    # a behaviour change fails
    changed = orjson.loads(orjson.dumps(RESPONSES).replace(b"Hi", b"Ho"))
    _write_stream(pytester, changed)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*Ho*"])
    assert golden.read_bytes() == first

    # regenerating gives the same bytes
    _write_stream(pytester, RESPONSES)
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=1)
    assert golden.read_bytes() == first
    _write_stream(pytester, other)
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=1)
    assert golden.read_bytes() == first


def test_missing_golden_file_fails_without_update(pytester: pytest.Pytester) -> None:
    _project(pytester, CHAT[:1])
    pytester.runpytest().assert_outcomes(failed=1)
    assert not (pytester.path / "golden").exists()


def test_golden_dir_is_an_ini_option(pytester: pytest.Pytester) -> None:
    _project(pytester, CHAT[:1], ini="translator_golden_dir = snapshots/sse")
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=1)
    written = pytester.path / "snapshots" / "sse" / "test_user" / "test_stream.sse"
    assert written.read_text() == format_sse(CHAT[:1])
    assert not (pytester.path / "golden").exists()


def test_other_folders_under_golden_are_left_alone(pytester: pytest.Pytester) -> None:
    _project(pytester, CHAT[:1])
    foreign = pytester.path / "golden" / "chat_to_responses" / "case.sse"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("data: {}\n\n")
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=1)
    assert foreign.read_text() == "data: {}\n\n"


def test_plugin_imports_cleanly_without_syrupy() -> None:
    code = (
        "import sys; sys.modules['syrupy'] = None\n"
        "import translator.pytest_plugin as plugin\n"
        "assert not hasattr(plugin, 'sse_snapshot'), 'fixture registered without syrupy'\n"
        "assert plugin.__all__ == ['pytest_addoption']\n"
        "try:\n    import translator.snapshot\nexcept ImportError as exc:\n    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "translator.snapshot needs syrupy: pip install syrupy"


def test_plugin_registers_the_fixture_with_syrupy(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("translator")
    assert pytestconfig.getini("translator_golden_dir") == "golden"
