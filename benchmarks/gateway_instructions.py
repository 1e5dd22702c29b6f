"""Instructions the gateway executes per request, counted by callgrind: two checkouts compared exactly.

Wall-clock figures of the gateway move by tens of percent on a shared machine; instruction counts do not.
For each interpreter given (this checkout's ``.venv`` first, then e.g. another checkout's with
``--baseline``), ``translator serve --store memory`` runs under ``valgrind --tool=callgrind`` beside a fake
upstream (``tests/support/fake_upstream.py``, standard library only).  After a warm-up round of the workload
the counters are zeroed (``callgrind_control --zero``), the workload runs again, and the counters are
dumped: the instructions of exactly that workload, the server's start excluded.

The workload, sequential streaming requests on one connection at a time:

* Responses clients over a chat upstream: ``fast-<n>`` (n content chunks) and every Chat recording of the
  corpus replayed (``replay:chat/<file>``), on ``/v1/responses``;
* Chat clients over a responses upstream: every Responses recording replayed, on ``/v1/chat/completions``
  (a second server with ``--upstream-protocol responses``).

Usage: ``.venv/bin/python benchmarks/gateway_instructions.py --baseline ../base/.venv/bin/python``.
The corpus is read from ``../shared/corpus`` (or ``TRANSLATOR_CORPUS``).

``--metrics-off`` measures this checkout a second time with ``[server] metrics = false`` (the cost of the
metrics, the in-flight gauge and the observer, counted exactly); ``--fast-only N`` replaces the workload by
N ``fast-<chunks>`` streams of Responses clients (the streams ``make bench-gateway`` counts its chunks/s
on).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from support.net import free_port, wait_for_http  # noqa: E402

FAKE_UPSTREAM = ROOT / "tests" / "support" / "fake_upstream.py"
CORPUS = Path(os.environ.get("TRANSLATOR_CORPUS", ROOT.parent / "shared" / "corpus"))


def workload(client: str, chunks: int, fast_only: int = 0) -> list[tuple[str, bytes]]:
    """(path, body) of each request for ``client`` ("responses" or "chat")."""
    if fast_only:  # (Responses clients: the fake upstream's fast streams are Chat streams)
        body = b'{"model": "fast-%d", "input": "hi", "stream": true}' % chunks
        return [("/v1/responses", body)] * fast_only
    if client == "responses":
        models = [f"fast-{chunks}"] + [
            f"replay:chat/{p.name}" for p in sorted((CORPUS / "chat").glob("*.sse"))
        ]
        return [
            ("/v1/responses", b'{"model": "%s", "input": "hi", "stream": true}' % m.encode()) for m in models
        ]
    models = [f"replay:responses/{p.name}" for p in sorted((CORPUS / "responses").glob("*.sse"))]
    body = b'{"model": "%s", "messages": [{"role": "user", "content": "hi"}], "stream": true}'
    return [("/v1/chat/completions", body % m.encode()) for m in models]


def run_workload(port: int, requests: list[tuple[str, bytes]]) -> int:
    """Send every request, read every answer to its end; the number of answer bytes."""
    received = 0
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    for path, body in requests:
        connection.request(
            "POST", path, body, {"content-type": "application/json", "authorization": "Bearer sk-bench"}
        )
        answer = connection.getresponse()
        data = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"{path} answered {answer.status}: {data[:200]!r}")
        received += len(data)
    connection.close()
    return received


def instructions(
    python: Path,
    client: str,
    requests: list[tuple[str, bytes]],
    upstream: str,
    folder: Path,
    extra: list[str],
) -> tuple[int, int]:
    """(instructions, answer bytes) of the workload on ``python``'s ``translator serve`` (``extra``: more
    of its options)."""
    port = free_port()
    out = folder / f"callgrind.{client}.{os.getpid()}.{port}"
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", str(python), "-m", "translator"]
    command += [
        "serve",
        "--upstream",
        upstream,
        "--port",
        str(port),
        "--store",
        "memory",
        "--log-level",
        "warning",
        *extra,
    ]
    if client == "chat":
        command += ["--upstream-protocol", "responses"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=folder)
    try:
        wait_for_http(port, "/health", server, 600)
        run_workload(port, requests)  # warm-up: every code path loaded, caches filled
        subprocess.run(["callgrind_control", "--zero", str(server.pid)], check=True, capture_output=True)
        received = run_workload(port, requests)
        subprocess.run(["callgrind_control", "--dump", str(server.pid)], check=True, capture_output=True)
    finally:
        server.terminate()
        server.wait(600)
    dump = out.with_name(f"{out.name}.1")  # the first dump on request: the one after the zeroing
    found = re.search(r"^(?:totals|summary): (\d+)", dump.read_text(errors="replace"), re.M)
    if found is None:
        raise RuntimeError(f"{dump.name} holds no total")
    return int(found.group(1)), received


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--baseline", type=Path, help="another checkout's Python, measured after this one")
    parser.add_argument("--chunks", type=int, default=200)
    parser.add_argument("--metrics-off", action="store_true", help="also this checkout with metrics = false")
    parser.add_argument("--fast-only", type=int, default=0, metavar="N", help="N fast-<chunks> streams only")
    args = parser.parse_args()
    if not args.fast_only and not (CORPUS / "chat").is_dir():
        sys.exit(f"the corpus is not at {CORPUS} (set TRANSLATOR_CORPUS)")
    this = ROOT / ".venv" / "bin" / "python"
    with tempfile.TemporaryDirectory(prefix="gateway-instructions-") as tmp:
        folder = Path(tmp)
        subjects: dict[str, tuple[Path, list[str]]] = {"this checkout": (this, [])}
        if args.baseline:
            subjects["baseline"] = (args.baseline, [])
        if args.metrics_off:
            off = folder / "metrics-off.toml"
            off.write_text("[server]\nmetrics = false\n")
            subjects["metrics off"] = (this, ["--config", str(off)])
        up_port = free_port()
        fake = subprocess.Popen(
            [sys.executable, str(FAKE_UPSTREAM), "--port", str(up_port), "--corpus", str(CORPUS)],
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_for_http(up_port, "/stats", fake, 30)
            upstream = f"http://127.0.0.1:{up_port}/v1"
            results: dict[tuple[str, str], tuple[int, int]] = {}
            clients = ("responses",) if args.fast_only else ("responses", "chat")
            for client in clients:
                requests = workload(client, args.chunks, args.fast_only)
                for name, (python, extra) in subjects.items():
                    started = time.monotonic()
                    results[name, client] = instructions(python, client, requests, upstream, folder, extra)
                    count, received = results[name, client]
                    print(
                        f"{name:<14} {client:<9} clients: {count:>15,} instructions"
                        f" ({received:,} bytes answered; {time.monotonic() - started:.0f} s)",
                        flush=True,
                    )
        finally:
            fake.terminate()
            fake.wait(30)
    for other in ("baseline", "metrics off"):
        if other not in subjects:
            continue
        for client in clients:
            now, then = results["this checkout", client][0], results[other, client][0]
            ratio = now / then
            print(f"{client} clients: this checkout / {other} = {ratio:.4f} ({(ratio - 1) * 100:+.2f}%)")


if __name__ == "__main__":
    main()
