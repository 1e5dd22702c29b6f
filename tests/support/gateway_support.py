"""Real servers on loopback for the gateway tests: a scripted fake upstream and the gateway under uvicorn.

:class:`FakeUpstream` is a real HTTP/1.1 server (stdlib, one thread per connection) that speaks both
protocols.  What it answers is chosen by the request's ``model``, so one server serves every scenario:

=================================  ====================================================================
model                              answer
=================================  ====================================================================
``replay:<corpus file>``           the recorded stream (``chat/x.sse``, ``responses/x.sse``), one frame
                                   per HTTP chunk; a recorded object (``chat_json/x.json``) as JSON
``replay:<file>@<ms>``             the same, ``ms`` milliseconds between frames
``cut:<file>:<n>``                 the first ``n`` frames, half of the next, then the connection drops
``stall:<file>:<n>``               the first ``n`` frames, then silence (until the client goes away)
``headers-then-stall``             200 and SSE headers, then nothing
``status:<code>:<json file>``      that HTTP status with the body of ``chat_json/<json file>`` (or a
                                   literal JSON body after ``status:<code>:=``)
``garbage:<kind>``                 200 with ``html`` (an HTML page), ``badjson`` (an SSE frame whose
                                   data is not JSON) or ``binary`` bytes
``slow-headers:<ms>``              waits ``ms`` before answering with a short stream
``echo-auth-error``                401 quoting the key it was sent, as some providers do
anything else                      a short text stream naming the model (chat or responses)
=================================  ====================================================================

Every request is recorded (path, headers, body) with the time the server saw the client close it.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson

from .corpus import CORPUS


@dataclass
class Seen:
    """One request the fake upstream received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    closed_at: float | None = None  # when the client was seen closing the connection mid-answer
    finished: bool = False  # the whole answer was written
    started: float = field(default_factory=time.monotonic)


def split_frames(data: bytes) -> list[bytes]:
    """An SSE recording cut into frames (each ends with its blank line)."""
    data = data.replace(b"\r\n", b"\n")
    return [frame + b"\n\n" for frame in data.split(b"\n\n") if frame.strip()]


def text_stream_chat(model: str, text: str) -> list[bytes]:
    head = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000, "model": model}
    chunks = [
        {
            **head,
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
        },
        *(
            {**head, "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
            for word in text.replace(" ", "\0 ").split("\0")
        ),
        {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {**head, "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}},
    ]
    return [b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks] + [b"data: [DONE]\n\n"]


#: The one response a fake Responses upstream has stored of its own.
UPSTREAM_RESPONSE_ID = "resp_kept_by_the_upstream"


def text_stream_responses(model: str, text: str) -> list[bytes]:
    """A short Responses stream answering ``text``, written the way OpenAI streams it."""
    from translator import translate_chat_stream

    events = translate_chat_stream(text_stream_chat(model, text), response_fields={"store": False})
    return [b"event: %s\ndata: %s\n\n" % (e["type"].encode(), orjson.dumps(e)) for e in events]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_DELETE(self) -> None:  # a Responses upstream's own stored responses
        seen = Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, {})
        with self.server.lock:
            self.server.seen.append(seen)
        response_id = self.path.rsplit("/", 1)[-1]
        if response_id == UPSTREAM_RESPONSE_ID:
            self._answer(200, orjson.dumps({"id": response_id, "object": "response", "deleted": True}))
        else:
            self._answer(
                404, orjson.dumps({"error": {"message": "not found", "type": "invalid_request_error"}})
            )

    def do_GET(self) -> None:  # /models, and a Responses upstream's own stored responses
        if "/responses/" in self.path:
            seen = Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, {})
            with self.server.lock:
                self.server.seen.append(seen)
            if f"/responses/{UPSTREAM_RESPONSE_ID}" not in self.path:
                body = {"error": {"message": "Response not found", "type": "invalid_request_error"}}
                self._answer(404, orjson.dumps(body))
            elif self.path.split("?")[0].endswith("/input_items"):
                self._answer(
                    200,
                    orjson.dumps(
                        {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}
                    ),
                )
            else:
                final = orjson.loads(
                    text_stream_responses("upstream-model", "kept upstream")[-1].split(b"data: ", 1)[1]
                )
                self._answer(200, orjson.dumps({**final["response"], "id": UPSTREAM_RESPONSE_ID}))
            return
        body = orjson.dumps(
            {
                "object": "list",
                "data": [{"id": "fake-model", "object": "model", "created": 0, "owned_by": "fake"}],
            }
        )
        self._answer(200, body)

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        body = orjson.loads(raw) if raw else {}
        seen = Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        with self.server.lock:
            self.server.seen.append(seen)
        model = str(body.get("model", ""))
        responses = self.path.endswith("/responses")
        try:
            self._serve(model, body, responses, seen)
        except (BrokenPipeError, ConnectionResetError):
            seen.closed_at = time.monotonic()

    # -- answers -------------------------------------------------------------------------------

    def _serve(self, model: str, body: dict[str, Any], responses: bool, seen: Seen) -> None:
        kind, _, rest = model.partition(":")
        stream = body.get("stream") is True
        if kind == "replay":
            name, _, delay = rest.partition("@")
            path = CORPUS / name
            if path.suffix == ".json":
                self._answer(200, path.read_bytes())
                seen.finished = True
                return
            self._stream(split_frames(path.read_bytes()), seen, delay=float(delay or 0) / 1000)
        elif kind == "cut":
            name, _, count = rest.rpartition(":")
            frames = split_frames((CORPUS / name).read_bytes())
            n = int(count)
            self._stream([*frames[:n], frames[n][: len(frames[n]) // 2]], seen, cut=True)
        elif kind == "stall":
            name, _, count = rest.rpartition(":")
            frames = split_frames((CORPUS / name).read_bytes())
            self._stream(frames[: int(count)], seen, stall=True)
        elif kind == "headers-then-stall":
            self._stream([], seen, stall=True)
        elif kind == "status":
            code, _, source = rest.partition(":")
            payload = (
                source[1:].encode()
                if source.startswith("=")
                else (CORPUS / "chat_json" / source).read_bytes()
            )
            self._answer(int(code), payload, extra={"retry-after": "7"} if code == "429" else None)
        elif kind == "echo-auth-error":  # as providers do: the key they were given, quoted back
            given = self.headers.get("authorization", "")
            message = f"Incorrect API key provided: {given.removeprefix('Bearer ')}"
            self._answer(401, orjson.dumps({"error": {"message": message, "type": "invalid_request_error"}}))
        elif kind == "garbage":
            if rest == "html":
                self._answer(
                    200, b"<html><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html"
                )
            elif rest == "badjson":
                self._stream([b"data: {not json at all\n\n", b"data: [DONE]\n\n"], seen)
            else:
                self._stream([bytes(range(256)) * 4], seen)
        elif kind == "slow-headers":
            time.sleep(float(rest) / 1000)
            self._stream(text_stream_chat(model, "late but fine"), seen)
        elif responses:
            self._stream(text_stream_responses(model, f"Hello from {model}"), seen)
        elif stream:
            self._stream(text_stream_chat(model, f"Hello from {model}"), seen)
        else:
            completion = {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 1700000000,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": f"Hello from {model}"},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
            }
            self._answer(200, orjson.dumps(completion))
            seen.finished = True

    def _answer(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str = "application/json",
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _client_closed(self, wait: float) -> bool:
        """Wait up to ``wait`` seconds; whether the client closed its side meanwhile."""
        readable, _, _ = select.select([self.connection], [], [], wait)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _stream(
        self, frames: list[bytes], seen: Seen, *, delay: float = 0.0, cut: bool = False, stall: bool = False
    ) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        for number, frame in enumerate(frames):
            if self._client_closed(delay if number else 0.0):
                seen.closed_at = time.monotonic()
                return
            last = cut and number == len(frames) - 1
            self.wfile.write(
                b"%x\r\n%s\r\n" % (len(frame), frame) if not last else b"%x\r\n%s" % (len(frame) * 2, frame)
            )
            self.wfile.flush()
        if cut:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if stall:
            while not self.server.stopping.is_set():
                if self._client_closed(0.05):
                    seen.closed_at = time.monotonic()
                    return
            return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        seen.finished = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.seen: list[Seen] = []
        self.stopping = threading.Event()


class FakeUpstream:
    """The scripted upstream, running in a thread; ``url`` is its ``/v1`` base URL."""

    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def seen(self) -> list[Seen]:
        with self._server.lock:
            return list(self._server.seen)

    def last(self) -> Seen:
        return self.seen[-1]

    def start(self) -> FakeUpstream:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()


class RunningGateway:
    """The gateway app under a real uvicorn server, in a thread, on a free loopback port."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.app = app
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=2
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> RunningGateway:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the gateway did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(10)


@contextlib.contextmanager
def running(app: Any) -> Iterator[RunningGateway]:
    gateway = RunningGateway(app).start()
    try:
        yield gateway
    finally:
        gateway.stop()


def corpus_path(name: str) -> Path:
    return CORPUS / name


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServeProcess:
    """``python -m translator serve --upstream URL --port P ...`` as its own process, once healthy.

    ``stop()`` terminates it and returns what it wrote on stderr (its log lines).
    """

    def __init__(self, upstream_url: str, *flags: str, log_level: str = "warning") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable,
            "-m",
            "translator",
            "serve",
            "--upstream",
            upstream_url,
            "--port",
            str(self.port),
        ]
        self.process = subprocess.Popen(
            [*command, *flags, "--log-level", log_level],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1) as probe:
                probe.sendall(b"GET /health HTTP/1.0\r\n\r\n")
                if probe.recv(64).startswith(b"HTTP/1.1 200"):
                    return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"translator serve did not start:\n{self.stop()}")
            time.sleep(0.05)

    def stop(self) -> str:
        self.process.terminate()
        _, stderr = self.process.communicate(timeout=15)
        return stderr.decode()
