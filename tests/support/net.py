"""Loopback plumbing shared by the tests and the benchmarks: a free port, and waiting for a server.

Standard library only: ``benchmarks/bench_gateway.py`` imports it with the Python of its own virtualenv.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time

__all__ = ["answers_ok", "free_port", "wait_for_http"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (the OS's pick; free until someone binds it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers_ok(port: int, path: str) -> bool:
    """Whether ``GET path`` on ``127.0.0.1:port`` answers 200 now (one short connection)."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n".encode())
        return sock.recv(64).startswith(b"HTTP/1.1 200")
    return False


def wait_for_http(
    port: int, path: str, process: subprocess.Popen[bytes] | subprocess.Popen[str], timeout: float
) -> None:
    """Return once ``GET path`` answers 200; raise ``RuntimeError`` if ``process`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while not answers_ok(port, path):
        if process.poll() is not None:
            raise RuntimeError(f"the server for port {port} exited with code {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server on port {port} did not answer {path} within {timeout:g} s")
        time.sleep(0.05)
