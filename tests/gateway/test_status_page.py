"""The status page (``GET /status``) in a real headless Chromium, updating live from the gateway.

A real uvicorn gateway on loopback in front of the fake upstream, traffic sent with the official openai
SDK, and the page opened in Chromium (the Debian package, driven over the DevTools protocol by
``tests/support/browser.py``).  While three slow streams are open the page shows 3 in
``data-testid="in-flight"``; once their clients have left it shows 0, in the same page, without a reload.
The screenshot taken meanwhile is kept in the test's folder; with ``TRANSLATOR_SCREENSHOTS=1`` (``make
screenshots``) it also replaces ``docs/gateway/status-page.png``, the picture on the operations page.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from support.browser import CHROMIUM, Chromium
from support.fake_upstream import FakeUpstream
from support.gateway import RunningGateway, running

from translator.gateway.app import Gateway
from translator.gateway.config import load_config

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs the Debian package chromium (apt-get install -y chromium; .ci/run does)"
)

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "gateway" / "status-page.png"
IN_FLIGHT = '[data-testid="in-flight"]'


@pytest.fixture
def gateway(upstream: FakeUpstream, tmp_path: Path) -> Iterator[RunningGateway]:
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[server]\nstore = "memory"\n'
        f'[upstreams.ollama]\nbase_url = "{upstream.url}"\n'
        f'[upstreams.openai]\nbase_url = "{upstream.url}"\nprotocol = "responses"\n'
        '[models."qwen"]\nupstream = "ollama"\nmodel = "paced-20-5"\n'
        '[models."qwen-slow"]\nupstream = "ollama"\nmodel = "paced-400-25"\n'
        '[models."qwen-broken"]\nupstream = "ollama"\nmodel = "badjson"\n'
        '[models."qwen-html"]\nupstream = "ollama"\nmodel = "html"\n'
        '[models."gpt-5"]\nupstream = "openai"\nmodel = "hello"\n'
    )
    with running(Gateway(load_config(config))) as served:
        yield served


def some_traffic(sdk: openai.OpenAI) -> None:
    """A little of everything the page shows: rates and latencies, errors, dropped parameters."""
    for _ in range(12):
        with sdk.responses.create(model="qwen", input="hi", stream=True) as stream:
            assert list(stream)[-1].type == "response.completed"
    for _ in range(4):
        sdk.chat.completions.create(model="gpt-5", messages=[{"role": "user", "content": "hi"}])
    sdk.responses.create(model="qwen", input="hi", include=["file_search_call.results"], truncation="auto")
    with sdk.responses.create(model="qwen-broken", input="hi", stream=True) as stream:
        assert list(stream)[-1].type == "response.failed"
    for model in ("qwen-html", "qwen-html", "nope"):
        with pytest.raises(openai.APIStatusError):
            sdk.responses.create(model=model, input="hi")


def more_traffic(sdk: openai.OpenAI, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sdk.responses.create(model="qwen", input="hi")


def test_the_page_shows_the_streams_open_now_live(gateway: RunningGateway, tmp_path: Path) -> None:
    sdk = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="sk-test", max_retries=0)
    some_traffic(sdk)
    opened = threading.Barrier(4)
    release = threading.Event()

    def slow_stream() -> None:
        with sdk.responses.create(model="qwen-slow", input="hi", stream=True) as stream:
            next(iter(stream))
            opened.wait(10)
            release.wait(30)  # then the client leaves, mid-stream

    clients = [threading.Thread(target=slow_stream) for _ in range(3)]
    for thread in clients:
        thread.start()
    try:
        opened.wait(10)
        with Chromium(tmp_path / "profile", height=1250) as browser:
            browser.open(f"{gateway.url}/status")
            assert browser.wait_for_text(IN_FLIGHT, "3") == "3"
            # traffic while the page watches: the rates need two feeds, a second apart
            busy = threading.Thread(target=more_traffic, args=(sdk, 3.0))
            busy.start()
            busy.join(30)
            rate = browser.text("#rate")
            assert rate is not None and float(rate) > 0
            assert browser.text('[data-testid="state"]').startswith("live")  # type: ignore[union-attr]
            rows = browser.evaluate(
                "[...document.querySelectorAll('#upstreams tbody tr')].map(r => r.cells[0].textContent)"
            )
            assert rows == ["(none)", "ollama", "openai"]
            assert browser.text("#recent tbody tr td:nth-child(6)") == "model_not_found"
            picture = browser.screenshot()
            release.set()
            for thread in clients:
                thread.join(10)
            assert browser.wait_for_text(IN_FLIGHT, "0") == "0"  # the same page, updated
            assert browser.text("#disconnects") == "3"
            assert browser.exceptions == []
    finally:
        release.set()
        for thread in clients:
            thread.join(10)
    assert picture.startswith(b"\x89PNG\r\n\x1a\n") and len(picture) > 20_000
    (tmp_path / "status-page.png").write_bytes(picture)
    if os.environ.get("TRANSLATOR_SCREENSHOTS") == "1":
        SCREENSHOT.write_bytes(picture)
