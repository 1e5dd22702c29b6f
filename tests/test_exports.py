"""Top-level names come from submodules; the package imports without the dev extras."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import translator


def test_top_level_names_come_from_submodules() -> None:
    package = Path(translator.__file__).parent
    exported: set[str] = set()
    for path in package.glob("*.py"):
        if path.stem in ("__init__", "__main__", "snapshot", "pytest_plugin", "cli"):
            continue
        module = __import__(f"translator.{path.stem}", fromlist=["__all__"])
        exported |= set(getattr(module, "__all__", ()))
    assert set(translator.__all__) <= exported
    for name in translator.__all__:
        assert getattr(translator, name) is not None


def test_runtime_import_needs_no_dev_dependency() -> None:
    """openai, agents and syrupy are test tools: importing translator must not pull them in."""
    code = (
        "import sys, translator, translator.chat_to_responses, translator.responses_to_chat;"
        "bad = [m for m in ('openai', 'agents', 'syrupy', 'hypothesis') if m in sys.modules];"
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_distribution_name_is_free_of_the_pypi_clash() -> None:
    """PyPI's ``translator`` is another project: ours installs as ``chat-responses-translator``."""
    from importlib.metadata import distribution

    dist = distribution("chat-responses-translator")
    assert dist.metadata["Name"] == "chat-responses-translator"
    scripts = {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}
    assert scripts["translator"] == "translator.cli:main"


def test_the_core_never_imports_the_gateway() -> None:
    """The gateway (and its dependencies) load only when asked for: the core imports none of it."""
    code = (
        "import sys, translator, translator.cli, translator.requests, translator.objects, translator.replay;"
        "import translator.provider_errors, translator.accumulate, translator.migrate;"
        "gateway = ('translator.gateway', 'uvicorn', 'httpx', 'aiohttp', 'redis');"
        "bad = [m for m in gateway if m in sys.modules];"
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
