"""The gateway under load and faults: a real ``translator serve`` process, a real upstream process.

Everything runs on loopback, bounded in count and time.  The gateway is its own process (so memory,
descriptors and connections measured are the server's own, from ``/proc``); the upstream is
``tests/support/fake_upstream.py`` in its own process (so it can be killed mid-stream).  Longer variants
are marked ``soak`` and run by ``make soak`` only.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from support.fake_upstream import UpstreamProcess, chat_frames
from support.gateway import ServeProcess
from support.metrics import scrape, wait_for
from support.sdk import check_failed_stream, validate_responses_events

from translator import normalize_stream, translate_chat_stream
from translator.engine.sse import Done, iter_sse

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to measure the gateway process")

READ_TIMEOUT = 2.0
CLIENT_TIMEOUT = 1.5
BODY_LIMIT = 64 * 1024


# -- fixtures ------------------------------------------------------------------------------------------


def _config(
    tmp: Path, upstream: UpstreamProcess, extra: str = "", client_timeout: float = CLIENT_TIMEOUT
) -> Path:
    path = tmp / "gateway.toml"
    path.write_text(
        f'[server]\nmax_body_bytes = {BODY_LIMIT}\nclient_timeout = {client_timeout}\nstore = "memory"\n'
        f"{extra}"
        f'[upstreams.default]\nbase_url = "{upstream.url}"\nread_timeout = {READ_TIMEOUT}\n'
        "connect_timeout = 2\nmax_connections = 4000\n"
    )
    return path


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamProcess]:
    process = UpstreamProcess()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def gateway(upstream: UpstreamProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    tmp = tmp_path_factory.mktemp("gateway")
    process = ServeProcess("--config", str(_config(tmp, upstream)), log=tmp / "gateway.log", probe=True)
    yield process
    process.stop()


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Callable[..., tuple[UpstreamProcess, ServeProcess]]]:
    """A new upstream and gateway pair, for the tests that kill or wear them."""
    started: list[Any] = []

    def start(
        extra: str = "", env: dict[str, str] | None = None, client_timeout: float = CLIENT_TIMEOUT
    ) -> tuple[UpstreamProcess, ServeProcess]:
        upstream = UpstreamProcess()
        started.append(upstream)
        config = _config(tmp_path, upstream, extra, client_timeout)
        gateway = ServeProcess("--config", str(config), log=tmp_path / "gateway.log", env=env, probe=True)
        started.append(gateway)
        return upstream, gateway

    yield start
    for process in reversed(started):
        process.stop()


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def payloads(body: bytes) -> list[dict[str, Any]]:
    return [p for p in iter_sse([body]) if not isinstance(p, Done)]


def responses_body(model: str) -> dict[str, Any]:
    return {"model": model, "input": "hi", "stream": True}


def chat_body(model: str) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": True}


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


# -- a raw HTTP/1.1 client, for the clients no library lets you be ---------------------------------------


#: The clients' own key: the gateway (without inbound keys) passes it upstream and keeps state apart by it.
CLIENT_AUTH = {"authorization": "Bearer sk-load-client"}
AUTH_LINE = "authorization: Bearer sk-load-client\r\n"


def raw_request(path: str, body: bytes, *, headers: str = "") -> bytes:
    """A POST as bytes, with the client's key unless ``headers`` bring an ``authorization`` of their own."""
    auth = "" if "authorization:" in headers else AUTH_LINE
    return (
        f"POST {path} HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n{auth}{headers}\r\n"
    ).encode() + body


def dechunk(data: bytes) -> bytes:
    """A chunked HTTP/1.1 body, decoded (up to where it was cut)."""
    out = bytearray()
    at = 0
    while True:
        end = data.find(b"\r\n", at)
        if end < 0:
            return bytes(out)
        size = int(data[at:end].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += data[end + 2 : end + 2 + size]
        at = end + 2 + size + 2


async def stream(port: int, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
    """One streamed answer on its own connection (``connection: close``): status and decoded body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw_request(path, orjson.dumps(body), headers="connection: close\r\n"))
    data = await reader.read()
    writer.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, dechunk(rest) if b"transfer-encoding: chunked" in head.lower() else rest


async def read_answer(reader: asyncio.StreamReader, head: bytes | None = None) -> tuple[int, bytes]:
    """Status and body of one answer with a Content-Length (error answers are)."""
    head = head or await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return status, await reader.readexactly(length)


# -- load ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("streams", [500, pytest.param(2000, marks=pytest.mark.soak)])
def test_concurrent_streams_through_one_worker_each_equal_to_their_offline_translation(
    gateway: ServeProcess, upstream: UpstreamProcess, streams: int
) -> None:
    # 6-9 s each: all open at once, even while a loaded machine takes seconds to open 500 connections
    models = [f"paced-{60 + n % 30}-100" for n in range(streams)]
    peak_before = upstream.stats()["peak_streams"]
    counted = scrape(gateway.url)

    async def all_streams() -> list[tuple[int, bytes]]:
        return await asyncio.gather(
            *(stream(gateway.port, "/v1/responses", responses_body(m)) for m in models)
        )

    bodies = run(all_streams())
    assert upstream.stats()["peak_streams"] >= max(peak_before, streams)
    expected: dict[str, Any] = {}
    for number, (model, (status, body)) in enumerate(zip(models, bodies, strict=True)):
        assert status == 200
        events = payloads(body)
        if number < 5:
            validate_responses_events(events)
        if model not in expected:
            n = int(model.split("-")[1])
            frames = chat_frames(model, n)
            expected[model] = normalize_stream(
                list(translate_chat_stream(frames, response_fields={"store": True}))
            )
        assert normalize_stream(events) == expected[model], model
    # the metrics count every one of them, exactly once, and no stream stays open
    after = wait_for(lambda: scrape(gateway.url), lambda s: s.value("translator_streams_in_flight") == 0)
    delta = lambda name, **labels: after.value(name, **labels) - counted.value(name, **labels)  # noqa: E731
    requests = "translator_requests_total"
    assert delta(requests, endpoint="create_response", upstream="default", status="200") == streams
    assert delta(requests, endpoint="create_response") == streams
    assert delta("translator_request_duration_seconds_count", endpoint="create_response") == streams
    assert delta("translator_time_to_first_byte_seconds_count", endpoint="create_response") == streams
    assert delta("translator_output_tokens_total") == sum(int(model.split("-")[1]) for model in models)
    assert delta("translator_upstream_errors_total") == delta("translator_client_disconnects_total") == 0
    assert after.value("translator_streams_in_flight") == 0
    assert gateway.alive()


def test_upstream_killed_mid_stream_ends_every_stream_and_leaves_no_connection(
    fresh: Callable[..., tuple[UpstreamProcess, ServeProcess]],
) -> None:
    upstream, gateway = fresh()
    started = asyncio.Event()
    count = 100  # half Responses clients (translated), half Chat clients (relayed)

    async def one(client: httpx.AsyncClient, number: int, opened: list[int]) -> tuple[str, bytes, float]:
        kind = "responses" if number % 2 else "chat"
        body = responses_body("paced-400-50") if kind == "responses" else chat_body("paced-400-50")
        data = b""
        async with client.stream(
            "POST", f"/v1/{kind if kind == 'responses' else 'chat/completions'}", json=body
        ) as answer:
            async for piece in answer.aiter_raw():
                data += piece
                if data.count(b"\n\n") >= 6 and number not in opened:
                    opened.append(number)
                    if len(opened) == count:
                        started.set()
        return kind, data, time.monotonic()

    async def scenario() -> tuple[list[tuple[str, bytes, float]], float]:
        opened: list[int] = []
        limits = httpx.Limits(max_connections=count)
        async with httpx.AsyncClient(
            base_url=gateway.url, headers=CLIENT_AUTH, limits=limits, timeout=30
        ) as client:
            tasks = [asyncio.ensure_future(one(client, n, opened)) for n in range(count)]
            await asyncio.wait_for(started.wait(), 20)
            assert gateway.connections_to(upstream.port) == count
            await asyncio.get_running_loop().run_in_executor(None, upstream.kill)
            killed = time.monotonic()
            return await asyncio.wait_for(asyncio.gather(*tasks), READ_TIMEOUT + 5), killed

    results, killed = run(scenario())
    for kind, data, ended in results:
        assert ended - killed < READ_TIMEOUT + 1
        frames = payloads(data)
        if kind == "responses":
            final, unfinished = check_failed_stream(frames)
            assert "'default'" in final["error"]["message"]
            # what was received is kept, in the message the kill broke off, which is never announced done
            assert final["output"] == unfinished and unfinished[0]["content"][0]["text"]
        else:
            assert "error" in frames[-1] and "'default'" in frames[-1]["error"]["message"]
            assert b"[DONE]" not in data
    validate_responses_events(payloads(next(d for k, d, _ in results if k == "responses")))
    assert wait_until(lambda: gateway.connections_to(upstream.port) == 0, 3)
    assert gateway.probe()["upstream_busy"] == gateway.probe()["upstream_idle"] == 0
    assert gateway.alive()


@pytest.mark.parametrize("count", [1000, pytest.param(10000, marks=pytest.mark.soak)])
def test_clients_disconnecting_at_random_points_leak_nothing(
    fresh: Callable[..., tuple[UpstreamProcess, ServeProcess]], count: int
) -> None:
    upstream, gateway = fresh()
    rng = random.Random(11)
    body = raw_request("/v1/responses", b'{"model": "paced-100-20", "input": "hi", "stream": true}')

    async def one(cut: float) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        if cut < 0.1:  # inside the request itself
            writer.write(body[: int(len(body) * cut * 10)])
        else:
            writer.write(body)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(reader.read(1 << 20), cut)  # mid-stream (the stream lasts 2 s)
        writer.transport.abort()  # a reset, as a killed client leaves it

    async def wave(count: int) -> None:
        for start in range(0, count, 200):
            await asyncio.gather(*(one(rng.uniform(0, 1.0)) for _ in range(min(200, count - start))))

    def settled() -> bool:
        stats = upstream.stats()
        return stats["open_streams"] == 0

    # warm up with as many clients as are measured: the baseline is taken with every code path loaded and
    # every bounded structure (the status page's recent errors, metric label sets, pools) at its size
    run(wave(min(count, 1000)))
    assert wait_until(settled, 5)
    time.sleep(0.3)
    before = upstream.stats()
    counted = scrape(gateway.url)
    baseline = {"rss": gateway.rss(), "fds": gateway.fds(), **gateway.probe()}
    run(wave(count))
    assert wait_until(settled, 5)
    after = upstream.stats()
    started = after["requests"] - before["requests"]
    assert started > count * 0.8  # the other requests were cut before their body was complete
    assert after["closed_early"] - before["closed_early"] == started  # the upstream saw each one closed
    assert after["finished"] == before["finished"]
    # every request the gateway routed is counted once: those that reached the upstream as 200s (their
    # stream had started), those cut inside their body as 499s, and (on a machine loaded enough for the
    # upstream's connect_timeout to pass) the upstream's refusals as 5xx, each one an upstream error
    total = wait_for(lambda: scrape(gateway.url), lambda s: s.value("translator_streams_in_flight") == 0)
    delta = lambda name, **labels: total.value(name, **labels) - counted.value(name, **labels)  # noqa: E731
    requests = "translator_requests_total"
    statuses = {
        status: delta(requests, endpoint="create_response", status=status)
        for status in sorted(total.labels(requests, "status"))
    }
    assert statuses.pop("200") == started, statuses
    cut = statuses.pop("499", 0)
    refused = sum(statuses.values())  # 502, 503, 504 before any answer
    assert all(status.startswith("5") for status, n in statuses.items() if n), statuses
    before_answer = ["bad_gateway", "gateway_timeout", "upstream_busy"]
    assert refused == sum(delta("translator_upstream_errors_total", code=code) for code in before_answer)
    routed = delta(requests, endpoint="create_response")
    assert routed == started + cut + refused and started <= routed <= count
    assert cut <= delta("translator_client_disconnects_total") <= started + cut
    assert total.value("translator_streams_in_flight") == 0
    assert wait_until(lambda: gateway.probe()["tasks"] <= baseline["tasks"], 3), gateway.probe()
    assert gateway.probe()["upstream_busy"] == gateway.probe()["upstream_idle"] == 0
    assert gateway.connections_to(upstream.port) == 0
    assert wait_until(lambda: gateway.fds() <= baseline["fds"], 3), (gateway.fds(), baseline)
    assert gateway.rss() <= baseline["rss"] * 1.10, (gateway.rss(), baseline["rss"])


def _stream_to_a_slow_reader(
    gateway: ServeProcess, upstream: UpstreamProcess, reads: int
) -> tuple[int, int, int]:
    """A client with a 4 KiB receive buffer asks for 300 MB and reads 2 bytes every 0.1 s, ``reads``
    times; then resets.  Returns the gateway's RSS growth meanwhile, the bytes the upstream wrote, and
    the bytes read."""

    async def slow_reader() -> tuple[int, int, int]:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", gateway.port))
        sock.setblocking(False)
        reader, writer = await asyncio.open_connection(sock=sock)
        writer.write(
            raw_request("/v1/responses", b'{"model": "big-300000000", "input": "x", "stream": true}')
        )
        rss_start = gateway.rss()
        peak = rss_start
        read = 0
        for _ in range(reads):
            with contextlib.suppress(ConnectionError):
                read += len(await reader.read(2))
            await asyncio.sleep(0.1)
            peak = max(peak, gateway.rss())
        written = upstream.stats()["bytes_written"]
        writer.transport.abort()
        return peak - rss_start, written, read

    return run(slow_reader())


def test_a_slow_client_holds_back_the_upstream_instead_of_filling_memory(
    fresh: Callable[..., tuple[UpstreamProcess, ServeProcess]],
) -> None:
    upstream, gateway = fresh(client_timeout=30)
    for _ in range(2):  # warm up: the first requests load code and grow the heap
        httpx.post(
            f"{gateway.url}/v1/responses", json=responses_body("big-500000"), headers=CLIENT_AUTH, timeout=30
        )
    before = upstream.stats()
    grown, written, read = _stream_to_a_slow_reader(gateway, upstream, 30)  # 3 s at 20 bytes a second
    assert read == 60
    # Only what the kernel's socket buffers hold left the upstream (about 10 MB on loopback), not 300 MB:
    # the gateway reads the upstream only as fast as its client reads ...
    assert written - before["bytes_written"] < 32_000_000, written
    # ... and keeps none of it: its memory does not grow with what passed (about 0.1 MB measured; the
    # bound leaves room for a busy machine's noise).
    assert grown < 16_000_000, grown
    assert wait_until(lambda: upstream.stats()["open_streams"] == 0, 3)
    assert upstream.stats()["closed_early"] == before["closed_early"] + 1


def test_a_client_that_stops_reading_is_dropped_after_the_client_timeout(
    gateway: ServeProcess, upstream: UpstreamProcess
) -> None:
    assert wait_until(lambda: upstream.stats()["open_streams"] == 0, 3)
    tasks = gateway.probe()["tasks"]
    before = upstream.stats()

    async def stuck() -> tuple[float, bool]:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", gateway.port))
        sock.setblocking(False)
        started = time.monotonic()
        reader, writer = await asyncio.open_connection(sock=sock)
        writer.write(
            raw_request("/v1/responses", b'{"model": "big-300000000", "input": "x", "stream": true}')
        )
        # never reads: once the socket buffers are full, no write of the gateway completes
        deadline = started + CLIENT_TIMEOUT + 8
        while upstream.stats()["requests"] == before["requests"] or upstream.stats()["open_streams"]:
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        dropped = time.monotonic() - started
        alive = not reader.at_eof()
        writer.transport.abort()
        return dropped, alive

    dropped, _ = run(stuck())
    assert dropped < CLIENT_TIMEOUT + 5, dropped  # the gateway gave up on the client
    assert upstream.stats()["closed_early"] == before["closed_early"] + 1  # and closed its upstream request
    assert wait_until(lambda: gateway.probe()["tasks"] <= tasks, 3)
    assert gateway.probe()["upstream_busy"] == 0  # (idle ones, kept alive, may remain)


# -- faults of the upstream ------------------------------------------------------------------------------


def test_stalled_upstreams_fail_after_the_read_timeout_naming_it(gateway: ServeProcess) -> None:
    async def one(client: httpx.AsyncClient) -> tuple[list[dict[str, Any]], float]:
        started = time.monotonic()
        answer = await client.post("/v1/responses", json=responses_body("stall-5"))
        return payloads(answer.content), time.monotonic() - started

    async def many() -> list[tuple[list[dict[str, Any]], float]]:
        async with httpx.AsyncClient(base_url=gateway.url, headers=CLIENT_AUTH, timeout=30) as client:
            return await asyncio.gather(*(one(client) for _ in range(50)))

    for events, seconds in run(many()):
        assert READ_TIMEOUT - 0.1 < seconds < READ_TIMEOUT + 2
        final, unfinished = check_failed_stream(events)
        assert f"sent nothing for {READ_TIMEOUT:g} s (read timeout)" in final["error"]["message"]
        assert final["output"] == unfinished  # the stalled message: listed incomplete, never done
        assert unfinished[0]["status"] == "incomplete"
        assert unfinished[0]["content"][0]["text"] == " alpha0 beta1 gamma2 delta3 epsilon4"
    validate_responses_events(events)


@pytest.mark.parametrize(
    ("model", "named"),
    [
        ("html", "with 'text/html', not JSON or an event stream"),
        ("badjson", "cannot be translated"),
        ("binary", "cannot be translated"),
    ],
)
def test_garbage_from_the_upstream_fails_naming_it_and_the_gateway_serves_on(
    gateway: ServeProcess, model: str, named: str
) -> None:
    with httpx.Client(base_url=gateway.url, headers=CLIENT_AUTH, timeout=10) as client:
        for _ in range(20):
            answer = client.post("/v1/responses", json=responses_body(model))
            if model == "html":
                assert answer.status_code == 502 and named in answer.json()["error"]["message"]
            else:
                events = payloads(answer.content)
                final, _ = check_failed_stream(events)
                assert named in final["error"]["message"]
            good = client.post("/v1/responses", json=responses_body("fast-3"))
            assert payloads(good.content)[-1]["type"] == "response.completed"
    assert gateway.alive()


# -- hostile clients -------------------------------------------------------------------------------------


AUTH = AUTH_LINE.encode()


def test_oversized_and_deeply_nested_bodies_are_refused(gateway: ServeProcess) -> None:
    async def scenario() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        # declared too large: refused before a byte of the body is read
        writer.write(b"POST /v1/responses HTTP/1.1\r\nhost: gw\r\ncontent-length: 999999999\r\n%s\r\n" % AUTH)
        status, body = await asyncio.wait_for(read_answer(reader), 5)
        assert status == 413 and b"request_too_large" in body
        writer.close()
        # chunked, without a length: refused once the limit is passed
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        writer.write(
            b"POST /v1/responses HTTP/1.1\r\nhost: gw\r\ntransfer-encoding: chunked\r\n%s\r\n" % AUTH
        )
        piece = b"x" * 16384
        with contextlib.suppress(ConnectionError):
            for _ in range(BODY_LIMIT // len(piece) + 2):
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                await writer.drain()
        status, body = await asyncio.wait_for(read_answer(reader), 5)
        assert status == 413 and str(BODY_LIMIT).encode() in body
        writer.close()

    run(scenario())
    deep = httpx.post(
        f"{gateway.url}/v1/responses", content=b"[" * 30000 + b"]" * 30000, headers=CLIENT_AUTH, timeout=10
    )
    assert deep.status_code == 400 and "not valid JSON" in deep.json()["error"]["message"]
    deep_object = b'{"model": "fast-3", "input": ' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}"
    answer = httpx.post(f"{gateway.url}/v1/responses", content=deep_object, headers=CLIENT_AUTH, timeout=10)
    assert answer.status_code == 400
    assert gateway.alive()


def test_slowloris_clients_are_cut_off_and_do_not_hold_the_worker(gateway: ServeProcess) -> None:
    head = b"POST /v1/responses HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\n" + AUTH

    async def trickle_head() -> tuple[int, bytes, float]:
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        started = time.monotonic()
        answer = None
        for byte in head:  # one byte every 0.1 s, until the gateway answers
            writer.write(bytes([byte]))
            with contextlib.suppress(asyncio.TimeoutError):
                answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 0.1)
                break
        status, body = await asyncio.wait_for(read_answer(reader, answer), 10)
        writer.close()
        return status, body, time.monotonic() - started

    async def silent() -> float:
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        started = time.monotonic()
        assert b" 408 " in await asyncio.wait_for(reader.read(), 10)  # the 408, then the close
        writer.close()
        return time.monotonic() - started

    async def trickle_body() -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        writer.write(head + b"content-length: 100\r\n\r\n{")
        for _ in range(40):
            if reader.at_eof():
                break
            with contextlib.suppress(ConnectionError):
                writer.write(b" ")
            await asyncio.sleep(0.1)
        answer = await asyncio.wait_for(read_answer(reader), 10)
        writer.close()
        return answer

    async def huge_head() -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        with contextlib.suppress(ConnectionError):
            writer.write(head + b"x-filler: " + b"a" * 200_000)
            await writer.drain()
        status, _ = await asyncio.wait_for(read_answer(reader), 10)
        writer.close()
        return status

    async def scenario() -> None:
        slow = [asyncio.ensure_future(trickle_head()) for _ in range(50)]
        quiet = [asyncio.ensure_future(silent()) for _ in range(50)]
        body = asyncio.ensure_future(trickle_body())
        await asyncio.sleep(0.3)
        async with httpx.AsyncClient(
            base_url=gateway.url, headers=CLIENT_AUTH, timeout=5
        ) as client:  # meanwhile, served
            answer = await client.post("/v1/responses", json=responses_body("fast-3"))
            assert payloads(answer.content)[-1]["type"] == "response.completed"
        for status, text, seconds in await asyncio.gather(*slow):
            assert status == 408 and b"request headers not received within 1.5 s" in text
            assert seconds < CLIENT_TIMEOUT + 1
        for seconds in await asyncio.gather(*quiet):
            assert seconds < CLIENT_TIMEOUT + 1
        status, text = await body
        assert status == 408 and b"request body not received within 1.5 s" in text
        assert await huge_head() == 431

    run(scenario())
    assert gateway.alive()


def test_10000_requests_with_invalid_keys_get_clear_errors_in_bounded_memory(
    fresh: Callable[..., tuple[UpstreamProcess, ServeProcess]],
) -> None:
    upstream, gateway = fresh(
        'api_keys_env = ["LOAD_TEST_GATEWAY_KEY"]\n', {"LOAD_TEST_GATEWAY_KEY": "gw-good-key"}
    )
    body = b'{"model": "fast-3", "input": "hi"}'
    statuses: dict[int, int] = {}

    async def client(number: int, count: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        for n in range(count):
            key = f"sk-wrong-{number}-{n}-" + "k" * (n % 200)
            writer.write(raw_request("/v1/responses", body, headers=f"authorization: Bearer {key}\r\n"))
            status, text = await read_answer(reader)
            statuses[status] = statuses.get(status, 0) + 1
            if n == 0:
                assert b"invalid API key" in text and key.encode() not in text
        writer.close()

    async def wave(clients: int, each: int) -> None:
        await asyncio.gather(*(client(c, each) for c in range(clients)))

    run(wave(20, 50))  # warm up
    baseline = gateway.rss()
    statuses.clear()
    run(wave(50, 200))
    assert statuses == {401: 10000}
    assert gateway.rss() < baseline + 8_000_000, (gateway.rss(), baseline)
    good = httpx.post(
        f"{gateway.url}/v1/responses",
        json={"model": "fast-3", "input": "hi"},
        headers={"authorization": "Bearer gw-good-key"},
    )
    assert good.status_code == 200 and good.json()["status"] == "completed"
    assert upstream.stats()["requests"] == 1  # none of the 10,000 reached the upstream
    assert (
        "gw-good-key" not in gateway.log_path.read_text() and "sk-wrong" not in gateway.log_path.read_text()
    )
