"""A fast fake Chat Completions upstream: a plain asyncio HTTP/1.1 server (uvloop when installed).

Used by ``make bench-gateway`` (every subject talks to the same one) and by the gateway's load and
fault tests (``tests/gateway/test_gateway_load.py``), always as its own process on loopback, so that its CPU
time is not counted as the gateway's and it can be killed mid-stream::

    python benchmarks/fake_upstream.py --port 0        # prints "port N" on stdout once listening

What ``POST .../chat/completions`` streams is chosen by the request's ``model``:

======================  =========================================================================
model                   answer (HTTP/1.1 chunked, ``text/event-stream``)
======================  =========================================================================
``fast-<n>``            a role chunk, ``n`` content chunks, a finish chunk, a usage chunk and
                        ``[DONE]``, written as fast as the connection takes them
``paced-<n>-<ms>``      the same, ``ms`` milliseconds between content chunks
``big-<bytes>``         content chunks of 4 KiB of text until about ``bytes`` were offered,
                        written only as fast as the gateway reads them (flow control)
``stall-<n>``           the first ``n`` content chunks, then silence until the client goes away
``html``                200 with an HTML error page (``text/html``)
``badjson``             a valid first chunk, then a ``data:`` frame that is not JSON
``binary``              200 ``text/event-stream`` with 2 KiB of binary bytes
======================  =========================================================================

Anything else is answered like ``fast-8``.  ``GET /stats`` answers the counters (requests started,
streams finished, streams the client closed before their end, open connections, streams open now
and at most, body bytes written); ``GET /v1/models`` a one-model list.  :func:`chat_frames` builds
the exact bytes a ``fast``/``paced``/``stall`` stream sends, so a test can translate them offline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict, dataclass
from typing import Any

CREATED = 1_700_000_000
WORDS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa")
BIG_PIECE = 4096
_SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)


def _frame(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{model}",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "system_fingerprint": None,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def chat_frames(model: str, n: int) -> list[bytes]:
    """The SSE frames of a ``fast-<n>`` (or ``paced``/``stall``) stream for ``model``: deterministic."""
    frames = [_frame(_chunk(model, {"role": "assistant", "content": ""}))]
    frames += [_frame(_chunk(model, {"content": f" {WORDS[i % len(WORDS)]}{i}"})) for i in range(n)]
    frames.append(_frame(_chunk(model, {}, "stop")))
    usage = {"prompt_tokens": 12, "completion_tokens": n, "total_tokens": 12 + n}
    frames.append(_frame({**_chunk(model, {}), "choices": [], "usage": usage}))
    frames.append(b"data: [DONE]\n\n")
    return frames


def _http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


@dataclass
class Stats:
    requests: int = 0
    finished: int = 0
    closed_early: int = 0
    open_connections: int = 0
    open_streams: int = 0
    peak_streams: int = 0
    bytes_written: int = 0


class _Connection(asyncio.Protocol):
    """One client connection: requests are read one after the other (keep-alive), answers streamed."""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.busy = False
        self.writable = asyncio.Event()
        self.writable.set()
        self.lost = asyncio.Event()

    # -- asyncio.Protocol --------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.stats.open_connections += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.stats.open_connections -= 1
        self.writable.set()
        self.lost.set()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._next_request()

    # -- requests ----------------------------------------------------------------------------------

    def _next_request(self) -> None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        method, path, _ = head[0].split(" ", 2)
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        self.busy = True
        self.task = asyncio.ensure_future(self._serve(method, path, body))

    async def _serve(self, method: str, path: str, body: bytes) -> None:
        try:
            if method == "GET" and path.endswith("/stats"):
                self._json(200, json.dumps(asdict(self.stats)).encode())
            elif method == "GET" and path.endswith("/models"):
                models = {"object": "list", "data": [{"id": "fake", "object": "model", "owned_by": "x"}]}
                self._json(200, json.dumps(models).encode())
            elif method == "POST" and path.endswith("/chat/completions"):
                self.stats.requests += 1
                model = str(json.loads(body or b"{}").get("model", ""))
                stats = self.stats
                stats.open_streams += 1
                stats.peak_streams = max(stats.peak_streams, stats.open_streams)
                try:
                    await self._stream(model)
                finally:
                    stats.open_streams -= 1
            else:
                self._json(404, b'{"error":{"message":"not found","type":"invalid_request_error"}}')
        finally:
            self.busy = False
        if not self.closed and self.buffer:
            self._next_request()

    def _json(self, status: int, body: bytes) -> None:
        assert self.transport is not None
        reason = b"OK" if status == 200 else b"Not Found"
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
            % (status, reason, len(body), body)
        )

    def _write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)
        self.stats.bytes_written += len(data)

    async def _stream(self, model: str) -> None:
        assert self.transport is not None
        kind, *args = model.split("-")
        if kind == "html":
            page = b"<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"
            self.transport.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: %d\r\n\r\n%s"
                % (len(page), page)
            )
            self.stats.finished += 1
            return
        self.transport.write(_SSE_HEAD)
        if kind == "badjson":
            frames = [*chat_frames(model, 2)[:2], b"data: {this is not json\n\n"]
        elif kind == "binary":
            frames = [bytes(range(256)) * 8]
        elif kind == "big":
            await self._big(model, int(args[0]))
            return
        else:
            n = int(args[0]) if kind in ("fast", "paced", "stall") and args else 8
            frames = chat_frames(model, n)
            if kind == "stall":
                frames = frames[: n + 1]
        delay = int(args[1]) / 1000 if kind == "paced" else 0.0
        for number, frame in enumerate(frames):
            if self.closed:
                self.stats.closed_early += 1
                return
            self._write(_http_chunk(frame))
            if delay and 0 < number <= len(frames) - 4:
                await asyncio.sleep(delay)
            elif number % 16 == 15:  # let other streams interleave, and notice a closed connection
                await asyncio.sleep(0)
            if not self.writable.is_set():
                await self.writable.wait()
        if kind == "stall":
            await self.lost.wait()
            self.stats.closed_early += 1
            return
        if self.closed:
            self.stats.closed_early += 1
            return
        self.transport.write(b"0\r\n\r\n")
        self.stats.finished += 1

    async def _big(self, model: str, total: int) -> None:
        frames = chat_frames(model, 0)
        content = _frame(_chunk(model, {"content": "a" * (BIG_PIECE - 1) + " "}))
        self._write(_http_chunk(frames[0]))
        sent = 0
        while sent < total:
            await self.writable.wait()
            if self.closed:
                self.stats.closed_early += 1
                return
            self._write(_http_chunk(content))
            sent += len(content)
            await asyncio.sleep(0)
        for frame in frames[1:]:
            self._write(_http_chunk(frame))
        self.transport.write(b"0\r\n\r\n")  # type: ignore[union-attr]
        self.stats.finished += 1


async def serve(host: str, port: int) -> None:
    stats = Stats()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(stats), host, port, backlog=4096)
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    try:
        runner(serve(args.host, args.port))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
