"""The ``gateway`` marker (set by ``tests/gateway/conftest.py``) is on every gateway test, the Codex CLI's
included, and on no other, so ``pytest -m "not gateway"`` (``make test-core``) is the core alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_this_test_is_marked_gateway(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("gateway") is not None


@pytest.mark.parametrize("expression", ["gateway", "not gateway"])
def test_the_marker_selects_the_gateway_tests_and_only_them(expression: str) -> None:
    paths = ["tests/gateway/test_codex_cli.py", "tests/engine/test_sse.py"]
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    command += ["-m", expression, *paths]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    selected = {line.split("::")[0] for line in result.stdout.splitlines() if "::" in line}
    assert selected == ({paths[0]} if expression == "gateway" else {paths[1]}), result.stdout
