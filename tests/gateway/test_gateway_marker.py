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


def test_the_marker_selects_the_gateway_tests_and_only_them() -> None:
    paths = ["tests/gateway/test_codex_cli.py", "tests/engine/test_sse.py"]
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    expected = {"gateway": {paths[0]}, "not gateway": {paths[1]}}
    collecting = {  # both at once: each is a pytest start-up of a few seconds
        expression: subprocess.Popen(
            [*command, "-m", expression, *paths],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        for expression in expected
    }
    for expression, process in collecting.items():
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0, out
        selected = {line.split("::")[0] for line in out.splitlines() if "::" in line}
        assert selected == expected[expression], (expression, out)
