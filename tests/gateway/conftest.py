"""Every test under ``tests/gateway/`` is marked ``gateway``: servers on loopback, ``translator serve``
processes, Redis and the real Codex CLI.  ``pytest -m "not gateway"`` (``make test-core``) is the fast
loop over the core; ``make test`` runs everything."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.corpus import CORPUS
from support.fake_upstream import FakeUpstream

HERE = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.gateway)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    """The fake upstream of a test module (one per module; a module may define its own instead). It reads
    the corpus only for the ``replay:``-like models, so every other model works without it."""
    fake = FakeUpstream(CORPUS).start()
    yield fake
    fake.stop()
