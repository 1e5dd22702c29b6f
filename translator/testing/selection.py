"""Which tests a pytest session selected, so golden files no collected test owns are judged fairly.

A test module is *collected whole* when none of its tests was deselected (``-k``, ``-m``,
``--deselect``, ``--lf``...) and it was not named with ``::`` on the command line.  Only in such a
module may a golden that no collected test owns be reported as unused or deleted by
``--snapshot-update`` (:mod:`translator.testing.snapshot`); in a folder named by the ``golden``
marker, only when none of its tests was skipped either (a skipped parametrization may stand for
cases that exist).  The plugin (:mod:`translator.testing.pytest_plugin`) feeds it from pytest's hooks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "GOLDEN_DIR_INI",
    "Selection",
    "begin",
    "finish",
    "note_deselected",
    "note_skipped",
    "selection_of",
]

GOLDEN_DIR_INI = "translator_golden_dir"


@dataclass
class Selection:
    """The tests one session collected, and the modules some of whose tests it left out."""

    items: list[pytest.Item] = field(default_factory=list)
    #: test modules (resolved paths) the session did not collect whole
    partial: set[Path] = field(default_factory=set)
    #: node ids of the tests that were skipped (at setup, or by ``pytest.skip`` while running)
    skipped: set[str] = field(default_factory=set)
    #: per snapshot extension class: the golden paths its tests own (filled by translator.testing.snapshot)
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


def begin(config: pytest.Config) -> None:
    """A session starts: nothing selected yet."""
    config.stash[_SELECTION] = Selection()


def note_deselected(items: list[pytest.Item]) -> None:
    for item in items:
        config = item.config
        if _SELECTION in config.stash:
            config.stash[_SELECTION].partial.add(Path(item.path).resolve())


def note_skipped(item: pytest.Item) -> None:
    if _SELECTION in item.config.stash:
        item.config.stash[_SELECTION].skipped.add(item.nodeid)


def finish(session: pytest.Session) -> None:
    """Collection is over: the selected items, and the modules named with ``::`` are partial."""
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
