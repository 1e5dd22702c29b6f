"""A real headless Chromium (the Debian package ``chromium``), driven over the DevTools protocol.

Just enough of CDP for the status page's test: open a page, evaluate JavaScript in it, wait for an
element's text, collect the page's uncaught exceptions, take a PNG screenshot.  The browser runs with a
profile of its own in a temporary folder, on loopback only; :meth:`Chromium.close` ends it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from .net import free_port

__all__ = ["CHROMIUM", "Chromium"]

#: The browser binary, when installed (``apt-get install chromium``; ``.ci/run`` does it).
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Chromium:
    """One headless browser with one page (``with Chromium(tmp) as browser: browser.open(url)``)."""

    def __init__(self, profile: Path, *, width: int = 1280, height: int = 1000) -> None:
        assert CHROMIUM is not None, "chromium is not installed"
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",  # (as root in a container)
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--hide-scrollbars",
                f"--window-size={width},{height}",
                f"--user-data-dir={profile}",
                "--remote-debugging-address=127.0.0.1",
                f"--remote-debugging-port={self.port}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its helper processes in a group of their own, ended together
        )
        self._next = 0
        self.exceptions: list[dict[str, Any]] = []
        self._stack = contextlib.ExitStack()
        try:
            self._socket: ClientConnection = self._stack.enter_context(
                connect(self._page_socket(), max_size=None, open_timeout=10)
            )
            self.call("Runtime.enable")
            self.call("Page.enable")
        except BaseException:
            self.close()
            raise

    def _page_socket(self) -> str:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=2) as answer:
                    targets = json.loads(answer.read())
                pages = [target for target in targets if target.get("type") == "page"]
                if pages:
                    return str(pages[0]["webSocketDebuggerUrl"])
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not start (exit code {self.process.poll()})")
            time.sleep(0.1)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One CDP command; its result (events that arrive meanwhile are looked at, exceptions kept)."""
        self._next += 1
        number = self._next
        self._socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv(timeout=30))
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if message.get("method") == "Runtime.exceptionThrown":
                self.exceptions.append(message["params"]["exceptionDetails"])

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def text(self, selector: str) -> str | None:
        """The text of the first element ``selector`` matches (``None`` when there is none yet)."""
        found = self.evaluate(f"(e => e && e.textContent)(document.querySelector({json.dumps(selector)}))")
        return None if found is None else str(found)

    def wait_for_text(self, selector: str, expected: str, seconds: float = 20) -> str | None:
        """Poll until the element's text is ``expected``; the last text seen either way."""
        deadline = time.monotonic() + seconds
        while True:
            text = self.text(selector)
            if text == expected or time.monotonic() > deadline:
                return text
            time.sleep(0.1)

    def screenshot(self) -> bytes:
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])

    def close(self) -> None:
        try:
            self._stack.close()
        finally:
            group = self.process.pid  # (its own session: the group's id is its pid)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(group, signal.SIGKILL)
                self.process.wait(5)
