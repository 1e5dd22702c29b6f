"""Every test under ``tests/gateway/`` is marked ``gateway``: servers on loopback, ``translator serve``
processes, Redis and the real Codex CLI.  ``pytest -m "not gateway"`` (``make test-core``) is the fast
loop over the core; ``make test`` runs everything."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.gateway)
