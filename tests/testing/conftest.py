"""The snapshot plugin's tests run pytest inside pytest (``pytester``)."""

from __future__ import annotations

import pytest


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """``pytester`` outside ``make test``'s parallel workers: syrupy prints no report in an xdist worker
    (it knows one by ``PYTEST_XDIST_WORKER``), and the inner run would inherit that."""
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)
    return pytester
