"""pytest plugin (entry point ``pytest11: translator``): golden ``.sse`` snapshots for stream tests.

Registers the ini option ``translator_golden_dir`` (default ``golden``, relative to the rootdir) and,
when syrupy is installed, the ``sse_snapshot`` fixture::

    def test_stream(sse_snapshot):
        assert list(translate_chat_stream(chunks)) == sse_snapshot

The first run with ``--snapshot-update`` writes ``golden/<test module>/<test name>.sse``; later runs
compare against it after normalizing timestamps and the ids this library synthesized
(:mod:`translator.snapshot`).  Without syrupy this module still imports and only the ini option exists.

The plugin also records which tests the session selected: a test module is *collected whole* when
none of its tests was deselected (``-k``, ``-m``, ``--deselect``, ``--lf``...) and it was not named
with ``::`` on the command line.  Only in such a module may a golden that no collected test owns be
reported as unused or deleted by ``--snapshot-update``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from syrupy.assertion import SnapshotAssertion

__all__ = ["GOLDEN_DIR_INI", "Selection", "pytest_addoption", "selection_of"]

GOLDEN_DIR_INI = "translator_golden_dir"


@dataclass
class Selection:
    """The tests one session collected, and the modules some of whose tests it left out."""

    items: list[pytest.Item] = field(default_factory=list)
    #: test modules (resolved paths) the session did not collect whole
    partial: set[Path] = field(default_factory=set)
    #: per snapshot extension class: the golden paths its tests own (filled by translator.snapshot)
    owned: dict[Any, set[str]] = field(default_factory=dict)
    finished: bool = False

    def collected_whole(self, module: Path) -> bool:
        """Whether every test of ``module`` was collected (so a golden no test owns is obsolete)."""
        return self.finished and module not in self.partial


_SELECTION = pytest.StashKey[Selection]()


def selection_of(config: pytest.Config) -> Selection | None:
    """The session's selection, once collection finished (``None`` before, or in an xdist controller)."""
    selection = config.stash.get(_SELECTION, None)
    return selection if selection is not None and selection.finished else None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        GOLDEN_DIR_INI,
        help="folder (relative to the rootdir) for the .sse golden files of the sse_snapshot fixture",
        default="golden",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_SELECTION] = Selection()


def pytest_deselected(items: list[pytest.Item]) -> None:
    for item in items:
        config = item.config
        if _SELECTION in config.stash:
            config.stash[_SELECTION].partial.add(Path(item.path).resolve())


def pytest_collection_finish(session: pytest.Session) -> None:
    selection = session.config.stash.get(_SELECTION, None)
    if selection is None:
        return
    selection.items = list(session.items)
    invocation = session.config.invocation_params.dir
    for arg in session.config.args:
        path, sep, _ = arg.partition("::")
        if sep:  # a test (or class) named on the command line: its module was not collected whole
            selection.partial.add((invocation / path).resolve())
    selection.finished = True


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
