"""The gateway end to end: a real uvicorn server on loopback, a real fake upstream, the SDK as client.

What the client receives is compared with what the core translators produce offline for the same
recording (ids and timestamps normalized), every event/chunk is validated against the SDK's types and
fed to its accumulators, and each error path raises the SDK's error class with the right status.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response
from pydantic import TypeAdapter
from support.corpus import CORPUS, SKIP_REASON, corpus_files, corpus_params, read_json
from support.fake_upstream import UPSTREAM_RESPONSE_ID, FakeUpstream, split_frames
from support.gateway import RunningGateway, ServeProcess, running
from support.net import free_port
from support.sdk import accumulate_with_sdk, check_failed_stream, validate_responses_events, without_parsed

from translator import normalize, normalize_stream, translate_chat_stream, translate_responses_stream
from translator.convert.objects import chat_completion_to_response, response_to_chat_completion
from translator.engine.sse import Done, iter_sse
from translator.errors import TranslatorError
from translator.gateway.app import Gateway
from translator.gateway.config import ConfigError, load_config
from translator.streams.accumulate import accumulate_chat

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=SKIP_REASON)

_CHUNK = TypeAdapter(ChatCompletionChunk)
ROOT = Path(__file__).resolve().parents[2]


# -- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chat_gateway(upstream: FakeUpstream) -> Iterator[RunningGateway]:
    with running(Gateway(load_config(upstream=upstream.url, store="memory"))) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def responses_gateway(upstream: FakeUpstream) -> Iterator[RunningGateway]:
    with running(
        Gateway(load_config(upstream=upstream.url, upstream_protocol="responses", store="memory"))
    ) as gateway:
        yield gateway


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    return path


@pytest.fixture
def gateway_from(tmp_path: Path, upstream: FakeUpstream) -> Iterator[Any]:
    """Start a gateway from a TOML text (``{upstream}`` is replaced by the fake's URL)."""
    started: list[RunningGateway] = []

    def start(text: str, **flags: Any) -> RunningGateway:
        path = write_config(tmp_path, text.replace("{upstream}", upstream.url))
        flags.setdefault("store", "memory")
        gateway = RunningGateway(Gateway(load_config(path, **flags))).start()
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()


def sdk(gateway: RunningGateway, **options: Any) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{gateway.url}/v1", api_key=options.pop("api_key", "sk-client"), max_retries=0, **options
    )


def sse_payloads(body: bytes) -> list[dict[str, Any]]:
    """The JSON payloads of an SSE body (``[DONE]`` left out)."""
    return [p for p in iter_sse([body]) if not isinstance(p, Done)]


#: The client's own key, which a gateway without inbound keys passes upstream (and scopes state by).
CLIENT_AUTH = {"authorization": "Bearer sk-client"}


def post(gateway: RunningGateway, path: str, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
    kwargs.setdefault("headers", CLIENT_AUTH)
    return httpx.post(f"{gateway.url}{path}", json=body, timeout=30, **kwargs)


# -- Responses over a chat upstream ----------------------------------------------------------------------

_N_CHOICES = "openai__n3_multiple_choices"


@pytest.mark.parametrize("path", corpus_params("chat", "*.sse"))
def test_responses_stream_over_chat_equals_offline_translation(
    chat_gateway: RunningGateway, path: Path
) -> None:
    answer = post(
        chat_gateway, "/v1/responses", {"model": f"replay:chat/{path.name}", "input": "hi", "stream": True}
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    events = sse_payloads(answer.content)
    validate_responses_events(events)
    final = accumulate_with_sdk(events)
    assert final is not None
    assert without_parsed(final.model_dump(mode="json", exclude_unset=True)) == events[-1]["response"]
    if path.stem == _N_CHOICES:  # no n>1 in Responses: the upstream's stream cannot be translated
        assert events[-1]["type"] == "response.failed"
        assert "choice" in events[-1]["response"]["error"]["message"]
        return
    expected = list(translate_chat_stream([path.read_bytes()], response_fields={"store": True}))
    assert normalize_stream(events) == normalize_stream(expected)


@needs_corpus
@pytest.mark.parametrize(
    "name",
    ["openai__tool_calls_parallel_two_functions", "deepseek__reasoning_then_tool_call", "openai__text_plain"],
)
def test_sdk_stream_helper_and_non_streaming_give_the_offline_response(
    chat_gateway: RunningGateway, name: str
) -> None:
    path = CORPUS / "chat" / f"{name}.sse"
    expected = list(translate_chat_stream([path.read_bytes()], response_fields={"store": True}))[-1][
        "response"
    ]
    client = sdk(chat_gateway)
    with client.responses.stream(model=f"replay:chat/{path.name}", input="hi") as stream:
        seen = [event.type for event in stream]
        final = stream.get_final_response()
    assert seen[0] == "response.created" and seen[-1] == "response.completed"
    assert normalize(without_parsed(final.model_dump(mode="json", exclude_unset=True))) == normalize(expected)
    whole = client.responses.create(model=f"replay:chat/{path.name}", input="hi")
    assert isinstance(whole, Response)
    assert normalize(whole.model_dump(mode="json", exclude_unset=True)) == normalize(expected)


@needs_corpus
def test_async_client_streams_through_the_gateway(chat_gateway: RunningGateway) -> None:
    path = CORPUS / "chat" / "xai__grok_reasoning_content_tool_call.sse"
    expected = list(translate_chat_stream([path.read_bytes()], response_fields={"store": True}))

    async def run() -> list[dict[str, Any]]:
        client = openai.AsyncOpenAI(base_url=f"{chat_gateway.url}/v1", api_key="sk", max_retries=0)
        events = []
        async with client:
            stream = await client.responses.create(model=f"replay:chat/{path.name}", input="hi", stream=True)
            async for event in stream:
                events.append(event.model_dump(mode="json", exclude_unset=True))
        return events

    events = asyncio.run(run())
    assert normalize_stream(events) == normalize_stream(expected)


def test_dropped_parameters_are_reported_in_a_header_and_the_log(
    chat_gateway: RunningGateway, upstream: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="translator.gateway")
    body = {"model": "llama3", "input": "hi", "truncation": "auto", "max_tool_calls": 3, "temperature": 0.2}
    answer = post(chat_gateway, "/v1/responses", body)
    assert answer.status_code == 200
    dropped = answer.headers["x-translator-dropped"]
    assert "request.truncation" in dropped and "request.max_tool_calls" in dropped
    sent = upstream.last().body
    assert "truncation" not in sent and "max_tool_calls" not in sent and sent["temperature"] == 0.2
    line = json.loads([r.getMessage() for r in caplog.records if r.name == "translator.gateway"][-1])
    assert any("request.truncation" in d for d in line["dropped"])
    assert line["client_protocol"] == "responses" and line["status"] == 200 and line["model"] == "llama3"
    assert line["input_tokens"] == 5 and line["output_tokens"] == 4  # the fake stream's usage chunk
    assert line["ttfb_ms"] is not None and line["duration_ms"] >= line["ttfb_ms"]


def test_upstream_gets_a_streaming_chat_request_with_usage(
    chat_gateway: RunningGateway, upstream: FakeUpstream
) -> None:
    post(
        chat_gateway,
        "/v1/responses",
        {"model": "m", "input": "hi", "instructions": "be brief", "stream": False},
    )
    seen = upstream.last()
    assert seen.path == "/v1/chat/completions"
    assert seen.body["stream"] is True and seen.body["stream_options"] == {"include_usage": True}
    assert seen.body["messages"][0] == {"role": "system", "content": "be brief"}


# -- Chat over a responses upstream ----------------------------------------------------------------------


def _chat_offline(path: Path, include_usage: bool) -> list[dict[str, Any]]:
    try:
        return list(translate_responses_stream([path.read_bytes()], include_usage=include_usage))
    except TranslatorError as exc:  # pragma: no cover - every corpus stream translates
        raise AssertionError(exc) from exc


@pytest.mark.parametrize("path", corpus_params("responses", "*.sse"))
def test_chat_stream_over_responses_equals_offline_translation(
    responses_gateway: RunningGateway, path: Path
) -> None:
    body = {
        "model": f"replay:responses/{path.name}",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    answer = post(responses_gateway, "/v1/chat/completions", body)
    assert answer.status_code == 200
    chunks = sse_payloads(answer.content)
    expected = _chat_offline(path, include_usage=True)
    assert normalize_stream(chunks) == normalize_stream(expected)
    ends_in_error = "error" in chunks[-1]
    assert answer.content.endswith(b"data: [DONE]\n\n") != ends_in_error
    state = ChatCompletionStreamState()
    for chunk in chunks[:-1] if ends_in_error else chunks:
        state.handle_chunk(_CHUNK.validate_python(chunk))


@needs_corpus
def test_chat_sdk_non_streaming_and_errors_over_responses(responses_gateway: RunningGateway) -> None:
    client = sdk(responses_gateway)
    path = CORPUS / "responses" / "openai__function_call.sse"
    completion = client.chat.completions.create(
        model=f"replay:responses/{path.name}", messages=[{"role": "user", "content": "x"}]
    )
    assert isinstance(completion, ChatCompletion)
    expected = accumulate_chat(_chat_offline(path, include_usage=True))
    assert normalize(completion.model_dump(mode="json", exclude_unset=True)) == normalize(expected)
    assert completion.choices[0].finish_reason == "tool_calls"
    failed = CORPUS / "responses" / "openai__error_event_then_failed.sse"
    with pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.create(
            model=f"replay:responses/{failed.name}", messages=[{"role": "user", "content": "x"}]
        )
    assert raised.value.status_code >= 400
    with pytest.raises(openai.APIError):
        list(
            client.chat.completions.create(
                model=f"replay:responses/{failed.name}",
                messages=[{"role": "user", "content": "x"}],
                stream=True,
            )
        )


def test_responses_upstream_gets_a_responses_request(
    responses_gateway: RunningGateway, upstream: FakeUpstream
) -> None:
    body = {
        "model": "gpt-x",
        "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
    }
    answer = post(responses_gateway, "/v1/chat/completions", body)
    assert answer.status_code == 200
    sent = upstream.last()
    assert sent.path == "/v1/responses" and sent.body["stream"] is True and sent.body["store"] is False
    assert ChatCompletion.model_validate(answer.json()).choices[0].message.content


# -- relays -------------------------------------------------------------------------------------------------


@needs_corpus
@pytest.mark.parametrize(
    "name", ["openai__tool_call_multiply_include_usage.sse", "deepseek__text_finish_length.sse"]
)
def test_chat_relay_passes_the_bytes_through(chat_gateway: RunningGateway, name: str) -> None:
    body = {"model": f"replay:chat/{name}", "messages": [{"role": "user", "content": "x"}], "stream": True}
    answer = post(chat_gateway, "/v1/chat/completions", body)
    recorded = b"".join(split_frames((CORPUS / "chat" / name).read_bytes()))
    if not recorded.rstrip().endswith(b"[DONE]"):  # recordings kept without [DONE] look cut
        assert answer.content.startswith(recorded) and b"event: error" in answer.content[len(recorded) :]
    else:
        assert answer.content == recorded


@needs_corpus
def test_responses_relay_passes_the_bytes_through(
    responses_gateway: RunningGateway, upstream: FakeUpstream
) -> None:
    name = "openai__function_call.sse"
    answer = post(
        responses_gateway,
        "/v1/responses",
        {"model": f"replay:responses/{name}", "input": "x", "stream": True},
    )
    assert answer.content == b"".join(split_frames((CORPUS / "responses" / name).read_bytes()))
    assert upstream.last().path == "/v1/responses"


@needs_corpus
def test_relay_of_a_cut_responses_stream_ends_with_response_failed(responses_gateway: RunningGateway) -> None:
    name = "responses/openai__hello_text.sse"
    answer = post(
        responses_gateway, "/v1/responses", {"model": f"cut:{name}:6", "input": "x", "stream": True}
    )
    events = sse_payloads(answer.content)
    validate_responses_events(events)
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    _, unfinished = check_failed_stream(events)  # the relayed message the cut broke off: never done
    assert [(item["type"], item["status"]) for item in unfinished] == [("message", "incomplete")]
    numbers = [e["sequence_number"] for e in events]
    assert numbers == list(range(len(numbers)))
    message = events[-1]["response"]["error"]["message"]
    assert message.startswith("upstream 'default' closed the connection after ")


# -- upstreams that answer with a final object (capability stream = false) -------------------------------


def _completions() -> list[Path]:
    return [
        p
        for p in corpus_files("chat_json", "*.json")
        if isinstance(read_json(p), dict) and "choices" in read_json(p)
    ]


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in _completions()])
def test_non_streaming_upstream_is_replayed_as_a_stream(gateway_from: Any, path: Path) -> None:
    gateway = gateway_from(
        '[upstreams.local]\nbase_url = "{upstream}"\n[upstreams.local.capabilities]\nstream = false\n'
    )
    completion = read_json(path)
    answer = post(
        gateway, "/v1/responses", {"model": f"replay:chat_json/{path.name}", "input": "x", "stream": True}
    )
    events = sse_payloads(answer.content)
    validate_responses_events(events)
    final = accumulate_with_sdk(events)
    assert final is not None
    # n>1 has no Responses form: the replay, like the object converter with choice=0, keeps choice 0
    choice = 0 if len(completion["choices"]) > 1 else None
    expected = chat_completion_to_response(completion, lenient=True, choice=choice)
    got = events[-1]["response"]
    for key in ("output", "status", "incomplete_details", "usage"):
        assert normalize({key: got[key]}) == normalize({key: expected[key]})


def _final_responses() -> list[Path]:
    return [
        p
        for p in corpus_files("responses_json", "*.json")
        if isinstance(read_json(p), dict) and read_json(p).get("status") in ("completed", "incomplete")
    ]


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in _final_responses()])
def test_non_streaming_responses_upstream_is_replayed_for_chat_clients(gateway_from: Any, path: Path) -> None:
    gateway = gateway_from(
        '[upstreams.r]\nbase_url = "{upstream}"\nprotocol = "responses"\n'
        "[upstreams.r.capabilities]\nstream = false\n"
    )
    body = {"model": f"replay:responses_json/{path.name}", "messages": [{"role": "user", "content": "x"}]}
    streamed = post(gateway, "/v1/chat/completions", {**body, "stream": True})
    chunks = sse_payloads(streamed.content)
    state = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(_CHUNK.validate_python(chunk))
    whole = post(gateway, "/v1/chat/completions", body)
    assert whole.status_code == 200
    expected = response_to_chat_completion(read_json(path))
    got = ChatCompletion.model_validate(whole.json())
    # with no text at all (a hosted-tool-only response) the stream's opening chunk says content "",
    # the object converter null: the same empty answer
    assert (got.choices[0].message.content or None) == expected["choices"][0]["message"].get("content")
    assert got.choices[0].finish_reason == expected["choices"][0]["finish_reason"]
    streamed_message = state.current_completion_snapshot.choices[0].message
    assert streamed_message.content == got.choices[0].message.content
    assert [c.id for c in streamed_message.tool_calls or []] == [
        c.id for c in got.choices[0].message.tool_calls or []
    ]


# -- errors -------------------------------------------------------------------------------------------------

_CONTEXT = '{"error":{"message":"This model\'s maximum context length is 8192 tokens. However, you requested 9000 tokens.","type":"invalid_request_error","param":"messages","code":null}}'  # noqa: E501


@needs_corpus
def test_upstream_error_answers_keep_their_status_and_message(chat_gateway: RunningGateway) -> None:
    client = sdk(chat_gateway)
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model=f"status:400:={_CONTEXT}", input="x", stream=True)
    assert raised.value.code == "context_length_exceeded"
    assert "maximum context length" in raised.value.message
    with pytest.raises(openai.RateLimitError) as limited:
        client.responses.create(
            model="status:429:="
            + '{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}',
            input="x",
        )
    assert limited.value.response.headers["retry-after"] == "7"
    assert limited.value.code == "rate_limit_exceeded"
    with pytest.raises(openai.BadRequestError) as groq:
        client.responses.create(model="status:400:groq__error_400_tool_use_failed.json", input="x")
    assert (
        groq.value.body["message"]
        == read_json(CORPUS / "chat_json" / "groq__error_400_tool_use_failed.json")["error"]["message"]
    )
    with pytest.raises(openai.APIStatusError) as quota:
        client.chat.completions.create(
            model='status:402:={"error":"Insufficient Balance"}', messages=[{"role": "user", "content": "x"}]
        )
    assert quota.value.status_code == 402 and quota.value.code == "insufficient_quota"


def test_unreachable_upstream_is_502_and_slow_headers_504(gateway_from: Any) -> None:
    closed_port = free_port()
    gateway = gateway_from(
        f'[upstreams.gone]\nbase_url = "http://127.0.0.1:{closed_port}/v1"\n'
        '[upstreams.slow]\nbase_url = "{upstream}"\nfirst_byte_timeout = 0.3\n'
        '[models.a]\nupstream = "gone"\n[models.b]\nupstream = "slow"\nmodel = "slow-headers:1500"\n'
    )
    client = sdk(gateway)
    with pytest.raises(openai.APIStatusError) as refused:
        client.responses.create(model="a", input="x")
    assert refused.value.status_code == 502 and "'gone'" in refused.value.message
    with pytest.raises(openai.APIStatusError) as late:
        client.responses.create(model="b", input="x", stream=True)
    assert late.value.status_code == 504 and "'slow'" in late.value.message and "0.3 s" in late.value.message


@needs_corpus
def test_cut_upstream_ends_the_client_stream_with_what_was_received(chat_gateway: RunningGateway) -> None:
    name = "chat/openai__text_long_include_usage.sse"
    answer = post(chat_gateway, "/v1/responses", {"model": f"cut:{name}:8", "input": "x", "stream": True})
    events = sse_payloads(answer.content)
    validate_responses_events(events)
    final, unfinished = check_failed_stream(events)
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    # the message the cut broke off is never announced done: it is listed, incomplete, in the failure
    assert [item["type"] for item in unfinished] == ["message"] and final["output"] == unfinished
    assert text and unfinished[0]["content"][0]["text"] == text
    assert "closed the connection after " in final["error"]["message"]


@needs_corpus
def test_stalled_upstream_fails_the_stream_after_the_read_timeout(gateway_from: Any) -> None:
    gateway = gateway_from('[upstreams.u]\nbase_url = "{upstream}"\nread_timeout = 0.5\n')
    started = time.monotonic()
    answer = post(
        gateway,
        "/v1/responses",
        {"model": "stall:chat/openai__text_long_include_usage.sse:6", "input": "x", "stream": True},
    )
    assert time.monotonic() - started < 5
    events = sse_payloads(answer.content)
    validate_responses_events(events)
    final, unfinished = check_failed_stream(events)
    assert [item["status"] for item in unfinished] == ["incomplete"] and final["output"] == unfinished
    assert "sent nothing for 0.5 s" in final["error"]["message"]
    chat = post(gateway, "/v1/responses", {"model": "headers-then-stall", "input": "x"})
    assert chat.status_code == 504 and "0.5 s" in chat.json()["error"]["message"]


@pytest.mark.parametrize("kind", ["html", "badjson", "binary"])
def test_garbage_from_the_upstream_is_a_failure_naming_it(chat_gateway: RunningGateway, kind: str) -> None:
    answer = post(chat_gateway, "/v1/responses", {"model": f"garbage:{kind}", "input": "x", "stream": True})
    if kind == "html":
        assert answer.status_code == 502 and "text/html" in answer.json()["error"]["message"]
    else:
        events = sse_payloads(answer.content)
        validate_responses_events(events)
        final, _ = check_failed_stream(events)
        assert "cannot be translated" in final["error"]["message"]
    assert post(chat_gateway, "/v1/responses", {"model": "after-garbage", "input": "x"}).status_code == 200


@needs_corpus
def test_client_disconnect_closes_the_upstream_request_within_a_second(
    chat_gateway: RunningGateway, upstream: FakeUpstream
) -> None:
    body = {"model": "replay:chat/openai__text_long_include_usage.sse@100", "input": "x", "stream": True}
    with httpx.stream(
        "POST", f"{chat_gateway.url}/v1/responses", json=body, headers=CLIENT_AUTH, timeout=10
    ) as answer:
        lines = answer.iter_lines()
        for _ in range(8):
            next(lines)
        seen = upstream.last()
        closed = time.monotonic()
    while seen.closed_at is None and time.monotonic() - closed < 3:
        time.sleep(0.02)
    assert seen.closed_at is not None and seen.closed_at - closed < 1.0
    assert not seen.finished


def test_bad_client_input(gateway_from: Any) -> None:
    gateway = gateway_from(
        '[server]\nmax_body_bytes = 2000\n[upstreams.u]\nbase_url = "{upstream}"\n'
        '[models.known]\nupstream = "u"\n'
    )
    url = f"{gateway.url}/v1/responses"
    not_json = httpx.post(url, content=b"{nope", headers={**CLIENT_AUTH, "content-type": "application/json"})
    assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["error"]["message"]
    wrong = httpx.post(url, json={"model": "known", "input": 5}, headers=CLIENT_AUTH)
    assert wrong.status_code == 400 and wrong.json()["error"]["param"].startswith("input")
    stream = httpx.post(url, json={"model": "known", "input": "x", "stream": "yes"}, headers=CLIENT_AUTH)
    assert stream.status_code == 400 and stream.json()["error"]["param"] == "stream"
    unknown = httpx.post(url, json={"model": "nope", "input": "x"}, headers=CLIENT_AUTH)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"
    big = httpx.post(url, json={"model": "known", "input": "x" * 5000}, headers=CLIENT_AUTH)
    assert big.status_code == 413
    deep = httpx.post(url, content=b"[" * 900 + b"]" * 900, headers=CLIENT_AUTH)
    assert deep.status_code == 400
    with pytest.raises(openai.NotFoundError):
        sdk(gateway).responses.create(model="nope", input="x")


def test_inbound_keys_and_upstream_key_never_leak(
    gateway_from: Any,
    upstream: FakeUpstream,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("GW_KEY", "gw-inbound-1")
    monkeypatch.setenv("UP_KEY", "sk-upstream-secret-42")
    gateway = gateway_from(
        '[server]\napi_keys_env = ["GW_KEY"]\n[upstreams.u]\nbase_url = "{upstream}"\nkey_env = "UP_KEY"\n'
    )
    with pytest.raises(openai.AuthenticationError):
        sdk(gateway, api_key="wrong").responses.create(model="m", input="x")
    missing = httpx.post(f"{gateway.url}/v1/responses", json={"model": "m", "input": "x"})
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "invalid_api_key"
    assert sdk(gateway, api_key="gw-inbound-1").responses.create(model="m", input="x").status == "completed"
    assert upstream.last().headers["authorization"] == "Bearer sk-upstream-secret-42"
    with pytest.raises(openai.AuthenticationError) as raised:
        sdk(gateway, api_key="gw-inbound-1").responses.create(model="echo-auth-error", input="x")
    assert raised.value.body["message"] == "Incorrect API key provided: [redacted]"
    gateway_lines = [r.getMessage() for r in caplog.records if r.name.startswith("translator")]
    assert len(gateway_lines) == 4
    assert not any("sk-upstream-secret-42" in line or "gw-inbound-1" in line for line in gateway_lines)


def test_client_authorization_is_passed_when_no_key_is_configured(
    chat_gateway: RunningGateway, upstream: FakeUpstream
) -> None:
    sdk(chat_gateway, api_key="sk-from-client").responses.create(model="m", input="x")
    assert upstream.last().headers["authorization"] == "Bearer sk-from-client"


# -- health, models, config, command line -------------------------------------------------------------------


def test_health_and_models(chat_gateway: RunningGateway, gateway_from: Any) -> None:
    assert httpx.get(f"{chat_gateway.url}/health").json() == {"status": "ok"}
    assert [m.id for m in sdk(chat_gateway).models.list()] == ["fake-model"]  # the upstream's own list
    routed = gateway_from(
        '[upstreams.u]\nbase_url = "{upstream}"\n[models.fast]\nupstream = "u"\nmodel = "llama3:8b"\n'
        '[models.big]\nupstream = "u"\n'
    )
    assert sorted(m.id for m in sdk(routed).models.list()) == ["big", "fast"]


def test_routes_rename_the_model_for_the_upstream(gateway_from: Any, upstream: FakeUpstream) -> None:
    gateway = gateway_from(
        '[upstreams.u]\nbase_url = "{upstream}"\n[models.fast]\nupstream = "u"\nmodel = "llama3:8b"\n'
    )
    assert sdk(gateway).responses.create(model="fast", input="x").output_text == "Hello from llama3:8b"
    assert upstream.last().body["model"] == "llama3:8b"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[upstreams.u]\nbase_url = "ftp://x"\n', "upstreams.u.base_url"),
        ('[upstreams.u]\nbase_url = "http://x"\nprotocol = "grpc"\n', "upstreams.u.protocol"),
        ('[upstreams.u]\nbase_url = "http://x"\nread_timeout = -1\n', "upstreams.u.read_timeout"),
        ('[upstreams.u]\nbase_url = "http://x"\nbase_ulr = "typo"\n', "upstreams.u.base_ulr"),
        ('[upstreams.u]\nbase_url = "http://x"\n[models.m]\nupstream = "v"\n', "models.m.upstream"),
        ('[server]\nport = "80"\n[upstreams.u]\nbase_url = "http://x"\n', "server.port"),
        (
            '[server]\nbackground_lease_seconds = 0\n[upstreams.u]\nbase_url = "http://x"\n',
            "server.background_lease_seconds",
        ),
        (
            '[server]\nbackground_lease_seconds = "30"\n[upstreams.u]\nbase_url = "http://x"\n',
            "server.background_lease_seconds",
        ),
        (
            '[server]\napi_keys_env = ["UNSET_VARIABLE_FOR_TEST"]\n[upstreams.u]\nbase_url = "http://x"\n',
            "server.api_keys_env[0]",
        ),
        ("[upstreams.u]\n", "upstreams.u.base_url"),
        (
            '[upstreams.u]\nbase_url = "http://x"\n'
            '[upstreams.u.capabilities]\nreasoning_field = "thoughts"\n',
            "upstreams.u.capabilities.reasoning_field",
        ),
        (
            '[upstreams.u]\nbase_url = "http://x"\n[upstreams.u.capabilities]\npreset = "nope"\n',
            "upstreams.u.capabilities.preset",
        ),
        ("", "upstreams"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(write_config(tmp_path, text))
    assert raised.value.key == key


def test_background_lease_seconds_is_read(tmp_path: Path) -> None:
    base = '[upstreams.u]\nbase_url = "http://x"\n'
    assert load_config(write_config(tmp_path, base)).background_lease_seconds == 30.0
    text = f'[server]\nstore = "memory"\nbackground_lease_seconds = 1.5\n{base}'
    config = load_config(write_config(tmp_path, text))
    assert config.background_lease_seconds == 1.5
    assert Gateway(config).state.runs.lease == 1.5


def test_flags_override_the_file(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, '[server]\nport = 9000\n[upstreams.default]\nbase_url = "http://a/v1"\nread_timeout = 5\n'
    )
    config = load_config(path, upstream="http://b/v1", upstream_protocol="responses", port=9100)
    assert config.port == 9100
    upstream = config.upstreams["default"]
    assert (upstream.base_url, upstream.protocol, upstream.read_timeout) == ("http://b/v1", "responses", 5)


def test_serve_command_runs_the_gateway(upstream: FakeUpstream) -> None:
    served = ServeProcess("--upstream", upstream.url, "--store", "memory", log_level="info")
    try:
        client = openai.OpenAI(base_url=f"{served.url}/v1", api_key="k", max_retries=0)
        assert client.responses.create(model="m", input="x").output_text == "Hello from m"
    finally:
        stderr = served.stop()
    log = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert log and log[-1]["path"] == "/v1/responses" and log[-1]["status"] == 200
    assert "listening on http://127.0.0.1:" in stderr


def test_serve_command_rejects_a_bad_config(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[upstreams.u]\nbase_url = "http://x"\nprotocol = "grpc"\n')
    result = subprocess.run(
        [sys.executable, "-m", "translator", "serve", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "upstreams.u.protocol" in result.stderr and "'grpc'" in result.stderr


def test_orjson_loads_keeps_recursion_bounded() -> None:
    """The gateway relies on orjson refusing deep nesting (hostile bodies) instead of recursing."""
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(b"[" * 2000 + b"]" * 2000)


# -- agent clients: the Codex request shape ------------------------------------------------------------------

CODEX = CORPUS.parent / "codex"


@pytest.mark.skipif(not CODEX.is_dir(), reason=f"Codex request bodies not found at {CODEX}")
@pytest.mark.parametrize("name", ["request_gpt-5.5.json", "request_fallback_model.json"])
def test_codex_request_reaches_a_chat_upstream_in_a_shape_it_accepts(
    gateway_from: Any, upstream: FakeUpstream, name: str
) -> None:
    gateway = gateway_from(
        '[upstreams.u]\nbase_url = "{upstream}"\n[upstreams.u.capabilities]\npreset = "deepseek"\n'
    )
    body = read_json(CODEX / name)
    answer = post(gateway, "/v1/responses", body)
    assert answer.status_code == 200
    events = sse_payloads(answer.content)
    validate_responses_events(events)
    assert events[-1]["type"] == "response.completed"
    sent = upstream.last().body
    assert {m["role"] for m in sent["messages"]} <= {"system", "user", "assistant", "tool"}
    names = [tool["function"]["name"] for tool in sent["tools"]]
    assert all(re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", n) for n in names) and len(set(names)) == len(names)
    dropped = answer.headers["x-translator-dropped"]
    assert "web_search" in dropped and "request.include" in dropped
    assert "tool_choice" not in sent or sent["tools"]


def test_responses_the_gateway_does_not_hold_are_asked_of_a_responses_upstream(
    responses_gateway: RunningGateway, upstream: FakeUpstream
) -> None:
    client = sdk(responses_gateway)
    kept = client.responses.retrieve(UPSTREAM_RESPONSE_ID)
    assert kept.id == UPSTREAM_RESPONSE_ID and kept.output_text == "kept upstream"
    assert upstream.last().path == f"/v1/responses/{UPSTREAM_RESPONSE_ID}"
    assert client.responses.input_items.list(UPSTREAM_RESPONSE_ID, limit=5).data == []
    assert upstream.last().path == f"/v1/responses/{UPSTREAM_RESPONSE_ID}/input_items?limit=5"
    client.responses.delete(UPSTREAM_RESPONSE_ID)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve("resp_nobody_has")
