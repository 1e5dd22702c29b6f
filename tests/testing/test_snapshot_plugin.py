"""testing.snapshot and the pytest plugin: readable, normalized .sse golden files through syrupy."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import orjson
import pytest
from syrupy.assertion import SnapshotAssertion

from translator.engine.sse import DONE
from translator.testing.snapshot import format_sse

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
        '"response":{"id":"resp_abc","created_at":0}}\n\n'
        'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":1,'
        '"item_id":"msg_q","delta":"Hi\\n"}\n\n'
        'event: response.completed\ndata: {"type":"response.completed","sequence_number":2,'
        '"response":{"id":"resp_abc","created_at":0}}\n\n',
    ),
    "every_id_renamed": (
        RESPONSES[1:2],
        {"rename_ids": "all"},
        'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":0,'
        '"item_id":"msg_1","delta":"Hi\\n"}\n\n',
    ),
    "pretty": (
        [{"id": "chatcmpl-Z", "choices": [{"delta": {"content": "a\nb"}}]}, DONE],
        {"pretty": True},
        'data: {\ndata:   "id": "chatcmpl-Z",\ndata:   "choices": [\ndata:     {\ndata:       "delta": {\n'
        'data:         "content": "a\\nb"\ndata:       }\ndata:     }\ndata:   ]\ndata: }\n\n'
        "data: [DONE]\n\n",
    ),
    "chat_chunks_and_done": (
        CHAT,
        {},
        'data: {"id":"chatcmpl-Z","object":"chat.completion.chunk","created":0,'
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
        'data: {"id":"x"}\n\n',
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

    # the same events at other times, with other sequence numbers: equal
    other = orjson.loads(orjson.dumps(RESPONSES).replace(b"1758064478", b"1"))
    for n, event in enumerate(other):
        event["sequence_number"] = 40 + n
    _write_stream(pytester, other)
    pytester.runpytest().assert_outcomes(passed=1)

    # a behaviour change fails, naming the JSON path that changed
    changed = orjson.loads(orjson.dumps(RESPONSES).replace(b"Hi", b"Ho"))
    _write_stream(pytester, changed)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*event 1 (response.output_text.delta):", '*delta: "Hi\\n" -> "Ho\\n"'])
    assert golden.read_bytes() == first

    # so does a provider id that changed: only ids we synthesize are renamed
    _write_stream(pytester, orjson.loads(orjson.dumps(RESPONSES).replace(b"resp_abc", b"resp_zzz")))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(['*response.id: "resp_abc" -> "resp_zzz"'])

    # regenerating gives the same bytes
    _write_stream(pytester, RESPONSES)
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=1)
    assert golden.read_bytes() == first
    _write_stream(pytester, other)
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=1)
    assert golden.read_bytes() == first


TRANSLATING_TEST = """
import json
from pathlib import Path
from translator import translate_chat_stream

def test_translated(sse_snapshot):
    chunks = json.loads((Path(__file__).parent / "chunks.json").read_text())
    assert list(translate_chat_stream(chunks)) == sse_snapshot
"""


def _tool_call_chunks(call_id: str) -> list[dict[str, Any]]:
    base = {"id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 5, "model": "m"}
    call = {"index": 0, "id": call_id, "type": "function", "function": {"name": "f", "arguments": "{}"}}
    return [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [call]}}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]


def test_golden_of_our_output_keeps_provider_ids_and_renames_ours(pytester: pytest.Pytester) -> None:
    """Random resp_/fc_ ids differ on every run and are renamed; a lost upstream call id fails."""
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_translated=TRANSLATING_TEST)
    chunks = pytester.path / "chunks.json"
    chunks.write_bytes(orjson.dumps(_tool_call_chunks("call_abc")))
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=1)
    golden = (pytester.path / "golden" / "test_translated" / "test_translated.sse").read_text()
    assert '"call_id":"call_abc"' in golden and '"id":"fc_1"' in golden and '"id":"resp_1"' in golden
    pytester.runpytest().assert_outcomes(passed=1)  # new random ids, same golden

    chunks.write_bytes(orjson.dumps(_tool_call_chunks("call_xyz")))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(['*item.call_id: "call_abc" -> "call_xyz"'])


TWO_TESTS = """
import os

def test_kept(sse_snapshot):
    assert [{"type": "response.created", "n": 1}] == sse_snapshot

def test_other(sse_snapshot):
    if os.environ.get("CRASH_BEFORE_ASSERT"):
        raise RuntimeError("stopped before its assertion")
    assert [{"type": "response.created", "n": 2}] == sse_snapshot
"""


@pytest.mark.parametrize(
    "selection",
    [
        ["test_two.py::test_kept"],
        ["test_two.py", "-k", "kept"],
        ["test_two.py", "--deselect", "test_two.py::test_other"],
    ],
    ids=["node_id", "keyword", "deselect"],
)
def test_update_of_some_tests_never_deletes_the_goldens_of_the_others(
    pytester: pytest.Pytester, selection: list[str]
) -> None:
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_two=TWO_TESTS)
    folder = pytester.path / "golden" / "test_two"
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=2)
    obsolete = folder / "test_renamed_long_ago.sse"
    obsolete.write_text("data: {}\n\n")
    before = {path.name: path.read_bytes() for path in folder.iterdir()}

    result = pytester.runpytest("--snapshot-update", *selection)
    result.assert_outcomes(passed=1, deselected=0 if "::" in selection[0] else 1)
    assert "Deleted" not in result.stdout.str()
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before


def test_a_test_that_fails_before_its_assertion_keeps_its_golden(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_two=TWO_TESTS)
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=2)
    monkeypatch.setenv("CRASH_BEFORE_ASSERT", "1")
    result = pytester.runpytest("--snapshot-update")
    result.assert_outcomes(passed=1, failed=1)
    assert "Deleted" not in result.stdout.str()
    assert (pytester.path / "golden" / "test_two" / "test_other.sse").is_file()


def test_a_whole_module_run_reports_and_deletes_goldens_no_test_owns(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_two=TWO_TESTS)
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=2)
    obsolete = pytester.path / "golden" / "test_two" / "test_renamed_long_ago.sse"
    obsolete.write_text("data: {}\n\n")

    result = pytester.runpytest("--snapshot-warn-unused")
    result.stdout.fnmatch_lines(["*1 snapshot unused*"])
    assert obsolete.is_file()
    result = pytester.runpytest("--snapshot-update", "test_two.py")
    result.stdout.fnmatch_lines(["*Deleted test_renamed_long_ago*"])
    assert not obsolete.exists()
    assert sorted(p.name for p in obsolete.parent.iterdir()) == ["test_kept.sse", "test_other.sse"]


def test_pretty_goldens_compare_like_compact_ones(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\n")
    pytester.makeconftest(
        """
import pytest
from translator.testing.snapshot import SSESnapshotExtension

class Pretty(SSESnapshotExtension):
    pretty = True

@pytest.fixture
def sse_snapshot(snapshot):
    return snapshot.use_extension(Pretty)
"""
    )
    pytester.makepyfile(test_user=USER_TEST)
    _write_stream(pytester, RESPONSES)
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=1)
    golden = pytester.path / "golden" / "test_user" / "test_stream.sse"
    assert golden.read_text() == format_sse(RESPONSES, pretty=True)
    assert '\ndata:   "delta": "Hi\\n"\n' in golden.read_text()
    pytester.runpytest().assert_outcomes(passed=1)
    _write_stream(pytester, orjson.loads(orjson.dumps(RESPONSES).replace(b"Hi", b"Ho")))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(['*delta: "Hi\\n" -> "Ho\\n"'])


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


NAMED_TEST = """
import os
import pytest

CASES = [pytest.param("skipped", marks=pytest.mark.skip)] if os.environ.get("SKIP_ONE") else []

@pytest.mark.golden("chat_to_responses")
@pytest.mark.parametrize("case", ["one", "two", *CASES])
def test_named(case, sse_snapshot):
    assert [{"type": "response.created", "case": case}] == sse_snapshot

def test_default_layout(sse_snapshot):
    assert [{"type": "response.created"}] == sse_snapshot
"""


def _named_project(pytester: pytest.Pytester) -> Any:
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_named=NAMED_TEST)
    # -W error: writing a marker-named golden warns of nothing (syrupy's "cannot relate" is ours to judge)
    pytester.runpytest("--snapshot-update", "-W", "error").assert_outcomes(passed=3)
    return pytester.path / "golden" / "chat_to_responses"


def test_the_golden_marker_names_the_folder_and_the_parameter_id_the_file(pytester: pytest.Pytester) -> None:
    folder = _named_project(pytester)
    assert sorted(p.name for p in folder.iterdir()) == ["one.sse", "two.sse"]
    assert (folder / "one.sse").read_text() == format_sse([{"type": "response.created", "case": "one"}])
    assert (pytester.path / "golden" / "test_named" / "test_default_layout.sse").is_file()  # unmarked
    pytester.runpytest().assert_outcomes(passed=3)
    (folder / "two.sse").write_text(format_sse([{"type": "response.created", "case": "three"}]))
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(['*case: "three" -> "two"'])


def test_unused_goldens_of_a_named_folder_are_reported_and_deleted(pytester: pytest.Pytester) -> None:
    folder = _named_project(pytester)
    obsolete = folder / "renamed_long_ago.sse"
    obsolete.write_text("data: {}\n\n")

    warned = pytester.runpytest("--snapshot-warn-unused")
    warned.assert_outcomes(passed=3)
    assert warned.ret == pytest.ExitCode.OK
    unused = "golden/chat_to_responses/renamed_long_ago.sse"
    warned.stdout.fnmatch_lines(["*1 unused golden file(s)*", unused])
    failed = pytester.runpytest()  # like syrupy: an unused golden fails the run unless told to warn
    failed.assert_outcomes(passed=3)
    assert failed.ret == pytest.ExitCode.TESTS_FAILED
    partials = [["-k", "one"], ["test_named.py::test_named"]]
    partials.append(["--deselect", "test_named.py::test_named[two]"])
    for partial in partials:
        result = pytester.runpytest("--snapshot-update", *partial)
        assert "unused golden" not in result.stdout.str()
        assert obsolete.is_file()

    deleted = pytester.runpytest("--snapshot-update", "test_named.py")
    deleted.stdout.fnmatch_lines(["Deleted 1 unused golden file(s):", unused])
    assert sorted(p.name for p in folder.iterdir()) == ["one.sse", "two.sse"]
    assert pytester.runpytest().ret == pytest.ExitCode.OK


def test_a_skipped_test_keeps_every_golden_of_its_named_folder(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _named_project(pytester)
    (folder / "of_a_case_this_machine_lacks.sse").write_text("data: {}\n\n")
    monkeypatch.setenv("SKIP_ONE", "1")
    result = pytester.runpytest("--snapshot-update")
    result.assert_outcomes(passed=3, skipped=1)
    assert (folder / "of_a_case_this_machine_lacks.sse").is_file()


def test_a_named_folder_belongs_to_one_module(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_named=NAMED_TEST, test_other=NAMED_TEST.replace("test_named", "test_other"))
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*the golden folder 'chat_to_responses' is named by tests of several modules*"]
    )


def test_a_golden_marker_without_a_folder_name_fails_its_test_saying_so(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(
        test_bad="""
import pytest

@pytest.mark.golden("../elsewhere")
def test_bad(sse_snapshot):
    assert [] == sse_snapshot
"""
    )
    result = pytester.runpytest("--snapshot-update")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.golden takes one folder name, got '../elsewhere'*"])
    assert not (pytester.path / "elsewhere").exists()


def test_plugin_imports_cleanly_without_syrupy() -> None:
    code = (
        "import sys; sys.modules['syrupy'] = None\n"
        "import translator.testing.pytest_plugin as plugin\n"
        "assert not hasattr(plugin, 'sse_snapshot'), 'fixture registered without syrupy'\n"
        "assert 'sse_snapshot' not in plugin.__all__\n"
        "try:\n    import translator.testing.snapshot\nexcept ImportError as exc:\n    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "translator.testing.snapshot needs syrupy: pip install syrupy"


def test_plugin_registers_the_fixture_with_syrupy(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("translator")
    assert pytestconfig.getini("translator_golden_dir") == "golden"
