"""The gateway's metrics (``GET /metrics``, ``GET /status/feed``) after real traffic: exact counts.

A real uvicorn gateway on loopback in front of the fake upstream, the official openai SDK as client;
``/metrics`` is read with prometheus-client's own parser.  Each test module builds its own gateway, so
its counters start at zero and every count below is exact: requests by endpoint, upstream, routed model
and status, time to first byte and duration observations, tokens, upstream failures by code, dropped
parameters, client disconnects, and streams in flight back to zero.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from support.fake_upstream import FakeUpstream
from support.gateway import RunningGateway, running
from support.metrics import Scrape, scrape, wait_for

from translator.gateway.app import Gateway
from translator.gateway.config import load_config

#: models clients use -> what the fake upstream does (see tests/support/fake_upstream.py)
ROUTES = {
    "fast": ("chat", "fast-5"),  # 5 content chunks, usage 12 + 5
    "slow": ("chat", "paced-400-25"),  # 10 s of chunks: a stream that stays open
    "hello": ("chat", "hello"),  # a Chat completion object when not streamed
    "html": ("chat", "html"),  # 200 with an HTML page: 502 before any answer
    "badjson": ("chat", "badjson"),  # two chunks, then a frame that is not JSON
    "relayed": ("resp", "hello"),  # a Responses upstream: relayed as it is
}


def config_text(upstream: FakeUpstream, server: str = "") -> str:
    text = f'[server]\nstore = "memory"\n{server}\n'
    text += f'[upstreams.chat]\nbase_url = "{upstream.url}"\nread_timeout = 5\n'
    text += f'[upstreams.resp]\nbase_url = "{upstream.url}"\nprotocol = "responses"\n'
    for name, (target, model) in ROUTES.items():
        text += f'[models."{name}"]\nupstream = "{target}"\nmodel = "{model}"\n'
    return text


def start_gateway(tmp: Path, upstream: FakeUpstream, server: str = "") -> Gateway:
    path = tmp / "gateway.toml"
    path.write_text(config_text(upstream, server))
    return Gateway(load_config(path))


@pytest.fixture
def gateway(upstream: FakeUpstream, tmp_path: Path) -> Iterator[RunningGateway]:
    with running(start_gateway(tmp_path, upstream)) as served:
        yield served


def client(gateway: RunningGateway, **options: Any) -> openai.OpenAI:
    return client_at(gateway.url, **options)


def client_at(url: str, **options: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="sk-test", max_retries=0, **options)


def api_requests(current: Scrape) -> float:
    """Requests counted on the model endpoints (the scrapes themselves are counted under ``metrics``)."""
    return sum(
        current.value("translator_requests_total", endpoint=endpoint)
        for endpoint in ("create_response", "create_chat_completion", "models")
    )


# -- exact counts ------------------------------------------------------------------------------------------


def test_every_kind_of_exchange_is_counted_once_with_its_outcome(gateway: RunningGateway) -> None:
    sdk = client(gateway)
    for _ in range(5):  # Responses over a chat upstream, streamed: translated
        with sdk.responses.create(model="fast", input="hi", stream=True) as stream:
            events = list(stream)
        assert events[-1].type == "response.completed"
    for _ in range(3):  # Chat over a chat upstream, not streamed: relayed
        completion = sdk.chat.completions.create(model="hello", messages=[{"role": "user", "content": "hi"}])
        assert completion.choices[0].message.content
    for _ in range(2):  # Chat over a Responses upstream, streamed: translated
        chunks = list(
            sdk.chat.completions.create(
                model="relayed", messages=[{"role": "user", "content": "hi"}], stream=True
            )
        )
        assert chunks[-1].choices == [] or chunks[-1].choices[0].finish_reason == "stop"
    with sdk.responses.create(model="relayed", input="hi", stream=True) as stream:  # relayed as it is
        assert list(stream)[-1].type == "response.completed"
    for _ in range(2):  # the upstream answers an HTML page: 502 before any answer
        with pytest.raises(openai.APIStatusError) as refused:
            sdk.responses.create(model="html", input="hi")
        assert refused.value.status_code == 502
    with sdk.responses.create(model="badjson", input="hi", stream=True) as stream:  # fails mid-stream
        assert list(stream)[-1].type == "response.failed"
    with pytest.raises(openai.NotFoundError):  # not routed: the gateway's own refusal
        sdk.responses.create(model="nope", input="hi")
    dropped = sdk.responses.create(  # two parameters with no Chat equivalent
        model="fast", input="hi", include=["file_search_call.results"], truncation="auto"
    )
    assert dropped.status == "completed"
    with sdk.responses.create(model="slow", input="hi", stream=True) as stream:  # the client leaves
        for n, _ in enumerate(stream):
            if n == 3:
                break

    after = wait_for(lambda: scrape(gateway.url), lambda s: api_requests(s) == 17)
    count = after.value
    assert api_requests(after) == 17
    requests = "translator_requests_total"
    responses, chat = "create_response", "create_chat_completion"
    assert count(requests, endpoint=responses, upstream="chat", model="fast", status="200") == 6
    assert count(requests, endpoint=chat, upstream="chat", model="hello", status="200") == 3
    assert count(requests, endpoint=chat, upstream="resp", model="relayed", status="200") == 2
    assert count(requests, endpoint=responses, upstream="resp", model="relayed", status="200") == 1
    assert count(requests, endpoint=responses, upstream="chat", model="html", status="502") == 2
    assert count(requests, endpoint=responses, upstream="chat", model="badjson", status="200") == 1
    assert count(requests, endpoint=responses, upstream="", model="", status="404") == 1
    assert count(requests, endpoint=responses, upstream="chat", model="slow", status="200") == 1
    assert after.labels(requests, "transport") == {"http"}
    # one observation per request, a first byte for each (all were answered)
    for name in ("translator_request_duration_seconds_count", "translator_time_to_first_byte_seconds_count"):
        assert count(name, endpoint="create_response") == 12
        assert count(name, endpoint="create_chat_completion") == 5
    assert count("translator_time_to_first_byte_seconds_bucket", endpoint="create_response", le="+Inf") == 12
    # failures of the upstream, by code; the gateway's own 404 is none
    assert count("translator_upstream_errors_total") == 3
    assert count("translator_upstream_errors_total", upstream="chat", code="bad_gateway") == 2
    assert count("translator_upstream_errors_total", upstream="chat", code="bad_upstream") == 1
    assert count("translator_dropped_parameters_total", parameter="include[]") == 1
    assert count("translator_dropped_parameters_total", parameter="truncation") == 1
    assert count("translator_client_disconnects_total", endpoint="create_response", upstream="chat") == 1
    # tokens: fast-5 reports 12 + 5 (6 times), the relayed hello streams report 5 + 4 (3 times);
    # the Chat completion object of "hello" reports its own
    assert count("translator_output_tokens_total", upstream="chat", model="fast") == 30
    assert count("translator_input_tokens_total", upstream="chat", model="fast") == 72
    assert count("translator_output_tokens_total", upstream="resp", model="relayed") == 12
    assert count("translator_streams_in_flight") == 0
    assert count("translator_store_errors_total") == 0


def test_streams_in_flight_count_open_streams_and_return_to_zero(gateway: RunningGateway) -> None:
    sdk = client(gateway)
    opened = threading.Barrier(4)
    release = threading.Event()

    def one(kind: str) -> None:
        if kind == "chat":
            stream: Any = sdk.chat.completions.create(
                model="slow", messages=[{"role": "user", "content": "hi"}], stream=True
            )
        else:
            stream = sdk.responses.create(model="slow", input="hi", stream=True)
        with stream:
            next(iter(stream))
            opened.wait(10)
            release.wait(20)

    threads = [threading.Thread(target=one, args=(kind,)) for kind in ("responses", "responses", "chat")]
    for thread in threads:
        thread.start()
    opened.wait(10)
    now = scrape(gateway.url)
    assert now.value("translator_streams_in_flight") == 3
    assert now.value("translator_streams_in_flight", endpoint="create_response", upstream="chat") == 2
    assert now.value("translator_streams_in_flight", endpoint="create_chat_completion", upstream="chat") == 1
    assert httpx.get(f"{gateway.url}/status/feed").json()["in_flight"] == 3
    release.set()
    for thread in threads:
        thread.join(10)
    after = wait_for(lambda: scrape(gateway.url), lambda s: s.value("translator_streams_in_flight") == 0)
    assert after.value("translator_streams_in_flight") == 0
    assert after.value("translator_client_disconnects_total") == 3
    assert after.value("translator_requests_total", model="slow", status="200") == 3


def test_a_client_gone_before_any_answer_counts_as_499(gateway: RunningGateway) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", int(gateway.url.rsplit(":", 1)[1]))) as sock:
        head = b"POST /v1/responses HTTP/1.1\r\nhost: gw\r\nauthorization: Bearer sk-test\r\n"
        sock.sendall(head + b"content-length: 100\r\n\r\n{")
        time.sleep(0.2)  # the request is routed, its body still awaited
    after = wait_for(lambda: scrape(gateway.url), lambda s: api_requests(s) == 1)
    assert after.value("translator_requests_total", endpoint="create_response", status="499") == 1
    assert after.value("translator_client_disconnects_total", endpoint="create_response") == 1


# -- the feed ---------------------------------------------------------------------------------------------


def test_the_status_feed_sums_what_metrics_say(gateway: RunningGateway) -> None:
    sdk = client(gateway)
    for _ in range(4):
        sdk.responses.create(model="fast", input="hi")
    with pytest.raises(openai.APIStatusError):
        sdk.responses.create(model="html", input="hi")
    time.sleep(0.05)
    feed = httpx.get(f"{gateway.url}/status/feed").json()
    assert feed["in_flight"] == 0
    assert feed["statuses"]["200"] >= 4 and feed["statuses"]["502"] == 1
    chat = next(row for row in feed["upstreams"] if row["name"] == "chat")
    assert chat["requests"] == 5 and chat["errors"] == 1
    assert chat["output_tokens"] == 20 and chat["input_tokens"] == 48
    assert chat["ttfb"][-1] == [None, 5]  # +Inf holds every observation
    assert [bound for bound, _ in chat["ttfb"]][:-1] == sorted(b for b, _ in chat["ttfb"][:-1])
    assert feed["upstream_errors"] == [{"upstream": "chat", "code": "bad_gateway", "count": 1}]
    (error,) = feed["recent_errors"]
    assert error["status"] == 502 and error["error"] == "bad_gateway" and error["upstream"] == "chat"
    assert error["request_id"].startswith("req_")


# -- keys, switches ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/metrics", "/status", "/status/feed"])
def test_operations_endpoints_need_the_inbound_key_bearer_or_basic(
    upstream: FakeUpstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.setenv("OPS_TEST_KEY", "gw-key")
    gateway = start_gateway(tmp_path, upstream, 'api_keys_env = ["OPS_TEST_KEY"]')
    with running(gateway) as served:
        missing = httpx.get(served.url + path)
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "invalid_api_key"
        assert missing.headers["www-authenticate"].startswith('Basic realm="translator gateway"')
        assert httpx.get(served.url + path, headers={"authorization": "Bearer wrong"}).status_code == 401
        assert httpx.get(served.url + path, headers={"authorization": "Bearer gw-key"}).status_code == 200
        basic = base64.b64encode(b"anyone:gw-key").decode()
        assert httpx.get(served.url + path, headers={"authorization": f"Basic {basic}"}).status_code == 200
        assert httpx.post(served.url + path, headers={"authorization": "Bearer gw-key"}).status_code == 405
        # Basic is for the operations endpoints only
        answer = httpx.get(f"{served.url}/v1/models", headers={"authorization": f"Basic {basic}"})
        assert answer.status_code == 401 and "www-authenticate" not in answer.headers


def test_metrics_public_opens_them_and_metrics_false_turns_them_off(
    upstream: FakeUpstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPS_TEST_KEY", "gw-key")
    public = start_gateway(tmp_path, upstream, 'api_keys_env = ["OPS_TEST_KEY"]\nmetrics_public = true')
    with running(public) as served:
        for path in ("/metrics", "/status", "/status/feed"):
            assert httpx.get(served.url + path).status_code == 200
        assert httpx.get(f"{served.url}/v1/models").status_code == 401  # the API still needs the key
    off = start_gateway(tmp_path, upstream, "metrics = false")
    assert off.metrics is None
    with running(off) as served:
        for path in ("/metrics", "/status", "/status/feed"):
            assert httpx.get(served.url + path).status_code == 404
        answer = client(served).responses.create(model="fast", input="hi")
        assert answer.status == "completed"


def test_the_status_page_is_self_contained(gateway: RunningGateway) -> None:
    page = httpx.get(f"{gateway.url}/status")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    html = page.text
    assert 'data-testid="in-flight"' in html and 'fetch("status/feed"' in html
    assert "http://" not in html and "https://" not in html  # nothing from elsewhere
    assert "innerHTML" not in html  # what comes from requests is written as text


def test_labels_stay_bounded_whatever_clients_send(gateway: RunningGateway) -> None:
    sdk = client(gateway)
    for n in range(30):  # unrouted model names and odd paths never become label values
        with pytest.raises(openai.NotFoundError):
            sdk.responses.create(model=f"client-model-{n}", input="hi")
        httpx.get(f"{gateway.url}/v1/unknown-{n}", headers={"authorization": "Bearer sk-test"})
        httpx.get(f"{gateway.url}/v1/responses/resp_{n}", headers={"authorization": "Bearer sk-test"})
    current = scrape(gateway.url)
    assert current.labels("translator_requests_total", "model") <= {""}
    assert current.labels("translator_requests_total", "endpoint") <= {
        "create_response",
        "get_response",
        "other",
        "metrics",
    }


# -- several workers --------------------------------------------------------------------------------------


def _worker_pids(pid: int) -> list[int]:
    """uvicorn's worker processes (multiprocessing's resource tracker aside)."""
    children = [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    tracker = b"resource_tracker"
    return [child for child in children if tracker not in Path(f"/proc/{child}/cmdline").read_bytes()]


def _environment(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").partition("=")[::2] for item in raw if item)


def _own_counts(folder: Path, pid: int, into: Path) -> Scrape:
    """What one worker counted: its own multiprocess files alone, read by prometheus-client's collector."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    into.mkdir()
    for path in folder.glob(f"*_{pid}.db"):
        (into / path.name).write_bytes(path.read_bytes())
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(into))
    return Scrape.parse(generate_latest(registry).decode())


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads the workers from /proc (Linux)")
def test_two_workers_count_together_and_their_folder_is_removed(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    from support.gateway import ServeProcess

    config = tmp_path / "gateway.toml"
    config.write_text(config_text(upstream))
    gateway = ServeProcess("--config", str(config), "--workers", "2")
    try:
        deadline = time.monotonic() + 20
        while len(workers := _worker_pids(gateway.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(workers) == 2
        folder = Path(_environment(workers[0])["PROMETHEUS_MULTIPROC_DIR"])
        assert folder.is_dir() and folder.name.startswith("translator-metrics-")

        def one(model: str) -> None:
            with httpx.Client() as http:  # a connection of its own: any worker may take it
                sdk = client_at(gateway.url, http_client=http)
                if model == "html":
                    with pytest.raises(openai.APIStatusError):
                        sdk.responses.create(model=model, input="hi")
                else:
                    with sdk.responses.create(model=model, input="hi", stream=True) as stream:
                        assert list(stream)[-1].type == "response.completed"

        sent = {"fast": 0, "html": 0}
        own: list[Scrape] = []
        for batch in range(5):  # until both workers have served some (the kernel picks who accepts)
            threads = [threading.Thread(target=one, args=(m,)) for m in ["fast"] * 16 + ["html"] * 4]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            sent["fast"] += 16
            sent["html"] += 4
            time.sleep(0.3)
            own = [_own_counts(folder, pid, tmp_path / f"w{batch}-{pid}") for pid in workers]
            if all(count.value("translator_requests_total", model="fast") for count in own):
                break
        served = [count.value("translator_requests_total", model="fast") for count in own]
        assert all(served) and sum(served) == sent["fast"], served
        for _ in range(6):  # whichever worker answers the scrape, it counts both
            total = scrape(gateway.url)
            assert total.value("translator_requests_total", model="fast", status="200") == sent["fast"]
            assert total.value("translator_requests_total", model="html", status="502") == sent["html"]
            assert total.value("translator_upstream_errors_total", code="bad_gateway") == sent["html"]
            assert total.value("translator_output_tokens_total", model="fast") == 5 * sent["fast"]
            assert total.value("translator_streams_in_flight") == 0
            feed = httpx.get(f"{gateway.url}/status/feed").json()
            assert len(feed["recent_errors"]) == min(sent["html"], 20)  # both workers' last errors
    finally:
        gateway.stop()
    assert not folder.exists()
