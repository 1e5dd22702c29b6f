"""The Codex configuration of ``docs/codex.md`` keeps Codex off the network except for the gateway (issue 21,
item 5), checked with a trap.

The configuration is read from the page itself (its first TOML block, the gateway's URL put in), so the
page and the test cannot drift apart.  Codex runs through ``translator serve``'s app under uvicorn to the
fake chat upstream, every proxy variable pointed at a loopback proxy that refuses and records each
request (``EgressTrap``; loopback is in ``NO_PROXY``):

* ``codex exec`` runs a turn and reaches nothing but the gateway;
* the interactive TUI, in a pseudo-terminal, runs a turn and reaches nothing but the gateway and the
  announcement tip on ``raw.githubusercontent.com``, which no key turns off in Codex 0.171 (the page says
  so, with the proxy workaround);
* each documented key is needed: without it, the trap sees (some of) the hosts the page names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomllib
from support.codex_cli import kill_daemons, require_codex, run_codex, run_codex_tui
from support.fake_upstream import FakeUpstream
from support.gateway import RunningGateway, running

from translator.gateway.app import Gateway
from translator.gateway.config import load_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "codex.md"
ANNOUNCEMENT = "raw.githubusercontent.com:443"


def documented_config(base_url: str, *, without: tuple[str, ...] = ()) -> str:
    """The first TOML block of ``docs/codex.md`` with ``base_url`` set; ``without`` drops lines starting so
    (to show that a key is needed)."""
    found = re.search(r"```toml\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert found is not None, "docs/codex.md has no TOML block"
    lines = [line for line in found[1].splitlines() if not line.strip().startswith(without or ("\0",))]
    text = re.sub(r'base_url = "[^"]*"', f'base_url = "{base_url}"', "\n".join(lines) + "\n")
    tomllib.loads(text)  # still valid TOML
    return text


@pytest.fixture(scope="module")
def gateway() -> Iterator[tuple[RunningGateway, FakeUpstream]]:
    fake = FakeUpstream().start()
    try:
        with running(Gateway(load_config(upstream=fake.url, store="memory"))) as served:
            yield served, fake
    finally:
        fake.stop()


def _home(tmp_path: Path, name: str, config: str) -> Path:
    home = tmp_path / name
    home.mkdir()
    (home / "config.toml").write_text(config)
    (tmp_path / f"{name}-work").mkdir()
    return home


def _exec(tmp_path: Path, gateway: RunningGateway, name: str, **options: Any) -> Any:
    home = _home(tmp_path, name, documented_config(f"{gateway.url}/v1", **options))
    return run_codex(require_codex(), "Say hello", home=home, workdir=tmp_path / f"{name}-work", timeout=60)


_TURN = ((4.0, b"\r"), (6.0, b"Say hello"), (7.0, b"\r"))


def _tui(
    tmp_path: Path,
    served: tuple[RunningGateway, FakeUpstream],
    name: str,
    *,
    leaving: bool = False,
    **options: Any,
) -> Any:
    """The TUI until a whole turn went through the gateway, or (``leaving``) until the trap saw a host
    other than the announcement's."""
    gateway, fake = served
    home = _home(tmp_path, name, documented_config(f"{gateway.url}/v1", **options))
    asked = len(fake.seen)
    # a fresh folder: Enter answers the start-up question if there is one, then a prompt and Enter; typed
    # again every 15 s until a turn went through, since on a loaded machine the TUI may not have been
    # ready for the first ones (an Enter on an empty composer does nothing)
    keys = [(start + at, key) for start in (0.0, 15.0, 30.0, 45.0) for at, key in _TURN]
    return run_codex_tui(
        require_codex(),
        home,
        tmp_path / f"{name}-work",
        keys=keys,
        until=lambda egress: (
            any(seen.finished for seen in fake.seen[asked:])
            or (leaving and bool(set(egress) - {ANNOUNCEMENT}))
        ),
        timeout=75,
    )


def test_exec_with_the_documented_configuration_reaches_only_the_gateway(
    tmp_path: Path, gateway: tuple[RunningGateway, FakeUpstream]
) -> None:
    run = _exec(tmp_path, gateway[0], "exec")
    assert run.returncode == 0, run.describe()
    assert run.stdout.strip() == "Hello from gpt-5.5"  # the fake chat model's answer, through the gateway
    assert run.egress == [], run.describe()


def test_the_tui_with_the_documented_configuration_reaches_only_the_gateway_and_the_announcement(
    tmp_path: Path, gateway: tuple[RunningGateway, FakeUpstream]
) -> None:
    run = _tui(tmp_path, gateway, "tui")
    assert run.reached, run.screen[-2000:]  # a whole turn went through the gateway
    assert set(run.egress) <= {ANNOUNCEMENT}, run.egress
    assert kill_daemons(tmp_path) == []  # the TUI's app-server daemon did not outlive the session


@pytest.mark.parametrize(
    ("mode", "without", "reached"),
    [
        ("exec", ("plugins",), {"github.com:443", "api.github.com:443", "chatgpt.com:443"}),
        ("exec", ("enabled", "metrics_exporter"), {"ab.chatgpt.com:443"}),
        ("tui", ("check_for_update_on_startup",), {"api.github.com:443"}),
    ],
    ids=["plugins", "analytics-and-metrics", "update-check"],
)
def test_each_documented_key_is_needed(
    tmp_path: Path,
    gateway: tuple[RunningGateway, FakeUpstream],
    mode: str,
    without: tuple[str, ...],
    reached: set[str],
) -> None:
    if mode == "exec":
        run = _exec(tmp_path, gateway[0], "without", without=without)
        assert run.returncode == 0, run.describe()
    else:
        run = _tui(tmp_path, gateway, "without", leaving=True, without=without)
    # (how far a sync gets before the turn ends varies: the first host it tries is always there; the TUI is
    # stopped at the first such host rather than after a whole turn)
    found = set(run.egress) - {ANNOUNCEMENT}
    assert found and found <= reached, run.egress
