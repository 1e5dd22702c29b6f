"""Run the real Codex CLI (npm ``@openai/codex``) non-interactively against a Responses endpoint on loopback.

``make codex`` installs the pinned version into ``.codex-cli/`` (git-ignored); :func:`require_codex`
finds its native binary or skips the test saying so (under CI, where ``make test`` installs it, a missing
binary fails instead).  :func:`write_codex_home` writes a ``CODEX_HOME`` whose ``config.toml`` points a
custom ``wire_api = "responses"`` provider at a base URL, with everything that would call home switched
off; :func:`run_codex` runs ``codex exec`` in a working directory with a timeout, every outbound proxy
pointed at an :class:`EgressTrap` that refuses and records any request that is not for loopback;
:func:`run_codex_tui` runs the interactive TUI the same way, in a pseudo-terminal, and types into it.

Facts about Codex 0.171.0 this relies on (checked by ``tests/gateway/test_codex_cli.py``): ``codex exec``
prints only the final agent message on stdout (progress goes to stderr) and also writes it to ``-o FILE``; it
needs no login when the provider has ``env_key``; with model ``gpt-5.5`` it declares ``exec_command``
(function, ``{"cmd": ...}``) and ``apply_patch`` (``custom``, freeform lark grammar) among its tools.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _pinned_version() -> str:
    """The version ``make codex`` installs: ``CODEX_VERSION`` in the Makefile, the one place it is set."""
    found = re.search(r"^CODEX_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    if found is None:
        raise RuntimeError("the Makefile has no `CODEX_VERSION := ...` line")
    return found[1]


CODEX_VERSION = _pinned_version()
CODEX_DIR = ROOT / ".codex-cli"
#: Overrides the binary that :func:`find_codex` returns (a native ``codex`` of the pinned version).
CODEX_BIN_ENV = "TRANSLATOR_CODEX_BIN"

MODEL = "gpt-5.5"
PROVIDER = "translator"
API_KEY_ENV = "TRANSLATOR_API_KEY"
API_KEY = "sk-codex-test-not-a-real-key"

#: Everything ``codex exec`` would otherwise fetch from the internet on start (update check, analytics
#: and OTEL metrics, the curated plugin repository), switched off.  ``docs/codex.md`` documents the same
#: keys (``tests/gateway/test_codex_offline.py`` runs Codex with the documented configuration).
QUIET_CONFIG = """\
check_for_update_on_startup = false

[features]
plugins = false

[analytics]
enabled = false

[otel]
exporter = "none"
trace_exporter = "none"
metrics_exporter = "none"
"""


def find_codex() -> tuple[Path | None, str]:
    """The native Codex binary of the pinned version, or None and the reason it cannot be used."""
    override = os.environ.get(CODEX_BIN_ENV)
    if override:
        candidates = [Path(override)]
    else:
        # The npm package's bin/codex.js only locates and spawns this native binary; running it directly
        # keeps node out of the process tree, so a timeout kills Codex itself.
        candidates = sorted(CODEX_DIR.glob("node_modules/@openai/codex-*/vendor/*/bin/codex"))
    if not candidates:
        return None, f"the Codex CLI is not installed in {CODEX_DIR}: run `make codex` (needs npm)"
    binary = candidates[0]
    try:
        done = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{binary} does not run ({exc}): run `make codex` again"
    version = done.stdout.strip()
    if version != f"codex-cli {CODEX_VERSION}":
        return None, f"{binary} is {version or 'unknown'!r}, not codex-cli {CODEX_VERSION}: run `make codex`"
    return binary, ""


_FOUND: list[tuple[Path | None, str]] = []


def require_codex() -> Path:
    """The Codex binary; skips the calling test (fails under CI) when it cannot be had."""
    if not _FOUND:
        _FOUND.append(find_codex())
    binary, reason = _FOUND[0]
    if binary is None:
        if os.environ.get("CI") and shutil.which("npm"):
            pytest.fail(f"{reason} (CI has npm, so `make test` should have installed it)")
        pytest.skip(reason)
    return binary


def codex_config(
    base_url: str,
    *,
    model: str = MODEL,
    provider: str = PROVIDER,
    env_key: str = API_KEY_ENV,
    request_max_retries: int = 0,
    stream_max_retries: int = 0,
    stream_idle_timeout_ms: int = 20_000,
    websockets: bool = False,
) -> str:
    """``config.toml`` text: ``model`` served by a custom Responses provider at ``base_url`` (ending ``/v1``).

    Retries default to 0 so a failing server fails the run at once; set them to observe Codex retrying.
    ``websockets`` sets the provider's ``supports_websockets = true``: Codex then talks to
    ``ws://.../responses`` (and falls back to HTTPS when that fails).
    """
    return (
        f'model = "{model}"\n'
        f'model_provider = "{provider}"\n'
        f"{QUIET_CONFIG}\n"
        f"[model_providers.{provider}]\n"
        f'name = "{provider}"\n'
        f'base_url = "{base_url}"\n'
        'wire_api = "responses"\n'
        f'env_key = "{env_key}"\n'
        f"request_max_retries = {request_max_retries}\n"
        f"stream_max_retries = {stream_max_retries}\n"
        f"stream_idle_timeout_ms = {stream_idle_timeout_ms}\n"
        + ("supports_websockets = true\n" if websockets else "")
    )


def write_codex_home(home: Path, base_url: str, **options: Any) -> Path:
    """Create ``home`` (a ``CODEX_HOME``) with a ``config.toml`` from :func:`codex_config`; returns it."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(codex_config(base_url, **options))
    return home


class EgressTrap:
    """A loopback HTTP proxy that answers 403 to everything and records what was asked (``host:port``).

    Codex's HTTP client and git honour ``HTTPS_PROXY``/``HTTP_PROXY``; pointing them here makes any call
    to the internet fail at once (never a wait on the network) and lets a test assert there was none.
    """

    def __init__(self) -> None:
        self.requests: list[str] = []
        trap = self

        class Handler(BaseHTTPRequestHandler):
            def _refuse(self) -> None:
                trap.requests.append(
                    self.path if self.command == "CONNECT" else f"{self.command} {self.path}"
                )
                self.send_response(403)
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()

            do_CONNECT = do_GET = do_POST = do_PUT = do_HEAD = _refuse

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> EgressTrap:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@dataclass
class CodexRun:
    """What one ``codex exec`` did."""

    args: list[str]
    workdir: Path
    returncode: int
    stdout: str
    stderr: str
    last_message: str | None  # the ``-o`` file: the final agent message, None when Codex wrote none
    egress: list[str]  # requests that tried to leave the machine (must stay empty)

    def describe(self) -> str:
        return (
            f"codex exited {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr (tail)\n"
            f"{self.stderr[-4000:]}\n--- egress: {self.egress}"
        )


def codex_env(home: Path, trap_url: str, api_key: str = API_KEY) -> dict[str, str]:
    """A minimal environment: nothing from the caller's Codex/OpenAI setup, proxies at the trap."""
    user_home = home / "user-home"  # so the shell Codex starts reads no rc files of the machine's user
    user_home.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(user_home),
        "SHELL": "/bin/bash",
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        "CODEX_HOME": str(home),
        API_KEY_ENV: api_key,
        "NO_PROXY": "127.0.0.1,localhost,::1",
        "no_proxy": "127.0.0.1,localhost,::1",
    }
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"):
        env[name] = trap_url
    return env


def run_codex(
    binary: Path,
    prompt: str,
    *,
    home: Path,
    workdir: Path,
    timeout: float = 30,
    extra_args: Sequence[str] = (),
    api_key: str = API_KEY,
) -> CodexRun:
    """``codex exec PROMPT`` in ``workdir`` with ``CODEX_HOME=home``, no approvals, no sandbox, no stdin.

    Kills Codex and every process it started when ``timeout`` passes (then raises ``TimeoutError``).
    """
    last_message = home / "last-message.txt"
    last_message.unlink(missing_ok=True)
    args = [
        str(binary),
        "exec",
        "--skip-git-repo-check",
        "--dangerously-bypass-approvals-and-sandbox",
        "--ephemeral",
        "--color",
        "never",
        "-C",
        str(workdir),
        "-o",
        str(last_message),
        *extra_args,
        prompt,
    ]
    with EgressTrap() as trap:
        with _process_group(args, codex_env(home, trap.url, api_key), workdir) as process:
            try:
                stdout, stderr = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                raise TimeoutError(f"codex exec did not finish within {timeout} s: {args}") from None
            finally:
                kill_daemons(home)
        egress = list(trap.requests)
    return CodexRun(
        args=args,
        workdir=workdir,
        returncode=process.returncode,
        stdout=stdout,
        stderr=stderr,
        last_message=last_message.read_text() if last_message.exists() else None,
        egress=egress,
    )


@dataclass
class TuiRun:
    """What one interactive ``codex`` session did, as far as the test drove it."""

    screen: bytes  # everything the TUI wrote to its terminal
    egress: list[str]  # requests that tried to leave the machine
    reached: bool  # ``until`` held before the timeout


def run_codex_tui(
    binary: Path,
    home: Path,
    workdir: Path,
    *,
    keys: Sequence[tuple[float, bytes]],
    until: Callable[[list[str]], bool],
    timeout: float = 40,
) -> TuiRun:
    """The interactive TUI (``codex`` with no subcommand) in a 120x40 pseudo-terminal, ``CODEX_HOME=home``,
    every proxy at an :class:`EgressTrap`: ``keys`` are typed at their times (seconds after the start),
    and the session is killed as soon as ``until(egress)`` holds (``egress``: what the trap saw so far),
    or at ``timeout``."""
    import fcntl
    import pty
    import select
    import struct
    import termios
    import time

    with EgressTrap() as trap:
        env = {**codex_env(home, trap.url), "TERM": "xterm-256color"}
        env.pop("NO_COLOR")
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        process = subprocess.Popen(
            [str(binary)],
            cwd=workdir,
            env=env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
        )
        os.close(slave)
        screen, typed, reached = b"", 0, False
        start = time.monotonic()
        try:
            while time.monotonic() - start < timeout and process.poll() is None:
                while typed < len(keys) and time.monotonic() - start >= keys[typed][0]:
                    os.write(master, keys[typed][1])
                    typed += 1
                if until(trap.requests):
                    reached = True
                    break
                if select.select([master], [], [], 0.1)[0]:
                    try:
                        screen += os.read(master, 65536)
                    except OSError:
                        break
        finally:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            os.close(master)
            kill_daemons(home)
        egress = list(trap.requests)
    return TuiRun(screen=screen, egress=egress, reached=reached)


def kill_daemons(home: Path) -> list[int]:
    """Kill what Codex left running from ``home`` (the TUI starts an app-server daemon, installed under
    ``CODEX_HOME/packages``, in a session of its own: killing Codex's process group leaves it running);
    the pids killed.  Linux: read from ``/proc``."""
    killed = []
    root = str(home.resolve())
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        with suppress(OSError):
            if os.readlink(entry / "exe").startswith(root + os.sep):
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
    return killed


@contextmanager
def _process_group(args: list[str], env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        # Codex's own process group: Codex if still running, and any command it left behind.
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        if process.returncode is None:
            process.communicate()
