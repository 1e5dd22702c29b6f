"""The Responses WebSocket under load (``make bench-websocket``): uvicorn's WebSocket implementations side by
side, and a 20-turn agent loop over the socket against the same loop over HTTP.

One machine, one fake chat upstream (``tests/support/fake_upstream.py``, its own process), the gateway as
its own process (uvicorn, uvloop, httptools, the gateway's own WebSocket options, ``--store memory``), the
clients in this process (the ``websockets`` asyncio client for the socket, the ``openai`` SDK over httpx
for HTTP).

Part 1, per implementation (``websockets``, ``websockets-sansio``, ``wsproto``):

* one socket, 200 sequential responses of ``fast-50`` (50 content chunks): time from the
  ``response.create`` written to ``response.completed`` read, p50/p99;
* 100 sockets at once, each 10 responses of ``fast-50``: events per second received, and the gateway's
  CPU seconds per 10,000 events (psutil, user+system);
* 500 sockets open and idle after one response each: (RSS with them open - RSS before) / 500.

Part 2, the agent loop: 20 turns, each a streamed response whose upstream stream is a recorded tool call
(``openai__parallel_tool_calls_with_usage.sse``), then the next turn sending the tool outputs with
``previous_response_id``: over one socket (``responses.connect()`` semantics, raw messages) and over HTTP
(``POST /v1/responses`` with ``stream: true`` on one keep-alive connection), turn time p50/p99 and the
difference.  Both through the same gateway and the same upstream, so the difference is the transport.

Output: a table on stdout, also written to ``benchmarks/websocket_results.txt`` (or ``--output``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import websockets.asyncio.client

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from support.fake_upstream import UpstreamProcess  # noqa: E402
from support.net import free_port, wait_for_http  # noqa: E402

HERE = ROOT / "benchmarks"
IMPLEMENTATIONS = ("websockets", "websockets-sansio", "wsproto")
TOOL_STREAM = "replay:chat/openai__parallel_tool_calls_with_usage.sse"
#: The client key every request carries (the gateway keeps each key's responses apart, so it needs one).
AUTH = {"authorization": "Bearer sk-bench"}
CORPUS = Path(os.environ.get("TRANSLATOR_CORPUS", ROOT.parent / "shared" / "corpus"))

_SERVE = """
import sys, uvicorn
from translator.gateway.app import Gateway
from translator.gateway.config import load_config
from translator.gateway.server import websocket_options, _bound_request_heads
config = load_config(upstream=sys.argv[1], store="memory", port=int(sys.argv[2]))
options = {**websocket_options(config), "ws": sys.argv[3], **_bound_request_heads(config)}
uvicorn.run(Gateway(config), host="127.0.0.1", port=config.port, log_level="warning", lifespan="on",
            loop="uvloop", access_log=False, **options)
"""


class GatewayProcess:
    def __init__(self, upstream: str, implementation: str) -> None:
        self.port = free_port()
        command = [sys.executable, "-c", _SERVE, upstream, str(self.port), implementation]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_http(self.port, "/health", self.process, 30)
        self.ps = psutil.Process(self.process.pid)
        self.url = f"ws://127.0.0.1:{self.port}/v1/responses"
        self.http = f"http://127.0.0.1:{self.port}/v1"

    def cpu(self) -> float:
        times = self.ps.cpu_times()
        return float(times.user + times.system)

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


async def one_response(ws: Any, body: dict[str, Any]) -> tuple[float, int, dict[str, Any]]:
    """Send one ``response.create``; (seconds to its terminal event, events read, final response)."""
    started = time.perf_counter()
    await ws.send(json.dumps({"type": "response.create", **body}))
    count = 0
    while True:
        event = json.loads(await ws.recv())
        count += 1
        if event["type"] in ("response.completed", "response.incomplete", "response.failed"):
            return time.perf_counter() - started, count, event["response"]
        if event["type"] == "error":
            raise RuntimeError(event)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def implementation(upstream: str, name: str, sockets: int, idle: int) -> dict[str, Any]:
    gateway = GatewayProcess(upstream, name)
    try:
        async with websockets.asyncio.client.connect(
            gateway.url, max_size=None, additional_headers=AUTH
        ) as ws:
            for _ in range(20):  # warm-up
                await one_response(ws, {"model": "fast-50", "input": "x"})
            latencies = [(await one_response(ws, {"model": "fast-50", "input": "x"}))[0] for _ in range(200)]

        async def client() -> int:
            async with websockets.asyncio.client.connect(
                gateway.url, max_size=None, additional_headers=AUTH
            ) as ws:
                return sum(
                    [(await one_response(ws, {"model": "fast-50", "input": "x"}))[1] for _ in range(10)]
                )

        cpu, started = gateway.cpu(), time.perf_counter()
        events = sum(await asyncio.gather(*(client() for _ in range(sockets))))
        elapsed, cpu_used = time.perf_counter() - started, gateway.cpu() - cpu

        before = gateway.rss()
        opened = []
        for _ in range(idle):
            ws = await websockets.asyncio.client.connect(gateway.url, max_size=None, additional_headers=AUTH)
            await one_response(ws, {"model": "fast-5", "input": "x"})
            opened.append(ws)
        await asyncio.sleep(1)
        per_socket = (gateway.rss() - before) / idle
        for ws in opened:
            await ws.close()
        return {
            "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": pct(latencies, 99) * 1000,
            "events_per_s": events / elapsed,
            "cpu_per_10k_events": cpu_used / events * 10_000,
            "rss_per_idle_socket_kib": per_socket / 1024,
        }
    finally:
        gateway.stop()


async def agent_loop_socket(gateway: GatewayProcess, turns: int) -> list[float]:
    times = []
    async with websockets.asyncio.client.connect(gateway.url, max_size=None, additional_headers=AUTH) as ws:
        body: dict[str, Any] = {"model": TOOL_STREAM, "input": "start", "tools": TOOLS}
        for _ in range(turns):
            took, _, final = await one_response(ws, body)
            times.append(took)
            body = {
                "model": TOOL_STREAM,
                "tools": TOOLS,
                "previous_response_id": final["id"],
                "input": outputs(final),
            }
    return times


def agent_loop_http(gateway: GatewayProcess, turns: int) -> list[float]:
    times = []
    with httpx.Client(base_url=gateway.http, timeout=60, headers=AUTH) as client:
        body: dict[str, Any] = {"model": TOOL_STREAM, "input": "start", "tools": TOOLS, "stream": True}
        for _ in range(turns):
            started = time.perf_counter()
            final: dict[str, Any] = {}
            with client.stream("POST", "/responses", json=body) as answer:
                for line in answer.iter_lines():
                    if line.startswith("data: ") and '"response.completed"' in line:
                        final = json.loads(line[6:])["response"]
            times.append(time.perf_counter() - started)
            body = {
                "model": TOOL_STREAM,
                "tools": TOOLS,
                "stream": True,
                "previous_response_id": final["id"],
                "input": outputs(final),
            }
    return times


def agent_loop_direct(upstream: str, turns: int) -> list[float]:
    """The floor: the same streams read straight from the fake upstream (Chat), no gateway."""
    times = []
    with httpx.Client(base_url=upstream, timeout=60) as client:
        body = {"model": TOOL_STREAM, "messages": [{"role": "user", "content": "x"}], "stream": True}
        for _ in range(turns):
            started = time.perf_counter()
            with client.stream("POST", "/chat/completions", json=body) as answer:
                for line in answer.iter_lines():
                    if line == "data: [DONE]":
                        break
            times.append(time.perf_counter() - started)
    return times


TOOLS = [{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}]


def outputs(final: dict[str, Any]) -> list[dict[str, Any]]:
    calls = [item for item in final["output"] if item["type"] == "function_call"]
    return [{"type": "function_call_output", "call_id": call["call_id"], "output": "21 C"} for call in calls]


async def agent_loops(upstream: str, name: str, turns: int, rounds: int) -> dict[str, list[float]]:
    gateway = GatewayProcess(upstream, name)
    try:
        socket_times: list[float] = []
        http_times: list[float] = []
        direct_times: list[float] = []
        for _ in range(rounds):  # interleaved, so that drift hits each alike
            socket_times += await agent_loop_socket(gateway, turns)
            http_times += await asyncio.to_thread(agent_loop_http, gateway, turns)
            direct_times += await asyncio.to_thread(agent_loop_direct, upstream, turns)
        return {"socket": socket_times, "http": http_times, "direct": direct_times}
    finally:
        gateway.stop()


async def run(args: argparse.Namespace) -> str:
    upstream = UpstreamProcess(CORPUS)
    lines = []
    try:
        lines.append(
            f"{'implementation':<20}{'p50 ms':>9}{'p99 ms':>9}{'events/s':>11}"
            f"{'CPU s/10k ev':>14}{'KiB/idle socket':>17}"
        )
        for name in args.implementations:
            r = await implementation(upstream.url, name, args.sockets, args.idle)
            lines.append(
                f"{name:<20}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['events_per_s']:>11.0f}"
                f"{r['cpu_per_10k_events']:>14.3f}{r['rss_per_idle_socket_kib']:>17.1f}"
            )
            print(lines[-1], flush=True)
        loops = await agent_loops(upstream.url, args.implementations[0], 20, args.rounds)
        s, h, d = loops["socket"], loops["http"], loops["direct"]
        floor50, floor99 = statistics.median(d) * 1000, pct(d, 99) * 1000
        lines.append("")
        lines.append(f"20-turn agent loop ({args.rounds} rounds, tool call per turn), turn time in ms:")
        lines.append(f"{'transport':<28}{'p50':>9}{'p99':>9}{'added p50':>11}{'added p99':>11}")
        for name, times in (("websocket (gateway)", s), ("http (gateway)", h)):
            p50, p99 = statistics.median(times) * 1000, pct(times, 99) * 1000
            lines.append(f"{name:<28}{p50:>9.2f}{p99:>9.2f}{p50 - floor50:>11.2f}{p99 - floor99:>11.2f}")
        lines.append(f"{'direct (chat, no gateway)':<28}{floor50:>9.2f}{floor99:>9.2f}")
    finally:
        upstream.kill()
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--implementations", nargs="+", default=list(IMPLEMENTATIONS))
    parser.add_argument("--sockets", type=int, default=100)
    parser.add_argument("--idle", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--output", type=Path, default=HERE / "websocket_results.txt", help="where the table goes too"
    )
    args = parser.parse_args()
    report = asyncio.run(run(args))
    print(report)
    args.output.write_text(report + "\n")


if __name__ == "__main__":
    main()
