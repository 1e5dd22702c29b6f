"""The stream translators' work in instructions (callgrind): this checkout against another, exactly.

``make bench`` times the translators in CPU seconds, which move by several percent on a shared machine.
Here the same work (``benchmarks/bench.py``'s workloads and subjects, through the public names only) runs
under ``valgrind --tool=callgrind`` on each interpreter given, once with one pass and once with
``1 + --passes`` passes over each workload; the difference divided by ``--passes`` is the instructions
of one pass, start-up and imports excluded.

Usage: ``.venv/bin/python benchmarks/instructions.py --baseline ../base/.venv/bin/python``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: The subjects: bench.py's functions and what each is fed.
SUBJECTS = {
    "c2r dicts": ("ours", "chunks"),
    "c2r e2e sse": ("ours_sse", "sse"),
    "r2c dicts": ("reverse", "events"),
    "r2c e2e sse": ("reverse_sse", "events_sse"),
}


def child(subject: str, passes: int) -> None:
    """In the measured process: build the workloads, run ``subject`` ``passes`` times over each."""
    sys.path.insert(0, str(HERE))
    import bench

    function, feed = SUBJECTS[subject]
    work = getattr(bench, function)
    for load in bench.workloads():
        events = bench.ours(load.chunks)
        inputs = {
            "chunks": load.chunks,
            "sse": load.sse,
            "events": events,
            "events_sse": bench.responses_sse(events),
        }
        for _ in range(passes):
            work(inputs[feed])


def count(python: Path, subject: str, passes: int, folder: Path) -> int:
    out = folder / f"cg.{abs(hash((str(python), subject, passes)))}"
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", str(python), __file__]
    command += ["--child", subject, "--passes", str(passes)]
    subprocess.run(command, check=True, capture_output=True, cwd=folder)
    found = re.search(r"^(?:totals|summary): (\d+)", out.read_text(errors="replace"), re.M)
    if found is None:
        raise RuntimeError(f"{out} holds no total")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--baseline", type=Path, help="another checkout's Python, measured beside this one")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.passes)
        return
    pythons = {"this checkout": ROOT / ".venv" / "bin" / "python"}
    if args.baseline:
        pythons["baseline"] = args.baseline
    per_pass: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory(prefix="instructions-") as tmp:
        for subject in SUBJECTS:
            for name, python in pythons.items():
                one = count(python, subject, 1, Path(tmp))
                more = count(python, subject, 1 + args.passes, Path(tmp))
                per_pass[name, subject] = (more - one) / args.passes
                millions = per_pass[name, subject] / 1e6
                print(f"{name:<14} {subject:<12} {millions:>9.2f} M instructions per pass", flush=True)
    if args.baseline:
        print("\nsubject        this checkout / baseline")
        for subject in SUBJECTS:
            ratio = per_pass["this checkout", subject] / per_pass["baseline", subject]
            print(f"{subject:<14} {ratio:.4f} ({(ratio - 1) * 100:+.2f}%)")


if __name__ == "__main__":
    main()
