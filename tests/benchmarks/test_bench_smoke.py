"""``benchmarks/bench.py`` on tiny workloads: it runs, and ours and openai-agents agree where comparable.

No timing is asserted: performance is what the benchmark prints, not a test.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest
from support.corpus import ROOT

from translator.engine.sse import DONE, StreamDecoder


def _load_bench():  # benchmarks/ is a folder of scripts, not a package
    spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bench = _load_bench()
LOADS = bench.workloads(scale=0.01)


@pytest.mark.parametrize("load", LOADS, ids=[load.name for load in LOADS])
def test_ours_and_agents_agree_on_the_final_output(load: bench.Workload) -> None:
    ours = bench.final_summary_ours(load.chunks)
    assert ours == bench.final_summary_ours(load.sdk)  # dicts and SDK objects: same result
    assert ours == bench.final_summary_agents(load.sdk)
    assert ours["text"] or ours["calls"]


@pytest.mark.parametrize("load", LOADS, ids=[load.name for load in LOADS])
def test_every_timed_path_does_the_same_work(load: bench.Workload) -> None:
    events = bench.ours(load.chunks)
    decoder = StreamDecoder()
    from_bytes = decoder.feed(bench.ours_sse(load.sse)) + decoder.close()
    assert [e["type"] for e in from_bytes] == [e["type"] for e in events]
    assert bench.summary_of_output(from_bytes[-1]["response"]["output"]) == bench.final_summary_ours(
        load.chunks
    )
    assert bench.orjson_floor(load.data_lines) > 0
    assert len(load.data_lines) == len(load.chunks)

    chat = bench.reverse(events)
    decoder = StreamDecoder()
    chat_from_bytes = decoder.feed(bench.reverse_sse(bench.responses_sse(events))) + decoder.close()
    assert chat_from_bytes[-1] is DONE
    assert chat_from_bytes[:-1] == [{**c, "id": chat_from_bytes[0]["id"]} for c in chat]


def test_report_and_main_quick(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--quick", "--repeats", "1", "--scale", "0.005"]) == 0
    out = capsys.readouterr().out
    for subject in ("ours dicts", "ours sdk", "agents sdk", "orjson floor"):
        assert subject in out
    assert "dicts/agents" in out and "peak memory" in out
