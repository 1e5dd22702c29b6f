"""The gateway under test, on loopback: in the test process (:class:`RunningGateway`) or as its own
``translator serve`` process (:class:`ServeProcess`), and what the OS says about that process.

* :class:`RunningGateway` runs a :class:`~translator.gateway.app.Gateway` under a real uvicorn server in a
  thread, for tests that build the app themselves (``running(app)`` is the context manager), with the
  gateway's own WebSocket options (``server.websocket_options``).
* :class:`ServeProcess` runs the real command on a free port, waits until ``/health`` answers and keeps
  its log (stderr) in a file.  With ``probe=True`` it runs through ``tests/support/gateway_probe.py``,
  which adds a stats probe on stdin/stdout and nothing else: ``probe()`` gives asyncio tasks and the
  upstream pools' connections counted inside its event loop; ``rss()``, ``fds()`` and
  ``connections_to(port)`` read the server process's own resident memory, descriptors and TCP
  connections from ``/proc`` (Linux).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .net import free_port, wait_for_http

__all__ = ["RunningGateway", "ServeProcess", "running"]

PROBE = Path(__file__).resolve().parent / "gateway_probe.py"


class RunningGateway:
    """The gateway app under a real uvicorn server, in a thread, on a free loopback port."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        from translator.gateway.app import Gateway
        from translator.gateway.server import websocket_options

        self.app = app
        options = websocket_options(app.config) if isinstance(app, Gateway) else {}
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
            **options,
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


class ServeProcess:
    """``python -m translator serve ARGS --port P --log-level L`` as its own process, once healthy.

    ``args`` are the command's own options (``"--upstream", url, "--store", "memory"`` or ``"--config",
    path``).  Its stderr, the gateway's log, goes to ``log`` (a temporary file when not given);
    ``stop()`` ends the process (SIGTERM, then SIGKILL after 15 s) and returns that log.
    """

    def __init__(
        self,
        *args: str,
        log: Path | None = None,
        log_level: str = "warning",
        env: dict[str, str] | None = None,
        probe: bool = False,
        timeout: float = 30,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._own_log = log is None
        if log is None:
            handle, name = tempfile.mkstemp(prefix="translator-serve-", suffix=".log")
            os.close(handle)
            log = Path(name)
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        runner = [str(PROBE)] if probe else ["-m", "translator"]
        command = [sys.executable, *runner, "serve", *args, "--port", str(self.port)]
        command += ["--log-level", log_level]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE if probe else subprocess.DEVNULL,
            stdout=subprocess.PIPE if probe else subprocess.DEVNULL,
            stderr=self._log,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        self.pid = self.process.pid
        self._stopped: str | None = None
        try:
            wait_for_http(self.port, "/health", self.process, timeout)
        except RuntimeError as exc:
            raise RuntimeError(f"translator serve did not start ({exc}):\n{self.stop()[-2000:]}") from None

    def probe(self) -> dict[str, Any]:
        """Counters from inside the gateway's event loop: asyncio tasks, upstream pool connections."""
        assert self.process.stdin is not None and self.process.stdout is not None, "started without probe"
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        return dict(json.loads(self.process.stdout.readline()))

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def fds(self) -> int:
        return open_fds(self.pid)

    def connections_to(self, port: int) -> int:
        return tcp_connections_to(self.pid, port)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> str:
        """End the process (if it still runs) and return its log."""
        if self._stopped is not None:
            return self._stopped
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        self._log.close()
        self._stopped = self.log_path.read_text(errors="replace")
        if self._own_log:
            self.log_path.unlink(missing_ok=True)
        return self._stopped


# -- what /proc says about a process ------------------------------------------------------------------------


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def tcp_connections_to(pid: int, port: int) -> int:
    """TCP connections of process ``pid`` whose remote port is ``port`` (any state but LISTEN)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if remote_port == port and fields[3] != "0A" and fields[9] in inodes:
                    count += 1
    return count
