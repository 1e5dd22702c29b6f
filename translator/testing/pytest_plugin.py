"""pytest plugin (entry point ``pytest11: translator``): golden ``.sse`` snapshots for stream tests.

Registers the ini option ``translator_golden_dir`` (default ``golden``, relative to the rootdir) and,
when syrupy is installed, the ``sse_snapshot`` fixture::

    def test_stream(sse_snapshot):
        assert list(translate_chat_stream(chunks)) == sse_snapshot

The first run with ``--snapshot-update`` writes ``golden/<test module>/<test name>.sse``; later runs
compare against it after normalizing timestamps and the ids this library synthesized
(:mod:`translator.testing.snapshot`).  Without syrupy this module still imports and only the ini option
exists.

The plugin also records which tests the session selected (:mod:`translator.testing.selection`), so
that only goldens of modules collected whole are reported as unused or deleted by ``--snapshot-update``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from . import selection
from .selection import GOLDEN_DIR_INI

if TYPE_CHECKING:
    from syrupy.assertion import SnapshotAssertion

__all__ = ["pytest_addoption"]

def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        GOLDEN_DIR_INI,
        help="folder (relative to the rootdir) for the .sse golden files of the sse_snapshot fixture",
        default="golden",
    )


def pytest_configure(config: pytest.Config) -> None:
    selection.begin(config)


def pytest_deselected(items: list[pytest.Item]) -> None:
    selection.note_deselected(items)


def pytest_collection_finish(session: pytest.Session) -> None:
    selection.finish(session)


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
