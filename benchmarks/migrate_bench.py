"""``translator migrate`` throughput and memory, at 1 and 2 (or more) jobs, on a generated file.

Generates a seeded JSONL file of realistic stored transcripts (envelopes around multi-turn Chat
histories dumped from the SDK: system prompt, user turns, assistant tool calls with ``null`` fields,
tool outputs, answers with ``annotations``; 1% of lines broken, 1% with a field that has no
equivalent), then runs ``python -m translator migrate`` on it once per job count and reports wall
time, records/s, the ratio to the last one-job run before it, the CPU seconds of the whole process
tree (the same work, so about equal across job counts: on a busy machine wall time is CPU time
over the share of the cores the run got), and the peak RSS of the main process and of the tree
(sampled from /proc every 20 ms).  Usage::

    python benchmarks/migrate_bench.py [--records 100000] [--jobs 1 2] [--rounds 3] [--halves] [--keep FILE]

``--halves`` adds, to each round, two one-job processes started at once on the two halves of the
file: what two independent processes get from this machine, the ceiling of ``--jobs 2`` here.
Rounds run the job counts in turn, so that a noisy machine slows each kind alike; the medians and
their speed-ups are printed at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson

_TEXT = (
    "the order shipped yesterday and should arrive within three business days please check the "
    "tracking link for updates about your refund request we have escalated this to our billing team"
)
WORDS = _TEXT.split(" ")


def sentence(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high))).capitalize() + "."


def record(rng: random.Random, n: int) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": sentence(rng, 30, 60)}]
    for turn in range(rng.randint(2, 4)):
        messages.append({"role": "user", "content": sentence(rng, 10, 40)})
        if rng.random() < 0.5:
            call_id = f"call_{n}_{turn}"
            arguments = orjson.dumps({"order": n, "q": sentence(rng, 3, 8)}).decode()
            function = {"arguments": arguments, "name": "lookup_order"}
            call = {"id": call_id, "function": function, "type": "function"}
            messages.append(
                {  # ChatCompletionMessage.model_dump(): every field, nulls included
                    "content": None,
                    "refusal": None,
                    "role": "assistant",
                    "annotations": [],
                    "audio": None,
                    "function_call": None,
                    "tool_calls": [call],
                }
            )
            messages.append({"role": "tool", "tool_call_id": call_id, "content": sentence(rng, 20, 60)})
        answer: dict[str, Any] = {
            "content": sentence(rng, 40, 120),
            "refusal": None,
            "role": "assistant",
            "annotations": [],
            "audio": None,
            "function_call": None,
            "tool_calls": None,
        }
        if rng.random() < 0.1:
            citation = {"start_index": 0, "end_index": 5, "url": "https://example.com/o", "title": "Order"}
            answer["annotations"] = [{"type": "url_citation", "url_citation": citation}]
        messages.append(answer)
    if rng.random() < 0.01:
        messages[1]["name"] = "customer"  # no Responses equivalent: rejected in strict mode
    return {
        "id": f"conv_{n:08d}",
        "user_id": f"user_{rng.randint(1, 50_000)}",
        "created_at": 1_700_000_000 + n,
        "metadata": {"channel": rng.choice(["web", "app", "email"]), "csat": rng.randint(1, 5)},
        "messages": messages,
    }


def generate(path: Path, records: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    with path.open("wb") as out:
        for n in range(records):
            line = orjson.dumps(record(rng, n))
            if rng.random() < 0.01:
                line = line[: len(line) // 2]  # a cut line: invalid JSON
            out.write(line + b"\n")
    return path.stat().st_size


def _tree(pid: int) -> list[int]:
    pids = [pid]
    for current in pids:
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    pids += [int(child) for child in handle.read().split()]
        except OSError:
            continue
    return pids


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float:
    """utime + stime of one process, from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(sources: list[Path], jobs: int, workdir: Path) -> dict[str, float]:
    """``translator migrate --jobs N`` on each source, all at once (one process per source)."""
    commands = [
        [sys.executable, "-m", "translator", "migrate", "--direction", "chat-to-responses",
         "--jobs", str(jobs), "--no-progress", str(source), str(workdir / f"out_{n}.jsonl")]
        for n, source in enumerate(sources)
    ]  # fmt: skip
    peaks = {"main": 0, "tree": 0}
    cpu_by_pid: dict[int, float] = {}
    started = time.perf_counter()
    processes = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for c in commands]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            mains, tree = 0, 0
            for process in processes:
                pids = _tree(process.pid)
                for pid in pids:
                    cpu_by_pid[pid] = max(cpu_by_pid.get(pid, 0.0), _cpu_seconds(pid))
                sizes = [_rss_kib(pid) for pid in pids]
                mains, tree = max(mains, sizes[0] if sizes else 0), tree + sum(sizes)
            peaks["main"] = max(peaks["main"], mains)
            peaks["tree"] = max(peaks["tree"], tree)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    outputs = [process.communicate() for process in processes]
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    totals = {"read": 0, "written": 0, "rejected": 0}
    for process, (out, err) in zip(processes, outputs, strict=True):
        if process.returncode != 0:
            raise SystemExit(f"migrate failed ({process.returncode}): {err.decode()}")
        for line in out.decode().splitlines():
            key, value = line.split("\t")
            totals[key] += int(value)
    return {"seconds": elapsed, "rate": totals["read"] / elapsed, "cpu": sum(cpu_by_pid.values()),
            "main_cpu": max(cpu_by_pid.get(process.pid, 0.0) for process in processes),
            "main_mib": peaks["main"] / 1024, "tree_mib": peaks["tree"] / 1024, **totals}  # fmt: skip


def split_in_halves(source: Path, workdir: Path) -> list[Path]:
    """The first and second half of the lines of ``source``, as two files."""
    lines = source.read_bytes().splitlines(keepends=True)
    halves = [workdir / "half_1.jsonl", workdir / "half_2.jsonl"]
    halves[0].write_bytes(b"".join(lines[: len(lines) // 2]))
    halves[1].write_bytes(b"".join(lines[len(lines) // 2 :]))
    return halves


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=1, help="run the job counts this many times, in turn")
    halves_help = "each round also runs two 1-job processes at once, on the two halves of the file"
    parser.add_argument("--halves", action="store_true", help=halves_help)
    parser.add_argument("--keep", metavar="FILE", help="generate into FILE and keep it (reused if present)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        source = Path(args.keep) if args.keep else workdir / "in.jsonl"
        if not source.exists():
            generate(source, args.records)
        size = source.stat().st_size
        halves = split_in_halves(source, workdir) if args.halves else []
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
        print(f"input {size / 1e6:.1f} MB, {args.records:,} records ({size / args.records:,.0f} bytes each)")
        print(f"{'jobs':>6} {'seconds':>8} {'records/s':>10} {'ratio':>6} {'cpu s':>7} {'main s':>7}"
              f" {'main MiB':>9} {'tree MiB':>9} {'written':>8} {'rejected':>8}")  # fmt: skip
        runs = [(str(jobs), [source], jobs) for jobs in args.jobs]
        if halves:
            runs.append(("halves", halves, 1))
        seconds: dict[str, list[float]] = {}
        base = None
        for _ in range(args.rounds):
            for name, sources, jobs in runs:
                result = run(sources, jobs, workdir)
                seconds.setdefault(name, []).append(result["seconds"])
                if name == "1" or base is None:  # each ratio is to the last 1-job run before it
                    base = result["rate"]
                ratio = result["rate"] / base
                r = result
                print(f"{name:>6} {r['seconds']:>8.2f} {r['rate']:>10,.0f} {ratio:>6.2f} {r['cpu']:>7.1f}"
                      f" {r['main_cpu']:>7.1f} {r['main_mib']:>9.1f} {r['tree_mib']:>9.1f}"
                      f" {r['written']:>8,} {r['rejected']:>8,}")  # fmt: skip
        if args.rounds > 1 or len(runs) > 1:
            medians = {name: statistics.median(values) for name, values in seconds.items()}
            one = medians.get("1")
            summary = ", ".join(
                f"{name}: {value:.2f} s" + (f" ({one / value:.2f}x)" if one and name != "1" else "")
                for name, value in medians.items()
            )
            print(f"medians over {args.rounds} round(s), speed-up over 1 job: {summary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
