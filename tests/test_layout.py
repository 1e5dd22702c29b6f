"""The package layout is the architecture: which part may import which, no cycles, stable public names.

The parts, lowest first (``docs/architecture.md`` draws them):

* ``base``: ``translator.errors``, ``translator.ids``;
* ``engine``: sans-I/O plumbing (feed, SSE/JSON-lines decoding, JSON, incremental JSON);
* ``protocol``: field tables, provider errors, tool names, upstream capabilities, schemas;
* ``convert``: requests, transcripts, tools, final objects;
* ``streams``: the two stream translators, accumulators, object -> stream;
* ``wire``: events and chunks as SSE bytes, one writer per protocol;
* ``testing`` and ``migrate``: tools built on the above, independent of each other;
* ``cli`` and ``gateway``: the programs.  The gateway never imports the CLI; the CLI loads the gateway
  only inside the ``serve`` command (so ``import translator.cli`` stays light).

Every import counts, also those inside functions.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import translator
from translator._moved import MOVED

PACKAGE = Path(translator.__file__).parent

#: part -> the parts it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "base": set(),
    "engine": {"base"},
    "protocol": {"base", "engine"},
    "convert": {"base", "engine", "protocol"},
    "streams": {"base", "engine", "protocol", "convert"},
    "wire": {"base", "engine", "protocol", "streams"},
    "testing": {"base", "engine", "protocol", "convert", "streams", "wire"},
    "migrate": {"base", "engine", "protocol", "convert"},
    "gateway": {"base", "engine", "protocol", "convert", "streams", "wire"},
    "cli": {"base", "engine", "protocol", "convert", "streams", "wire", "testing", "migrate", "gateway"},
    # the public surface: translator/__init__.py and the deprecated flat paths re-export the parts
    "api": {"base", "engine", "protocol", "convert", "streams", "wire", "testing", "migrate", "compat"},
    "compat": {"base", "engine", "protocol", "convert", "streams", "wire", "testing", "migrate", "api"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def part_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "api"
    if module in ("translator.errors", "translator.ids"):
        return "base"
    if module in MOVED or module == "translator._moved":
        return "compat"
    if module in ("translator.cli", "translator.__main__"):
        return "cli"
    return parts[1]


def imports_of(path: Path) -> list[tuple[str, int, bool]]:
    """(imported module inside translator, line, at module level) for every import of ``path``."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names = [f"{target}.{alias.name}" for alias in node.names]
            targets = [name for name in names if _is_module(name)] or [target]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            continue
        for target in targets:
            if target == "translator" or target.startswith("translator."):
                found.append((target, node.lineno, id(node) in top_level))
    return found


def _is_module(name: str) -> bool:
    parts = name.split(".")
    return PACKAGE.parent.joinpath(*parts).with_suffix(".py").exists() or (
        PACKAGE.parent.joinpath(*parts, "__init__.py").exists()
    )


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_belongs_to_a_known_part() -> None:
    unknown = {module_name(path) for path in SOURCES if part_of(module_name(path)) not in ALLOWED}
    assert not unknown


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: module_name(path))
def test_imports_follow_the_layers(path: Path) -> None:
    module = module_name(path)
    part = part_of(module)
    broken = []
    for target, line, top_level in imports_of(path):
        other = part_of(target)
        if other != part and other not in ALLOWED[part]:
            broken.append(f"{module}:{line} imports {target} ({part} -> {other})")
        if part == "cli" and other == "gateway" and top_level:
            broken.append(f"{module}:{line} imports the gateway at module level")
    assert not broken


def test_no_import_cycles() -> None:
    """Between modules, counting every import (also those inside functions)."""
    graph: dict[str, set[str]] = {}
    for path in SOURCES:
        module = module_name(path)
        edges = graph.setdefault(module, set())
        for target, _, _ in imports_of(path):
            if target != module and not module.startswith(target + "."):  # a package's own __init__
                edges.add(target)
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles


def test_top_level_names_come_from_submodules() -> None:
    for name in translator.__all__:
        value = getattr(translator, name)
        home = getattr(value, "__module__", None)
        assert home is None or home.startswith("translator."), name


@pytest.mark.parametrize("old", sorted(MOVED))
def test_flat_module_paths_still_work_for_one_release(old: str) -> None:
    """The old paths warn and give the new modules' own objects."""
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=rf"{old} is deprecated: import from {MOVED[old]}"):
        legacy = importlib.import_module(old)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new = importlib.import_module(MOVED[old])
    assert set(new.__all__) <= set(legacy.__all__)
    for name in legacy.__all__:
        if name in new.__all__:
            assert getattr(legacy, name) is getattr(new, name), name
        else:  # the SSE wrappers moved on to the wire writers
            home = importlib.import_module(getattr(legacy, name).__module__)
            assert home.__name__.startswith("translator.wire."), name
            assert getattr(legacy, name) is getattr(home, name), name


def test_gateway_paths_kept() -> None:
    """``translator.gateway.store`` and the uvicorn worker string ``translator.gateway.server:create_app``."""
    from translator.gateway import server, store

    assert callable(store.open_store)
    assert callable(server.create_app)


def test_runtime_import_needs_no_dev_dependency() -> None:
    """openai, agents and syrupy are test tools: importing translator must not pull them in."""
    code = (
        "import sys, translator, translator.streams.chat_to_responses, translator.streams.responses_to_chat;"
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
    plugins = {ep.name: ep.value for ep in dist.entry_points if ep.group == "pytest11"}
    assert plugins["translator"] == "translator.testing.pytest_plugin"


def test_the_core_never_imports_the_gateway() -> None:
    """The gateway (and its dependencies) load only when asked for: the core imports none of it."""
    code = (
        "import sys, translator, translator.cli, translator.convert.requests, translator.convert.objects;"
        "import translator.streams.object_stream, translator.protocol.provider_errors;"
        "import translator.streams.accumulate, translator.migrate.batch;"
        "gateway = ('translator.gateway', 'uvicorn', 'httpx', 'aiohttp', 'redis', 'prometheus_client',"
        " 'opentelemetry');"
        "bad = [m for m in gateway if m in sys.modules];"
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


#: The longest a module may grow: past it, it holds more than one concept (split it).
MAX_MODULE_LINES = 900


def test_no_module_is_over_900_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}
