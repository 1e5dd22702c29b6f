"""The gateway's benchmarks run against today's gateway (they broke once, unnoticed, when every request
had to carry a key): ``bench_websocket.py`` end to end on a tiny load, and the workload of
``gateway_instructions.py`` served whole by a real ``translator serve`` (without valgrind).

No timing is asserted: performance is what the benchmarks print, not a test.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.corpus import ROOT
from support.fake_upstream import FakeUpstream
from support.gateway import ServeProcess

pytestmark = pytest.mark.gateway


def _load(name: str) -> Any:  # benchmarks/ is a folder of scripts, not a package
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream().start()
    yield fake
    fake.stop()


def test_the_instruction_benchmarks_workload_is_served_whole(upstream: FakeUpstream) -> None:
    bench = _load("gateway_instructions")
    requests = bench.workload("responses", 20, fast_only=5)
    gateway = ServeProcess("--upstream", upstream.url, "--store", "memory")
    try:
        received = bench.run_workload(gateway.port, requests)  # raises on any answer but 200
    finally:
        gateway.stop()
    assert received > 5 * 20 * 50  # every stream read to its end: 20 text deltas each, and more


def test_the_websocket_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    command = [sys.executable, str(ROOT / "benchmarks" / "bench_websocket.py")]
    command += ["--implementations", "websockets", "--sockets", "3", "--idle", "3", "--rounds", "1"]
    command += ["--output", str(tmp_path / "results.txt")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    for row in ("websocket (gateway)", "http (gateway)", "direct (chat, no gateway)"):
        assert row in done.stdout, done.stdout
    # the table is saved, without the progress lines
    assert (tmp_path / "results.txt").read_text().strip() in done.stdout
