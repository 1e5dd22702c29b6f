"""The configuration reference (``docs/gateway/configuration.md``) against the gateway's own loader.

The page is the one copy of the reference, so it is checked three ways with ``load_config``, the function
``translator serve`` calls:

* every TOML block on the page is a file that loads;
* the keys the page documents (the first column of the table under each ``## `[table]``` heading) are
  exactly the keys the loader accepts.  What it accepts is asked of the loader itself: an unknown key is
  refused with the list of known ones (``server.x: unknown key (known: ...)``), and a capability table
  with an unknown key lists the profile's fields;
* every documented key is set in at least one TOML block (so each one really loads), and every default
  written as a value (`` `8080` ``) is the value the loader gives when the key is left out.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from translator.gateway.config import ConfigError, GatewayConfig, load_config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "gateway" / "configuration.md"

#: heading of a reference table on the page -> the table's place in a config file
TABLES = {
    "[server]": "server",
    "[upstreams.NAME]": "upstream",
    "[upstreams.NAME.capabilities]": "capabilities",
    '[models."NAME"]': "model",
}
_MINIMAL = '[upstreams.u]\nbase_url = "http://127.0.0.1:1/v1"\n'


def page_text() -> str:
    return PAGE.read_text(encoding="utf-8")


def toml_blocks(text: str) -> list[str]:
    return re.findall(r"^```toml\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def documented() -> dict[str, dict[str, str]]:
    """Table -> {key: default cell} from the reference tables of the page."""
    found: dict[str, dict[str, str]] = {}
    table: str | None = None
    for line in page_text().splitlines():
        heading = re.fullmatch(r"## `(.+)`", line)
        if heading:
            table = TABLES.get(heading.group(1))
            if table is not None:
                found[table] = {}
            continue
        if line.startswith("## "):
            table = None
            continue
        row = re.fullmatch(r"\| `(\w+)` \| (.*?) \| .* \|", line)
        if table is not None and row:
            found[table][row.group(1)] = row.group(2)
    return found


def write(folder: Path, text: str) -> Path:
    path = folder / f"config{len(list(folder.glob('*.toml')))}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def known_keys(folder: Path, text: str, where: str) -> set[str]:
    """The keys ``load_config`` lists when it refuses ``text``, which holds one unknown key."""
    with pytest.raises(ConfigError) as refused:
        load_config(write(folder, text))
    reason = refused.value.reason
    listed = re.search(r"\(known: ([^)]*)\)", reason) or re.search(r"expected one of \[([^\]]*)\]", reason)
    assert listed, f"{where}: the loader's refusal no longer lists the known keys: {refused.value}"
    return {name.strip(" '\"") for name in listed.group(1).split(",")}


def accepted(folder: Path) -> dict[str, set[str]]:
    """Table -> the keys ``load_config`` accepts there, asked of ``load_config`` itself."""
    probe = "zz_probe = 1\n"
    capabilities = known_keys(folder, _MINIMAL + "[upstreams.u.capabilities]\n" + probe, "capabilities")
    return {
        "top": known_keys(folder, probe + _MINIMAL, "top level"),
        "server": known_keys(folder, "[server]\n" + probe + _MINIMAL, "[server]"),
        "upstream": known_keys(folder, _MINIMAL + probe, "[upstreams.NAME]"),
        "capabilities": capabilities | {"preset"},  # the profile's fields, and the preset they override
        "model": known_keys(folder, _MINIMAL + '[models."m"]\n' + probe, '[models."NAME"]'),
    }


def test_every_toml_block_of_the_page_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = toml_blocks(page_text())
    assert len(blocks) >= 2
    for n, block in enumerate(blocks):
        server = tomllib.loads(block).get("server", {})
        for name in server.get("api_keys_env", []):
            monkeypatch.setenv(name, f"key-{name}")
        if "owner_secret_env" in server:
            monkeypatch.setenv(server["owner_secret_env"], "a secret of sixteen bytes or more")
        for upstream in tomllib.loads(block).get("upstreams", {}).values():
            if "key_env" in upstream:
                monkeypatch.setenv(upstream["key_env"], f"key-of-{upstream['key_env']}")
        try:
            config = load_config(write(tmp_path, block))
        except ConfigError as exc:
            pytest.fail(f"TOML block {n + 1} of {PAGE.name} does not load: {exc}")
        assert isinstance(config, GatewayConfig)


def test_the_complete_file_means_what_the_page_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_KEY", "k")
    monkeypatch.setenv("OWNER_SECRET", "s" * 32)
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-key")
    monkeypatch.setenv("OPENAI_API_KEY", "openai-key")
    config = load_config(write(tmp_path, toml_blocks(page_text())[0]))
    assert config.api_keys == ("k",) and config.store == "sqlite"
    assert config.owner_secret == b"s" * 32 and config.single_user is False
    qwen = config.resolve("qwen")
    assert qwen is not None and (qwen[0].name, qwen[1]) == ("ollama", "qwen3:8b")
    codex = config.resolve("gpt-5-codex")
    assert codex is not None and (codex[0].name, codex[0].protocol, codex[1]) == (
        "openai",
        "responses",
        "gpt-5-codex",
    )
    assert config.resolve("not-routed") is None
    profile = config.upstreams["ollama"].capabilities
    assert profile.reasoning_field == "reasoning_content" and profile.rejected_params == {"reasoning_effort"}


def test_the_page_documents_every_key_the_loader_accepts_and_no_other(tmp_path: Path) -> None:
    tables = documented()
    known = accepted(tmp_path)
    assert set(tables) == set(TABLES.values()), "a reference table heading is missing or renamed"
    assert known["top"] == {"server", "upstreams", "models"}, "a new top-level table needs its own section"
    for table, keys in tables.items():
        missing = known[table] - set(keys)
        extra = set(keys) - known[table]
        assert not missing, f"{table}: keys load_config accepts but {PAGE.name} does not document: {missing}"
        assert not extra, f"{table}: keys {PAGE.name} documents but load_config refuses: {extra}"


def test_every_documented_key_is_set_in_a_toml_block() -> None:
    used: dict[str, set[str]] = {table: set() for table in TABLES.values()}
    for block in toml_blocks(page_text()):
        data = tomllib.loads(block)
        used["server"] |= set(data.get("server", {}))
        for upstream in data.get("upstreams", {}).values():
            used["upstream"] |= set(upstream)
            used["capabilities"] |= set(upstream.get("capabilities", {}))
        for route in data.get("models", {}).values():
            used["model"] |= set(route)
    for table, keys in documented().items():
        assert set(keys) <= used[table], f"{table}: no TOML block sets {set(keys) - used[table]}"


def test_documented_defaults_are_the_loaders(tmp_path: Path) -> None:
    """A default cell that starts with a value (`` `8080` ``) is what a file without the key gives."""
    config = load_config(write(tmp_path, _MINIMAL))
    upstream = config.upstreams["u"]
    owners = {"server": config, "upstream": upstream, "capabilities": upstream.capabilities}
    checked = 0
    for table, keys in documented().items():
        for key, cell in keys.items():
            literal = re.match(r"`([^`]+)`", cell)
            if literal is None:
                continue
            owner = owners.get(table)
            assert owner is not None and hasattr(owner, key), f"{table}.{key}: its default cannot be checked"
            expected = tomllib.loads(f"v = {literal.group(1)}")["v"]
            actual = getattr(owner, key)
            if isinstance(actual, frozenset):
                expected = frozenset(expected)
            assert actual == expected, f"{table}.{key}: documented {expected!r}, load_config gives {actual!r}"
            checked += 1
    assert checked >= 15
