"""The gateway's upstream HTTP client alone: httpx against aiohttp (part of ``make bench-gateway``).

Both read the same ``fast-200`` chat streams (200 content chunks, as fast as possible) from
``tests/support/fake_upstream.py`` (its own process), the way ``translator.gateway.upstream_client`` reads
them: one streamed POST per stream, the body consumed as it arrives (httpx: ``aiter_bytes()``;
aiohttp: ``content.readany()``).  Each client's pool is first grown by a burst of 200 concurrent
streams, as it is in a gateway in use.  Figures: CPU microseconds (this process's
``time.process_time()``) per upstream chunk at 1, 50 and 200 concurrent streams, and how many pieces
each client hands over per stream (every piece costs the gateway one ``feed()`` and one ``send()``).
Rounds alternate between the two clients, so that a busy machine weighs on both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from support.fake_upstream import UpstreamProcess  # noqa: E402

CHUNKS = 200


def _body(model: str) -> bytes:
    return orjson.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": True})


async def _client(read_one: Callable[[str], Awaitable[int]], count: int, pieces: list[int]) -> None:
    for _ in range(count):
        pieces.append(await read_one(f"fast-{CHUNKS}"))


async def _measure(read_one: Callable[[str], Awaitable[int]]) -> dict[int, tuple[float, float]]:
    await asyncio.gather(*(read_one("paced-5-100") for _ in range(200)))  # grow the pool
    figures = {}
    for concurrency in (1, 50, 200):
        per_client = max(1, 400 // concurrency)
        pieces: list[int] = []

        cpu = time.process_time()
        await asyncio.gather(*(_client(read_one, per_client, pieces) for _ in range(concurrency)))
        cpu = time.process_time() - cpu
        figures[concurrency] = (cpu / (len(pieces) * CHUNKS) * 1e6, statistics.mean(pieces))
    return figures


async def with_httpx(url: str) -> dict[int, tuple[float, float]]:
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
    async with httpx.AsyncClient(limits=limits, timeout=60, trust_env=False) as client:

        async def read_one(model: str) -> int:
            request = client.build_request(
                "POST", url, content=_body(model), headers={"content-type": "application/json"}
            )
            response = await client.send(request, stream=True)
            pieces = 0
            async for _ in response.aiter_bytes():
                pieces += 1
            await response.aclose()
            return pieces

        return await _measure(read_one)


async def with_aiohttp(url: str) -> dict[int, tuple[float, float]]:
    connector = aiohttp.TCPConnector(limit=1000, limit_per_host=0)
    async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:

        async def read_one(model: str) -> int:
            response = await session.post(
                url, data=_body(model), headers={"content-type": "application/json"}
            )
            pieces = 0
            while await response.content.readany():
                pieces += 1
            response.release()
            return pieces

        return await _measure(read_one)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    upstream = UpstreamProcess()
    try:
        url = f"{upstream.url}/chat/completions"
        results: dict[str, list[dict[int, tuple[float, float]]]] = {"httpx": [], "aiohttp": []}
        for _ in range(args.rounds):
            results["httpx"].append(asyncio.run(with_httpx(url)))
            results["aiohttp"].append(asyncio.run(with_aiohttp(url)))
    finally:
        upstream.kill()
    print(f"upstream client alone, {args.rounds} alternating rounds, medians (fast-{CHUNKS} streams)")
    print(f"{'client':<10}{'streams':>8}{'CPU us/chunk':>14}{'pieces/stream':>15}")
    medians = {}
    for name, rounds in results.items():
        for concurrency in (1, 50, 200):
            us = statistics.median(r[concurrency][0] for r in rounds)
            pieces = statistics.median(r[concurrency][1] for r in rounds)
            medians[name, concurrency] = us
            print(f"{name:<10}{concurrency:>8}{us:>14.1f}{pieces:>15.1f}")
    ratios = ", ".join(
        f"{c} streams {medians['httpx', c] / medians['aiohttp', c]:.1f}x" for c in (1, 50, 200)
    )
    print(f"httpx / aiohttp CPU per chunk: {ratios}")


if __name__ == "__main__":
    main()
