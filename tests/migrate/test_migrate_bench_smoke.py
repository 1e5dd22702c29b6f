"""benchmarks/migrate_bench.py runs end to end on a tiny file (timings are reported, never asserted)."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import migrate_bench


def test_generated_records_are_realistic_envelopes(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    migrate_bench.generate(path, 300)
    lines = path.read_bytes().splitlines()
    assert len(lines) == 300
    records = []
    for line in lines:
        try:
            records.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue
    assert 280 <= len(records) < 300  # about 1% of lines are cut
    assert all(set(r) == {"id", "user_id", "created_at", "metadata", "messages"} for r in records)
    assert any(m.get("tool_calls") for r in records for m in r["messages"])


def test_the_benchmark_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--records", "500", "--jobs", "1", "2", "--halves", "--keep", str(tmp_path / "in.jsonl")]
    assert migrate_bench.main(argv) == 0
    *rows, medians = capsys.readouterr().out.splitlines()[-4:]
    assert [row.split()[0] for row in rows] == ["1", "2", "halves"]
    counts = {tuple(row.split()[-2:]) for row in rows}
    assert len(counts) == 1  # the same written and rejected counts, the halves added up
    assert medians.startswith("medians over 1 round(s)") and "halves:" in medians
