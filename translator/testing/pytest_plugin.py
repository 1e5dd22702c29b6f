"""pytest plugin (entry point ``pytest11: translator``): golden ``.sse`` snapshots for stream tests.

Registers the ini option ``translator_golden_dir`` (default ``golden``, relative to the rootdir) and,
when syrupy is installed, the ``sse_snapshot`` fixture::

    def test_stream(sse_snapshot):
        assert list(translate_chat_stream(chunks)) == sse_snapshot

The first run with ``--snapshot-update`` writes ``golden/<test module>/<test name>.sse``; later runs
compare against it after normalizing timestamps and the ids this library synthesized
(:mod:`translator.testing.snapshot`).  The ``golden`` marker names the folder instead, each golden
then named after the test's parameter id::

    @pytest.mark.golden("chat_to_responses")
    @pytest.mark.parametrize("path", recordings, ids=lambda path: path.stem)
    def test_corpus_golden(path, sse_snapshot):  # golden/chat_to_responses/<recording>.sse
        ...

Without syrupy this module still imports; only the ini option and the marker exist.

The plugin also records which tests the session selected and which were skipped
(:mod:`translator.testing.selection`), so that only goldens of modules collected whole are reported as
unused or deleted by ``--snapshot-update``; it reports those of marker-named folders itself, at the end
of the session (and fails it, as syrupy does, unless ``--snapshot-warn-unused``).
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import TYPE_CHECKING

import pytest

from . import selection
from .selection import GOLDEN_DIR_INI

if TYPE_CHECKING:
    from syrupy.assertion import SnapshotAssertion

__all__ = ["pytest_addoption"]

_GOLDEN_REPORT = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        GOLDEN_DIR_INI,
        help="folder (relative to the rootdir) for the .sse golden files of the sse_snapshot fixture",
        default="golden",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "golden(folder): the sse_snapshot goldens of this test are <golden dir>/<folder>/<parameter id>.sse",
    )
    selection.begin(config)


def pytest_deselected(items: list[pytest.Item]) -> None:
    selection.note_deselected(items)


def pytest_collection_finish(session: pytest.Session) -> None:
    selection.finish(session)
    _check_named_folders(session.items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.skipped:
        selection.note_skipped(item)
    return report


def _check_named_folders(items: list[pytest.Item]) -> None:
    """A folder the ``golden`` marker names belongs to the tests of one module.

    Otherwise a run of one module would judge, and with ``--snapshot-update`` delete, the other's goldens.
    """
    try:
        from .snapshot import named_folder
    except ImportError:  # no syrupy: no goldens
        return
    owners: dict[str, set[str]] = {}
    for item in items:
        try:
            folder = named_folder(item)
        except ValueError:  # a misused marker: that test fails at its assertion, saying why
            continue
        if folder is not None:
            owners.setdefault(folder, set()).add(str(item.path))
    for folder, modules in owners.items():
        if len(modules) > 1:
            raise pytest.UsageError(
                f"the golden folder {folder!r} is named by tests of several modules: {sorted(modules)}"
            )


try:
    import syrupy  # noqa: F401  (a dev dependency: the fixture exists only when it imports)
except ImportError:
    pass
else:

    @pytest.fixture
    def sse_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
        """syrupy's ``snapshot`` storing readable, normalized ``.sse`` golden files."""
        from .snapshot import SSESnapshotExtension

        return snapshot.use_extension(SSESnapshotExtension)

    __all__ += ["sse_snapshot"]

    def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
        """Report (or, with ``--snapshot-update``, delete) the unowned goldens of marker-named folders."""
        from .snapshot import unowned_named_goldens

        config = session.config
        obsolete = unowned_named_goldens(config)
        if not obsolete:
            return
        names = [os.path.relpath(path, config.rootpath) for path in obsolete]
        if config.getoption("update_snapshots", default=False):
            for path in obsolete:
                path.unlink(missing_ok=True)
            config.stash[_GOLDEN_REPORT] = [f"Deleted {len(names)} unused golden file(s):", *names]
            return
        config.stash[_GOLDEN_REPORT] = [
            f"{len(names)} unused golden file(s), owned by no test (--snapshot-update deletes them):",
            *names,
        ]
        if not config.getoption("warn_unused_snapshots", default=False) and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
        lines = config.stash.get(_GOLDEN_REPORT, None)
        if lines:
            terminalreporter.write_sep("-", "golden files")
            for line in lines:
                terminalreporter.write_line(line)

    __all__ += ["pytest_sessionfinish", "pytest_terminal_summary"]
