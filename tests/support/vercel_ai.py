"""Run the Vercel AI SDK (npm ``ai`` and ``@ai-sdk/openai``) as a client of the gateway, from Node.

``make vercel-ai`` installs the pinned versions (``AI_VERSION``, ``AI_OPENAI_VERSION`` in the Makefile)
into ``.vercel-ai/`` (git-ignored); :func:`require_vercel_ai` skips the calling test when they are not
there (and fails under CI, where ``make test`` installs them).  :func:`run_scenario` runs
``tests/support/vercel_ai_client.mjs`` (a two-turn conversation, a two-step tool loop) with the SDK's
default settings against a base URL and returns what it printed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERCEL_AI_DIR = ROOT / ".vercel-ai"
CLIENT = Path(__file__).resolve().parent / "vercel_ai_client.mjs"


def pinned(name: str) -> str:
    found = re.search(rf"^{name} := (\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    if found is None:
        raise RuntimeError(f"the Makefile has no `{name} := ...` line")
    return found[1]


def _installed(package: str) -> str | None:
    manifest = VERCEL_AI_DIR / "node_modules" / package / "package.json"
    try:
        return str(json.loads(manifest.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def require_vercel_ai() -> str:
    """The ``node`` to run the client with; skips (fails under CI) when the pinned SDK is not installed."""
    node = shutil.which("node")
    wanted = {"ai": pinned("AI_VERSION"), "@ai-sdk/openai": pinned("AI_OPENAI_VERSION")}
    missing = [f"{name}@{version}" for name, version in wanted.items() if _installed(name) != version]
    reason = None
    if node is None:
        reason = "node is not installed: the Vercel AI SDK tests need it"
    elif missing:
        reason = f"{', '.join(missing)} not in {VERCEL_AI_DIR}: run `make vercel-ai`"
    if reason is not None:
        if os.environ.get("CI") and shutil.which("npm"):
            pytest.fail(f"{reason} (CI has npm, so `make test` should have installed it)")
        pytest.skip(reason)
    assert node is not None
    return node


def run_scenario(scenario: str, base_url: str, model: str, *, timeout: float = 60) -> dict[str, Any]:
    node = require_vercel_ai()
    done = subprocess.run(
        [node, str(CLIENT), scenario, base_url, model],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "VERCEL_AI_DIR": str(VERCEL_AI_DIR)},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer
