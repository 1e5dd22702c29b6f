"""translator.migrate.dask on a real local Dask cluster (two worker processes)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

db = pytest.importorskip("dask.bag", reason="the dask extra is not installed")
distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")

from translator.migrate.batch import migrate_file  # noqa: E402
from translator.migrate.dask import migrate_bag, migrate_files  # noqa: E402

CHAT = [{"role": "user", "content": "hi"}]


def shard(n: int) -> bytes:
    records = [{"id": f"c{n}_{i}", "messages": [{"role": "user", "content": f"q{n}.{i}"}]} for i in range(20)]
    lines = [orjson.dumps(r) for r in records]
    lines[3] = b"oops"  # line 4 of every shard
    lines[7] = orjson.dumps({"messages": [{"role": "user", "content": "x", "name": "bob"}]})  # line 8
    return b"\n".join(lines) + b"\n"


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    # its HTTP server on a free loopback port (None means 8787, which another test process may hold)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0", host="127.0.0.1"
    )
    with cluster, distributed.Client(cluster) as connected:
        yield connected


def test_migrate_files_on_a_cluster_equals_migrate_file_per_shard(client: Any, tmp_path: Path) -> None:
    sources = []
    for n in range(3):
        path = tmp_path / "in" / f"shard{n}.jsonl{'.gz' if n == 1 else ''}"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(gzip.compress(shard(n)) if n == 1 else shard(n))
        sources.append(str(path))
    report = migrate_files(sources, str(tmp_path / "out"), direction="chat-to-responses")
    assert (report.read, report.written, report.rejected) == (60, 54, 6)
    assert report.rejected_by_reason == {
        "invalid JSON": 3,
        "messages[*].name: 'name' has no equivalent in the target API": 3,
    }
    assert len(client.scheduler_info()["workers"]) == 2
    for n, source in enumerate(sources):
        expected = tmp_path / f"expected{n}.jsonl"
        migrate_file(source, expected, direction="chat-to-responses", progress=False)
        assert (tmp_path / "out" / f"part-{n:05d}.jsonl").read_bytes() == expected.read_bytes()
        rejects = [
            orjson.loads(x)
            for x in (tmp_path / "out" / f"part-{n:05d}.rejects.jsonl").read_bytes().splitlines()
        ]
        expected_rejects = [
            orjson.loads(x) for x in Path(f"{expected}.rejects.jsonl").read_bytes().splitlines()
        ]
        assert rejects == expected_rejects and [r["line"] for r in rejects] == [4, 8]


def test_migrate_bag_converts_lines_and_keeps_undecodable_bytes(client: Any) -> None:
    lines = db.from_sequence(
        [orjson.dumps(CHAT).decode(), "oops", b"\xff{}", orjson.dumps(CHAT)], npartitions=2
    )
    converted, rejected = migrate_bag(lines, "chat-to-responses")
    out, bad = converted.compute(), rejected.compute()
    assert [orjson.loads(x) for x in out] == [[{"type": "message", "role": "user", "content": "hi"}]] * 2
    assert [(r["line"], r["reason"].split(" at ")[0]) for r in bad] == [
        (2, "invalid JSON"),
        (1, "invalid UTF-8"),
    ]
    assert bad[1]["record_base64"] == "/3t9"  # b"\xff{}"
