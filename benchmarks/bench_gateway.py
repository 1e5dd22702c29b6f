"""The gateway under load, side by side with LiteLLM's proxy (``make bench-gateway``).

One run, one machine, one fake chat upstream (``tests/support/fake_upstream.py``, its own process), one
load generator (the lean asyncio HTTP/1.1 client below, in this process, the same for every subject).
Subjects, each a separate server process on loopback:

* ``direct``: the client calls the fake upstream's ``/v1/chat/completions`` itself (the floor);
* ``translator``: ``python -m translator serve --upstream <fake>`` (the project's ``.venv``), called on
  ``/v1/responses``: every chat chunk is translated to Responses events;
* ``litellm``: LiteLLM's proxy (pinned in the Makefile, its own virtualenv under ``.bench/``) with a
  ``config.yaml`` sending every model to the fake upstream as an OpenAI-compatible chat model
  (``use_chat_completions_api: true``), called on ``/v1/responses``: the same bridge.

Figures, per subject:

* time to first event (TTFE): sequential streams on one keep-alive connection, from the request's
  first byte written to the first ``data:`` frame received; the added p50/p99 is the subject's minus
  direct's;
* relayed chunks/s and completed requests/s at 1, 50 and 200 concurrent streams (one worker
  process), upstream streams of ``fast-<n>`` (as fast as possible), counted in a fixed window after a
  warm-up: a chunk is a content delta the client received (``output_text.delta`` / chat content);
* CPU seconds per 1,000 relayed chunks: user+system time of the server's processes over the window
  (psutil), divided by the chunks relayed;
* resident memory per open stream: 200 slow streams (``paced``) held open at once, (RSS with them
  open - RSS before) / 200, on a server that has only served the TTFE streams so far;
* errors: a stream that did not end with its terminal event, a non-200 answer, a wrong number of
  deltas, a broken connection;
* ``--workers 2``: the translator's throughput at 200 streams with two workers (LiteLLM's too with
  ``--litellm-workers2``: its start and its slow streams take minutes on a small machine).

Output: a table on stdout (also written to ``benchmarks/gateway_results.txt``), and a plot
(``benchmarks/gateway_bench.png``: TTFE distribution, chunks/s against concurrency).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the tests' loopback helpers (standard library only)
from support.net import free_port, wait_for_http  # noqa: E402

HERE = ROOT / "benchmarks"
FAKE_UPSTREAM = ROOT / "tests" / "support" / "fake_upstream.py"
BENCH_VENV = ROOT / ".bench" / "venv"
PROJECT_PYTHON = ROOT / ".venv" / "bin" / "python"

#: What a subject's stream looks like to the client: content deltas, and the frame that ends it.
MARKERS = {
    "chat": (b'"delta":{"content"', b"data: [DONE]"),
    "responses": (b'response.output_text.delta"', b'response.completed"'),
}


# -- the load generator: one keep-alive HTTP/1.1 connection per concurrent stream -------------------------


@dataclass
class Result:
    status: int = 0
    deltas: int = 0
    done: bool = False
    first_event: float | None = None
    ended: float | None = None
    error: str | None = None


class Counter:
    """Deltas received by every connection of a run (read at the window's edges)."""

    def __init__(self) -> None:
        self.deltas = 0
        self.flowing = 0  # connections that have received a delta
        self.completed = 0
        self.errors = 0
        self.error_kinds: dict[str, int] = {}

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


class _Connection(asyncio.Protocol):
    """A minimal HTTP/1.1 client: one request at a time; counts markers in the raw (chunked) body."""

    def __init__(self, counter: Counter, marker: bytes, end_marker: bytes) -> None:
        self.counter = counter
        self.marker = marker
        self.end_marker = end_marker
        self.keep = max(len(marker), len(end_marker), 7) - 1
        self.transport: asyncio.Transport | None = None
        self.future: asyncio.Future[Result] | None = None
        self.lost = False
        self.flowing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._finish(f"connection lost ({exc or 'closed'})")

    def request(self, raw: bytes) -> asyncio.Future[Result]:
        assert self.transport is not None
        self.result = Result()
        self.head = bytearray()
        self.in_body = False
        self.tail = b""
        self.length: int | None = None
        self.received = 0
        self.future = asyncio.get_running_loop().create_future()
        self.started = time.perf_counter()
        self.transport.write(raw)
        return self.future

    def data_received(self, data: bytes) -> None:
        if self.future is None or self.future.done():
            return
        if not self.in_body:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.head[:end]).decode("latin-1").lower()
            self.result.status = int(head.split(" ", 2)[1])
            match = re.search(r"content-length:\s*(\d+)", head)
            self.length = int(match.group(1)) if match else None
            self.in_body = True
            data = bytes(self.head[end + 4 :])
            if not data:
                return
        result = self.result
        if result.first_event is None and b"data:" in data:
            result.first_event = time.perf_counter() - self.started
        window = self.tail + data
        found = window.count(self.marker)
        result.deltas += found
        self.counter.deltas += found
        if found and not self.flowing:
            self.flowing = True
            self.counter.flowing += 1
        if self.end_marker in window:
            result.done = True
        self.tail = window[-self.keep :]
        if self.length is not None:
            self.received += len(data)
            if self.received >= self.length:
                self._finish(None)
        elif window.endswith(b"\r\n0\r\n\r\n"):
            self._finish(None)

    def _finish(self, error: str | None) -> None:
        if self.future is not None and not self.future.done():
            self.result.ended = time.perf_counter()
            self.result.error = error
            self.future.set_result(self.result)


def _request(host: str, port: int, path: str, body: dict[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    return (
        f"POST {path} HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
        f"authorization: Bearer sk-bench\r\naccept: text/event-stream\r\ncontent-length: {len(data)}\r\n\r\n"
    ).encode() + data


@dataclass
class Subject:
    name: str
    port: int
    path: str
    protocol: str  # what the client receives: "chat" or "responses"
    pids: list[int] = field(default_factory=list)

    def body(self, model: str) -> dict[str, Any]:
        if self.protocol == "chat":
            return {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": True}
        return {"model": model, "input": "hi", "stream": True}

    def processes(self) -> list[psutil.Process]:
        found: list[psutil.Process] = []
        for pid in self.pids:
            with contextlib.suppress(psutil.Error):
                parent = psutil.Process(pid)
                found += [parent, *parent.children(recursive=True)]
        return found

    def cpu_seconds(self) -> float:
        total = 0.0
        for process in self.processes():
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
        return total

    def rss(self) -> int:
        total = 0
        for process in self.processes():
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
        return total


async def _stream_once(
    subject: Subject, counter: Counter, connection: _Connection | None, model: str, expected: int
) -> tuple[Result, _Connection]:
    loop = asyncio.get_running_loop()
    marker, end = MARKERS[subject.protocol]
    if connection is None or connection.lost:
        _, connection = await loop.create_connection(
            lambda: _Connection(counter, marker, end), "127.0.0.1", subject.port
        )
    result = await connection.request(_request("127.0.0.1", subject.port, subject.path, subject.body(model)))
    if result.error is None and result.status != 200:
        result.error = f"HTTP {result.status}"
    elif result.error is None and not result.done:
        result.error = "no terminal event"
    elif result.error is None and expected >= 0 and result.deltas != expected:
        result.error = f"{result.deltas} deltas, expected {expected}"
    if result.error is None:
        counter.completed += 1
    return result, connection


async def measure_ttfe(subject: Subject, count: int, chunks: int) -> list[float]:
    """Sequential streams on one connection; the time to the first event of each, in ms."""
    counter = Counter()
    connection = None
    times = []
    for number in range(count + 10):
        result, connection = await _stream_once(subject, counter, connection, f"fast-{chunks}", chunks)
        if result.error is not None:
            raise RuntimeError(f"{subject.name}: TTFE stream failed: {result.error}")
        if number >= 10 and result.first_event is not None:  # the first ten warm the path up
            times.append(result.first_event * 1000)
    if connection is not None and connection.transport is not None:
        connection.transport.close()
    return times


@dataclass
class Point:
    subject: str
    workers: int
    concurrency: int
    seconds: float
    chunks: int
    completed: int
    errors: int
    cpu: float
    error_kinds: dict[str, int]

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.seconds

    @property
    def requests_per_s(self) -> float:
        return self.completed / self.seconds

    @property
    def cpu_per_1k(self) -> float:
        return self.cpu / self.chunks * 1000 if self.chunks else float("nan")


async def measure_throughput(
    subject: Subject, concurrency: int, chunks: int, warmup: float, window: float, workers: int = 1
) -> Point:
    """``concurrency`` clients streaming back to back; what was relayed inside the window."""
    counter = Counter()
    stop = False
    connections: list[_Connection] = []
    window_open = False

    async def client() -> None:
        connection = None
        while not stop:
            try:
                result, connection = await _stream_once(
                    subject, counter, connection, f"fast-{chunks}", chunks
                )
            except OSError as exc:
                counter.error(type(exc).__name__)
                await asyncio.sleep(0.05)
                continue
            if connection not in connections:
                connections.append(connection)
            if result.error is not None and not stop and window_open:
                counter.error(result.error.split(" (")[0])

    tasks = [asyncio.ensure_future(client()) for _ in range(concurrency)]
    # A slow server may take seconds to start 200 streams: the window opens once every client has
    # received a delta (waiting at most 30 s), and after the warm-up.
    deadline = time.perf_counter() + 30
    while counter.flowing < concurrency and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(warmup)
    chunks0, completed0, cpu0 = counter.deltas, counter.completed, subject.cpu_seconds()
    window_open = True
    started = time.perf_counter()
    await asyncio.sleep(window)
    seconds = time.perf_counter() - started
    chunks1, completed1, cpu1 = counter.deltas, counter.completed, subject.cpu_seconds()
    window_open = False
    stop = True
    for connection in connections:
        if connection.transport is not None:
            connection.transport.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await wait_idle(subject)  # the server has noticed the closed streams before the next point
    return Point(
        subject.name,
        workers,
        concurrency,
        seconds,
        chunks1 - chunks0,
        completed1 - completed0,
        counter.errors,
        cpu1 - cpu0,
        dict(counter.error_kinds),
    )


async def measure_memory(subject: Subject, streams: int) -> tuple[float, int, float]:
    """RSS added per open stream (bytes), with ``streams`` slow streams open at once; the streams not
    yet delivering when RSS was read; how long the server stayed busy after the clients left.

    Measured on a server that has only served the TTFE streams, so that earlier peaks of the
    throughput runs do not hide what the open streams take.
    """
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0.5)
    before = subject.rss()
    counter = Counter()
    marker, end = MARKERS[subject.protocol]
    connections = []
    for _ in range(streams):
        _, connection = await loop.create_connection(
            lambda: _Connection(counter, marker, end), "127.0.0.1", subject.port
        )
        connection.request(_request("127.0.0.1", subject.port, subject.path, subject.body("paced-600-100")))
        connections.append(connection)
    deadline = time.perf_counter() + 30  # every stream delivering (30 s at most), then 1 s more
    while counter.flowing < streams and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    during = subject.rss()
    errors = streams - counter.flowing + sum(c.lost for c in connections)
    for connection in connections:
        if connection.transport is not None:
            connection.transport.close()
    busy = await wait_idle(subject)
    return (during - before) / streams, errors, busy


async def wait_idle(subject: Subject, limit: float = 30) -> float:
    """Wait until the server stops working on streams its clients left (CPU under 5% for 1 s).

    A server that does not notice closed clients goes on streaming them; the next measurement would
    pay for it.  Returns how long it took.
    """
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        cpu = subject.cpu_seconds()
        await asyncio.sleep(1.0)
        if subject.cpu_seconds() - cpu < 0.05:
            break
    return time.perf_counter() - started


# -- the servers -----------------------------------------------------------------------------------------


class Servers:
    """The subjects' server processes; all are stopped when the run ends, however it ends."""

    started: list[Servers] = []

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []
        Servers.started.append(self)

    def start(self, name: str, command: list[str], port: int, health: str, **kwargs: Any) -> int:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **kwargs
        )
        self.processes.append(process)
        wait_for_http(port, health, process, timeout=180)
        return process.pid

    def stop(self, pid: int) -> None:
        for process in self.processes:
            if process.pid == pid and process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(5)

    def stop_all(self) -> None:
        for process in self.processes:
            self.stop(process.pid)


def loaded_modules(pid: int) -> dict[str, bool]:
    """Whether the server's processes really run uvloop and httptools (their native modules are mapped)."""
    maps = ""
    with contextlib.suppress(psutil.Error):
        for process in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
            with contextlib.suppress(OSError):
                maps += Path(f"/proc/{process.pid}/maps").read_text()
    return {"uvloop": "/uvloop/loop." in maps, "httptools": "/httptools/parser/" in maps}


def litellm_config(folder: Path, upstream: str) -> Path:
    path = folder / "litellm.yaml"
    path.write_text(
        "model_list:\n"
        '  - model_name: "*"\n'
        "    litellm_params:\n"
        '      model: "openai/*"\n'
        f'      api_base: "{upstream}"\n'
        '      api_key: "sk-bench"\n'
        "      use_chat_completions_api: true\n"
    )
    return path


def start_translator(
    servers: Servers,
    upstream: str,
    workers: int,
    *,
    python: Path = PROJECT_PYTHON,
    name: str = "translator",
    config: Path | None = None,
) -> Subject:
    """``translator serve`` under ``python`` (another checkout's interpreter for ``--baseline``), with
    ``config`` (``--metrics-off``: a file saying ``metrics = false``)."""
    port = free_port()
    command = [str(python), "-m", "translator", "serve", "--upstream", upstream, "--port", str(port)]
    command += ["--workers", str(workers), "--store", "memory"]
    if config is not None:
        command += ["--config", str(config)]
    pid = servers.start(f"{name}-w{workers}", command, port, "/health")
    return Subject(name, port, "/v1/responses", "responses", [pid])


def start_litellm(servers: Servers, config: Path, workers: int) -> Subject:
    port = free_port()
    command = [str(BENCH_VENV / "bin" / "litellm"), "--config", str(config), "--port", str(port)]
    command += ["--num_workers", str(workers)]
    pid = servers.start(f"litellm-w{workers}", command, port, "/health/liveliness", cwd=config.parent)
    return Subject("litellm", port, "/v1/responses", "responses", [pid])


# -- the run ---------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def machine() -> str:
    cpu = "unknown cpu"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = psutil.virtual_memory().total / 2**30
    return f"{cpu}, {psutil.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}"


def versions() -> str:
    def version(python: Path, package: str) -> str:
        if not python.exists():
            return "not installed"
        code = f"import importlib.metadata as m; print(m.version({package!r}))"
        out = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
        return out.stdout.strip() or "?"

    project = PROJECT_PYTHON
    bench = BENCH_VENV / "bin" / "python"
    return (
        f"litellm {version(bench, 'litellm')}; translator uvicorn {version(project, 'uvicorn')}, "
        f"httpx {version(project, 'httpx')}, uvloop {version(project, 'uvloop')}, "
        f"httptools {version(project, 'httptools')}"
    )


async def run(args: argparse.Namespace) -> None:
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        folder = Path(tmp)
        servers = Servers(folder)
        try:
            up_port = free_port()
            # the fake upstream needs only the standard library: the project's interpreter will do
            # when the LiteLLM virtualenv is not there (--no-litellm)
            bench = BENCH_VENV / "bin" / "python"
            bench_python = str(bench if bench.exists() else PROJECT_PYTHON)
            up_pid = servers.start(
                "upstream",
                [bench_python, str(FAKE_UPSTREAM), "--port", str(up_port)],
                up_port,
                "/stats",
            )
            upstream = f"http://127.0.0.1:{up_port}/v1"
            direct = Subject("direct", up_port, "/v1/chat/completions", "chat", [up_pid])
            subjects = [direct, start_translator(servers, upstream, 1)]
            config = litellm_config(folder, upstream)
            if not args.no_litellm:
                subjects.append(start_litellm(servers, config, 1))
            if args.baseline:
                subjects.append(start_translator(servers, upstream, 1, python=args.baseline, name="before"))
            if args.metrics_off:
                off = folder / "metrics-off.toml"
                off.write_text("[server]\nmetrics = false\n")
                subjects.append(start_translator(servers, upstream, 1, name="metrics-off", config=off))
            report: dict[str, Any] = {"ttfe": {}, "points": [], "memory": {}, "modules": {}}
            for subject in subjects[1:]:
                report["modules"][subject.name] = loaded_modules(subject.pids[0])
            for subject in subjects:
                report["ttfe"][subject.name] = await measure_ttfe(subject, args.ttfe_count, 20)
                print(f"  ttfe {subject.name}: p50 {statistics.median(report['ttfe'][subject.name]):.2f} ms")
                if subject is not direct:
                    report["memory"][subject.name] = await measure_memory(subject, args.memory_streams)
                    print(
                        f"  memory {subject.name}: {report['memory'][subject.name][0] / 1024:.1f} KB/stream"
                    )
            for _ in range(args.rounds):  # rounds interleave the subjects: drift hits each alike
                for subject in subjects:
                    for concurrency in concurrencies:
                        point = await measure_throughput(
                            subject, concurrency, args.chunks, args.warmup, args.window
                        )
                        report["points"].append(point)
                        print(
                            f"  {subject.name} x{concurrency}: {point.chunks_per_s:,.0f} chunks/s,"
                            f" {point.errors} errors"
                        )
            if args.workers2:
                top = max(concurrencies)
                for subject in subjects[1:]:
                    if subject.name in ("before", "metrics-off") or (
                        subject.name == "litellm" and not args.litellm_workers2
                    ):
                        continue
                    servers.stop(subject.pids[0])
                    try:
                        two = (
                            start_translator(servers, upstream, 2)
                            if subject.name == "translator"
                            else start_litellm(servers, config, 2)
                        )
                    except RuntimeError as exc:
                        print(f"  {subject.name}, 2 workers: not measured ({exc})")
                        continue
                    point = await measure_throughput(
                        two, top, args.chunks, args.warmup, args.window, workers=2
                    )
                    report["points"].append(point)
                    print(f"  {two.name} x{top}, 2 workers: {point.chunks_per_s:,.0f} chunks/s")
                    servers.stop(two.pids[0])
        finally:
            servers.stop_all()
    report["seconds"] = time.monotonic() - started
    text = render(report, args)
    print(text)
    compared = "gateway_before_after.txt" if args.baseline else "gateway_metrics_off.txt"
    (HERE / (compared if args.baseline or args.metrics_off else "gateway_results.txt")).write_text(text)
    if not args.no_plot and not args.baseline and not args.metrics_off:
        plot(report, HERE / "gateway_bench.png")
        print(f"plot: {HERE / 'gateway_bench.png'}")


def render(report: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [
        f"bench-gateway {time.strftime('%Y-%m-%d')}  {machine()}",
        versions(),
        f"upstream streams: fast-{args.chunks} ({args.chunks} content chunks, as fast as possible); "
        f"window {args.window:g} s after {args.warmup:g} s warm-up",
        "server modules in use: "
        + ", ".join(
            f"{name}: " + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in mods.items())
            for name, mods in report["modules"].items()
        ),
        "",
        f"time to first event, {args.ttfe_count} sequential streams (ms)",
        f"{'subject':<12}{'p50':>8}{'p99':>8}{'added p50':>11}{'added p99':>11}",
    ]
    ttfe = report["ttfe"]
    base50 = statistics.median(ttfe["direct"])
    base99 = percentile(ttfe["direct"], 99)
    for name, values in ttfe.items():
        p50, p99 = statistics.median(values), percentile(values, 99)
        added = "" if name == "direct" else f"{p50 - base50:>11.2f}{p99 - base99:>11.2f}"
        lines.append(f"{name:<12}{p50:>8.2f}{p99:>8.2f}{added}")
    lines += [
        "",
        "throughput",
        f"{'subject':<12}{'workers':>8}{'streams':>8}{'chunks/s':>11}{'req/s':>9}"
        f"{'CPU s/1k chunks':>17}{'errors':>8}",
    ]
    for point in report["points"]:
        lines.append(
            f"{point.subject:<12}{point.workers:>8}{point.concurrency:>8}{point.chunks_per_s:>11,.0f}"
            f"{point.requests_per_s:>9,.1f}{point.cpu_per_1k:>17.3f}{point.errors:>8}"
            + (f"  {point.error_kinds}" if point.error_kinds else "")
        )
    lines.append("(CPU of direct: the fake upstream's own, producing the chunks)")
    lines += ["", "resident memory per open stream"]
    for name, (per_stream, errors, busy) in report["memory"].items():
        lines.append(
            f"{name:<12}{per_stream / 1024:>8.1f} KB  ({args.memory_streams} streams open,"
            f" {errors} not yet streaming when measured; CPU busy for {busy:.0f} s after the clients"
            f" closed{' or longer' if busy >= 30 else ''})"
        )
    points = {(p.subject, p.workers, p.concurrency): p for p in report["points"]}
    lines += ["", "targets"]
    ours_added = statistics.median(ttfe["translator"]) - base50
    lines.append(f"added p50 TTFE at 1 stream: {ours_added:.2f} ms (target < 2 ms): {_met(ours_added < 2)}")
    top = max(int(c) for c in args.concurrency.split(","))
    ours = points.get(("translator", 1, top))
    theirs = points.get(("litellm", 1, top))
    if ours and theirs:
        ratio = ours.chunks_per_s / theirs.chunks_per_s
        lines.append(
            f"chunks/s at {top} streams, 1 worker: translator / litellm = {ratio:.1f}x (target >= 3x): "
            f"{_met(ratio >= 3)}; translator errors {ours.errors} (target 0): {_met(ours.errors == 0)}"
        )
    if "translator" in report["memory"]:
        kb = report["memory"]["translator"][0] / 1024
        lines.append(f"memory per open stream: {kb:.1f} KB (target < 100 KB): {_met(kb < 100)}")
    for name in ("translator", "litellm"):
        one, two = points.get((name, 1, top)), points.get((name, 2, top))
        if one and two:
            lines.append(
                f"{name}: 2 workers / 1 worker at {top} streams = {two.chunks_per_s / one.chunks_per_s:.2f}x"
            )
    direct = points.get(("direct", 1, top))
    if direct and ours:
        lines.append(
            f"translator / direct chunks/s at {top} streams = {ours.chunks_per_s / direct.chunks_per_s:.2f}"
        )
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    if "before" in ttfe:
        lines += ["", *versus(report, "before", "--baseline (before)", concurrencies=concurrencies)]
    if "metrics-off" in ttfe:
        lines += ["", *versus(report, "metrics-off", "metrics = false", concurrencies=concurrencies)]
    lines.append(f"total {report['seconds']:.0f} s")
    return "\n".join(lines) + "\n"


def versus(report: dict[str, Any], other: str, title: str, *, concurrencies: list[int]) -> list[str]:
    """``--baseline``, ``--metrics-off``: this checkout as it runs against ``other``, medians over the
    rounds, and their ratio."""
    lines = [f"this checkout (translator) / {title}, medians over the rounds"]
    ttfe = report["ttfe"]
    now, then = statistics.median(ttfe["translator"]), statistics.median(ttfe[other])
    lines.append(f"TTFE p50: {now:.2f} ms / {then:.2f} ms = {now / then:.3f}")
    for concurrency in concurrencies:
        rates = {
            name: statistics.median(
                p.chunks_per_s
                for p in report["points"]
                if p.subject == name and p.workers == 1 and p.concurrency == concurrency
            )
            for name in ("translator", other)
        }
        cpu = {
            name: statistics.median(
                p.cpu_per_1k
                for p in report["points"]
                if p.subject == name and p.workers == 1 and p.concurrency == concurrency
            )
            for name in ("translator", other)
        }
        lines.append(
            f"{concurrency} streams: chunks/s {rates['translator']:,.0f} / {rates[other]:,.0f}"
            f" = {rates['translator'] / rates[other]:.3f}; CPU s/1k chunks {cpu['translator']:.3f}"
            f" / {cpu[other]:.3f} = {cpu['translator'] / cpu[other]:.3f}"
        )
    if other in report["memory"] and "translator" in report["memory"]:
        now_kb, then_kb = report["memory"]["translator"][0] / 1024, report["memory"][other][0] / 1024
        lines.append(f"memory per open stream: {now_kb:.1f} KB / {then_kb:.1f} KB")
    return lines


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, values in report["ttfe"].items():
        ordered = sorted(values)
        left.plot(ordered, [i / len(ordered) for i in range(1, len(ordered) + 1)], label=name)
    left.set_xscale("log")
    left.set_xlabel("time to first event (ms, log scale)")
    left.set_ylabel("fraction of streams")
    left.set_title("Time to first event, 1 stream at a time")
    left.legend()
    left.grid(True, which="both", alpha=0.3)
    for name in report["ttfe"]:
        points = [p for p in report["points"] if p.subject == name and p.workers == 1]
        right.plot([p.concurrency for p in points], [p.chunks_per_s for p in points], marker="o", label=name)
        two = [p for p in report["points"] if p.subject == name and p.workers == 2]
        if two:
            right.plot(
                [p.concurrency for p in two],
                [p.chunks_per_s for p in two],
                marker="s",
                linestyle="none",
                label=f"{name}, 2 workers",
            )
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("concurrent streams")
    right.set_ylabel("relayed chunks/s (log scale)")
    right.set_title("Throughput (one worker process unless marked)")
    right.legend()
    right.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description="gateway benchmark: direct vs translator vs LiteLLM")
    parser.add_argument("--chunks", type=int, default=200, help="content chunks per upstream stream")
    parser.add_argument("--concurrency", default="1,50,200")
    parser.add_argument("--window", type=float, default=4.0, help="seconds measured per point")
    parser.add_argument("--warmup", type=float, default=1.5, help="seconds before each window")
    parser.add_argument("--ttfe-count", type=int, default=200)
    parser.add_argument("--memory-streams", type=int, default=200)
    parser.add_argument("--no-workers2", dest="workers2", action="store_false")
    parser.add_argument("--no-litellm", action="store_true")
    parser.add_argument("--litellm-workers2", action="store_true", help="also LiteLLM with 2 workers (slow)")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="the Python of another checkout's virtualenv (e.g. ../base/.venv/bin/python): its "
        "`translator serve` is measured beside this one's as `before`, and the ratios printed",
    )
    parser.add_argument(
        "--metrics-off",
        action="store_true",
        help="also `translator serve` with [server] metrics = false (`metrics-off`), and the ratios printed",
    )
    parser.add_argument("--rounds", type=int, default=1, help="throughput rounds, interleaving the subjects")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        import uvloop

        uvloop.run(run(args))
    except ImportError:
        asyncio.run(run(args))
    finally:
        for servers in Servers.started:
            servers.stop_all()


if __name__ == "__main__":
    main()
