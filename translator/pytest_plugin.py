"""pytest plugin (entry point ``pytest11: translator``): golden ``.sse`` snapshots for stream tests.

Registers the ini option ``translator_golden_dir`` (default ``golden``, relative to the rootdir) and,
when syrupy is installed, the ``sse_snapshot`` fixture::

    def test_stream(sse_snapshot):
        assert list(translate_chat_stream(chunks)) == sse_snapshot

The first run with ``--snapshot-update`` writes ``golden/<test module>/<test name>.sse``; later runs
compare against it after normalizing ids and timestamps (:mod:`translator.snapshot`).  Without
syrupy this module still imports and only the ini option exists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from syrupy.assertion import SnapshotAssertion

__all__ = ["pytest_addoption"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "translator_golden_dir",
        help="folder (relative to the rootdir) for the .sse golden files of the sse_snapshot fixture",
        default="golden",
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
