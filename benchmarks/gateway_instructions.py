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


def workload(client: str, chunks: int) -> list[tuple[str, bytes]]:
    """(path, body) of each request for ``client`` ("responses" or "chat")."""
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
        connection.request("POST", path, body, {"content-type": "application/json"})
        answer = connection.getresponse()
        data = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"{path} answered {answer.status}: {data[:200]!r}")
        received += len(data)
    connection.close()
    return received


def instructions(python: Path, client: str, chunks: int, upstream: str, folder: Path) -> tuple[int, int]:
    """(instructions, answer bytes) of the workload on ``python``'s ``translator serve``."""
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
    ]
    if client == "chat":
        command += ["--upstream-protocol", "responses"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=folder)
    try:
        wait_for_http(port, "/health", server, 600)
        requests = workload(client, chunks)
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
    args = parser.parse_args()
    if not (CORPUS / "chat").is_dir():
        sys.exit(f"the corpus is not at {CORPUS} (set TRANSLATOR_CORPUS)")
    pythons = {"this checkout": ROOT / ".venv" / "bin" / "python"}
    if args.baseline:
        pythons["baseline"] = args.baseline
    with tempfile.TemporaryDirectory(prefix="gateway-instructions-") as tmp:
        folder = Path(tmp)
        up_port = free_port()
        fake = subprocess.Popen(
            [sys.executable, str(FAKE_UPSTREAM), "--port", str(up_port), "--corpus", str(CORPUS)],
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_for_http(up_port, "/stats", fake, 30)
            upstream = f"http://127.0.0.1:{up_port}/v1"
            results: dict[tuple[str, str], tuple[int, int]] = {}
            for client in ("responses", "chat"):
                for name, python in pythons.items():
                    started = time.monotonic()
                    results[name, client] = instructions(python, client, args.chunks, upstream, folder)
                    count, received = results[name, client]
                    print(
                        f"{name:<14} {client:<9} clients: {count:>15,} instructions"
                        f" ({received:,} bytes answered; {time.monotonic() - started:.0f} s)",
                        flush=True,
                    )
        finally:
            fake.terminate()
            fake.wait(30)
    if args.baseline:
        for client in ("responses", "chat"):
            now, then = results["this checkout", client][0], results["baseline", client][0]
            ratio = now / then
            print(f"{client} clients: this checkout / baseline = {ratio:.4f} ({(ratio - 1) * 100:+.2f}%)")


if __name__ == "__main__":
    main()
