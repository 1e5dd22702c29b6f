"""A Chat Completions server on loopback whose answers a test scripts, for the real Codex CLI's tests.

The standard library's threading HTTP server: request ``n`` (from 1) with body ``body`` gets the SSE
frames ``reply(n, body)``, written one by one.  With ``close=True`` each answer ends its connection and
carries no length, so frames that stop short show the client a cut stream.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

__all__ = ["ScriptedChat"]

Reply = Callable[[int, dict[str, Any]], list[bytes]]


class ScriptedChat:
    """See the module docstring; ``requests`` holds every request body, parsed, in order."""

    def __init__(self, reply: Reply, *, close: bool = False) -> None:
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = orjson.loads(self.rfile.read(int(self.headers["content-length"])))
                server.requests.append(body)
                frames = reply(len(server.requests), body)
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                if close:
                    self.send_header("connection", "close")
                else:
                    self.send_header("content-length", str(sum(len(f) for f in frames)))
                self.end_headers()
                for frame in frames:
                    self.wfile.write(frame)
                    self.wfile.flush()
                self.close_connection = close

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedChat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
