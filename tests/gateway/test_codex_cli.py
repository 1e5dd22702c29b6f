"""The real Codex CLI against a scripted Responses server on loopback: the harness, and Codex's contract.

The server answers each ``POST /v1/responses`` with the next scripted reply: hand-written Responses SSE
streams (validated with the official SDK's types first), a cut stream, or an HTTP error.  What Codex sends
on each turn and how it reacts to each failure is what ``translator serve`` must honour for Codex, so the
gateway's own Codex test (issue 9) reuses :mod:`codex_cli` with the gateway in place of this server.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from support import codex_cli
from support.codex_cli import (
    CODEX_BIN_ENV,
    MODEL,
    CodexRun,
    find_codex,
    require_codex,
    run_codex,
    write_codex_home,
)
from support.sdk import accumulate_with_sdk

from translator.engine.sse import encode_sse
from translator.protocol.mapping import response_shell

CREATED_AT = 1_760_000_000
USAGE = {
    "input_tokens": 100,
    "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
    "output_tokens": 20,
    "output_tokens_details": {"reasoning_tokens": 5},
    "total_tokens": 120,
}


# ----------------------------------------------------------------------------------------------------
# Responses streams, written by hand


def item_events(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    """The events the Responses API streams for one finished output ``item`` at ``index``."""
    at = {"item_id": item["id"], "output_index": index}
    kind = item["type"]
    if kind == "message":
        text = item["content"][0]["text"]
        part = {"type": "output_text", "text": "", "annotations": []}
        middle = [
            {"type": "response.content_part.added", **at, "content_index": 0, "part": part},
            {"type": "response.output_text.delta", **at, "content_index": 0, "delta": text, "logprobs": []},
            {"type": "response.output_text.done", **at, "content_index": 0, "text": text, "logprobs": []},
            {"type": "response.content_part.done", **at, "content_index": 0, "part": {**part, "text": text}},
        ]
        started = {**item, "status": "in_progress", "content": []}
    elif kind == "reasoning":
        middle = []
        for n, summary in enumerate(item["summary"]):
            where = {**at, "summary_index": n}
            empty = {"type": "summary_text", "text": ""}
            middle += [
                {"type": "response.reasoning_summary_part.added", **where, "part": empty},
                {"type": "response.reasoning_summary_text.delta", **where, "delta": summary["text"]},
                {"type": "response.reasoning_summary_text.done", **where, "text": summary["text"]},
                {"type": "response.reasoning_summary_part.done", **where, "part": summary},
            ]
        started = {**item, "summary": []}
    elif kind == "function_call":
        arguments = item["arguments"]
        middle = [
            {"type": "response.function_call_arguments.delta", **at, "delta": arguments},
            {"type": "response.function_call_arguments.done", **at, "arguments": arguments},
        ]
        started = {**item, "status": "in_progress", "arguments": ""}
    elif kind == "custom_tool_call":
        text = item["input"]
        half = len(text) // 2
        middle = [
            {"type": "response.custom_tool_call_input.delta", **at, "delta": text[:half]},
            {"type": "response.custom_tool_call_input.delta", **at, "delta": text[half:]},
            {"type": "response.custom_tool_call_input.done", **at, "input": text},
        ]
        started = {**item, "status": "in_progress", "input": ""}
    else:  # pragma: no cover - a scripting mistake
        raise ValueError(kind)
    return [
        {"type": "response.output_item.added", "output_index": index, "item": started},
        *middle,
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]


def response_events(
    response_id: str, items: list[dict[str, Any]], *, terminal: str = "completed"
) -> list[dict]:
    """A whole stream: created, in_progress, every item's events, then the terminal event."""
    shell = response_shell(response_id=response_id, created_at=CREATED_AT, model=MODEL, status="in_progress")
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": shell},
        {"type": "response.in_progress", "response": shell},
    ]
    for index, item in enumerate(items):
        events += item_events(index, item)
    if terminal == "completed":
        final = {**shell, "status": "completed", "output": items, "usage": USAGE}
        events.append({"type": "response.completed", "response": final})
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


def failed_events(response_id: str, code: str, message: str) -> list[dict[str, Any]]:
    shell = response_shell(response_id=response_id, created_at=CREATED_AT, model=MODEL, status="in_progress")
    failed = {**shell, "status": "failed", "error": {"code": code, "message": message}}
    events = [
        {"type": "response.created", "response": shell},
        {"type": "response.failed", "response": failed},
    ]
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


def incomplete_events(response_id: str, text: str) -> list[dict[str, Any]]:
    item = message("msg_cut", text)
    events = response_events(response_id, [item], terminal="none")
    shell = events[0]["response"]
    final = {
        **shell,
        "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
        "output": [item],
        "usage": USAGE,
    }
    events.append({"type": "response.incomplete", "response": final, "sequence_number": len(events)})
    return events


def message(item_id: str, text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": item_id,
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


# ----------------------------------------------------------------------------------------------------
# The scripted server


@dataclass
class Stream:
    """200 with these events as SSE, then the connection closes (a stream with no terminal event is cut).

    ``checked`` streams are first fed to the official SDK's accumulator, which validates every event.
    """

    events: list[dict[str, Any]]
    checked: bool = True

    def __post_init__(self) -> None:
        if self.checked:
            accumulate_with_sdk(self.events)


@dataclass
class HttpError:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


Reply = Stream | HttpError


class ScriptedResponses:
    """A Responses server on 127.0.0.1 that answers ``POST /v1/responses`` with ``replies`` in order."""

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []  # each request body, parsed
        self.headers: list[dict[str, str]] = []
        self.other: list[str] = []  # any other request (method and path)
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/v1/responses":
                    server.other.append(f"POST {self.path}")
                    return self._send(404, b"{}")
                with server._lock:
                    server.requests.append(json.loads(body))
                    server.headers.append({k.lower(): v for k, v in self.headers.items()})
                    reply = (
                        server.replies.pop(0) if server.replies else HttpError(500, {"error": "unscripted"})
                    )
                if isinstance(reply, HttpError):
                    return self._send(reply.status, json.dumps(reply.body).encode(), reply.headers)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                for event in reply.events:
                    self.wfile.write(encode_sse(event, event=event["type"]))
                    self.wfile.flush()
                self.close_connection = True

            def do_GET(self) -> None:
                server.other.append(f"GET {self.path}")
                self._send(404, b"{}")

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedResponses:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture(scope="module")
def codex() -> Path:
    return require_codex()


@pytest.fixture
def scripted(tmp_path: Path, codex: Path) -> Iterator[Any]:
    """``scripted(replies, prompt, **config) -> (run, server)``: Codex against a scripted server."""
    opened: list[ScriptedResponses] = []

    def run(replies: list[Reply], prompt: str, **config: Any) -> tuple[CodexRun, ScriptedResponses]:
        server = ScriptedResponses(replies).__enter__()
        opened.append(server)
        home = write_codex_home(tmp_path / f"codex-home-{len(opened)}", server.base_url, **config)
        workdir = tmp_path / f"work-{len(opened)}"
        workdir.mkdir()
        return run_codex(codex, prompt, home=home, workdir=workdir), server

    yield run
    for server in opened:
        server.__exit__()


def input_types(request: dict[str, Any]) -> list[str]:
    return [item.get("type", "message") for item in request["input"]]


# ----------------------------------------------------------------------------------------------------
# The three-turn agent run: shell command, apply_patch, final answer

SHELL_CALL = "call_shell_1"
PATCH_CALL = "call_patch_1"
COMMAND = "printf 'codex-ran-this' > ran.txt && echo MARKER-7f3a"
PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+Hello from apply_patch\n*** End Patch\n"
FINAL = "Done: ran the command and created hello.txt."
REASONING = {
    "type": "reasoning",
    "id": "rs_turn1",
    "summary": [{"type": "summary_text", "text": "Run a command, then write the file."}],
    "encrypted_content": "opaque-reasoning-from-turn-1",
}


def three_turns() -> list[Reply]:
    shell = {
        "type": "function_call",
        "id": "fc_turn1",
        "call_id": SHELL_CALL,
        "name": "exec_command",
        "arguments": json.dumps({"cmd": COMMAND}),
        "status": "completed",
    }
    patch = {
        "type": "custom_tool_call",
        "id": "ctc_turn2",
        "call_id": PATCH_CALL,
        "name": "apply_patch",
        "input": PATCH,
        "status": "completed",
    }
    return [
        Stream(response_events("resp_turn1", [REASONING, shell])),
        Stream(response_events("resp_turn2", [patch])),
        Stream(response_events("resp_turn3", [message("msg_turn3", FINAL)])),
    ]


def test_codex_runs_a_command_applies_a_patch_and_prints_the_answer(scripted: Any) -> None:
    run, server = scripted(three_turns(), "Create hello.txt")
    assert run.returncode == 0, run.describe()
    workdir = run.workdir

    # What Codex did with the three replies.
    assert (workdir / "ran.txt").read_text() == "codex-ran-this", run.describe()
    assert (workdir / "hello.txt").read_text() == "Hello from apply_patch\n", run.describe()
    assert run.stdout.strip() == FINAL  # stdout carries the final answer and nothing else
    assert run.last_message is not None and run.last_message.strip() == FINAL
    assert run.egress == [] and server.other == []  # nothing but POST /v1/responses, nothing off the machine
    assert len(server.requests) == 3

    first, second, third = server.requests
    # Turn 1: the tools Codex declares for gpt-5.5, and the request shape.
    tools = {tool.get("name", tool["type"]): tool for tool in first["tools"]}
    assert tools["exec_command"]["type"] == "function"
    assert tools["exec_command"]["parameters"]["required"] == ["cmd"]
    assert tools["apply_patch"]["type"] == "custom"
    assert tools["apply_patch"]["format"]["type"] == "grammar"
    assert tools["apply_patch"]["format"]["syntax"] == "lark"
    assert first["model"] == MODEL and first["stream"] is True and first["store"] is False
    assert "instructions" not in first
    assert first["include"] == ["reasoning.encrypted_content"]
    assert set(input_types(first)) == {"message"}
    assert first["input"][0]["role"] == "developer"
    assert first["input"][-1]["role"] == "user"
    assert "Create hello.txt" in json.dumps(first["input"][-1]["content"])
    assert server.headers[0]["authorization"].startswith("Bearer sk-")
    assert server.headers[0]["accept"] == "text/event-stream"

    # Turn 2: the whole history again (store is false), plus the reasoning item (with its encrypted
    # content), the function call and its output, in that order.
    assert second["input"][: len(first["input"])] == first["input"]
    added = second["input"][len(first["input"]) :]
    assert [item["type"] for item in added] == ["reasoning", "function_call", "function_call_output"]
    reasoning, call, output = added
    assert reasoning["encrypted_content"] == REASONING["encrypted_content"]
    assert reasoning["summary"] == REASONING["summary"]
    assert (call["call_id"], call["name"], json.loads(call["arguments"])) == (
        SHELL_CALL,
        "exec_command",
        {"cmd": COMMAND},
    )
    assert output["call_id"] == SHELL_CALL
    assert "MARKER-7f3a" in output["output"]

    # Turn 3: then the custom tool call, echoed verbatim, and its output (a string).
    assert third["input"][: len(second["input"])] == second["input"]
    added = third["input"][len(second["input"]) :]
    assert [item["type"] for item in added] == ["custom_tool_call", "custom_tool_call_output"]
    patch_call, patch_output = added
    assert (patch_call["call_id"], patch_call["name"], patch_call["input"]) == (
        PATCH_CALL,
        "apply_patch",
        PATCH,
    )
    assert patch_output["call_id"] == PATCH_CALL
    assert isinstance(patch_output["output"], str) and "hello.txt" in patch_output["output"]


# ----------------------------------------------------------------------------------------------------
# How Codex reacts to failures: which it retries (with ``stream_max_retries`` / ``request_max_retries``
# allowing it) and which end the run at once.  The gateway must produce the codes and shapes that give
# the right reaction: a context-length or quota failure must not be retried, a cut stream must be.


def answer(response_id: str) -> Stream:
    return Stream(response_events(response_id, [message(f"msg_{response_id}", f"answer from {response_id}")]))


def unchecked(events: list[dict[str, Any]]) -> Stream:
    """A stream sent as is: minimal, or with an error code Codex acts on but the SDK's types do not list
    (its ``ResponseError.code`` has none of ``context_length_exceeded``, ``insufficient_quota``,
    ``usage_not_included``, ``server_is_overloaded``, ``cyber_policy``; the API sends the first two)."""
    return Stream(events, checked=False)


RETRIES = {"stream_max_retries": 2, "request_max_retries": 2}
FAILURES = [
    # (id, first reply, config, requests Codex makes, what it prints: stdout when it succeeded, else stderr)
    (
        "failed-context-length-not-retried",
        unchecked(
            failed_events("resp_f", "context_length_exceeded", "Your input exceeds the context window")
        ),
        RETRIES,
        1,
        "ran out of room in the model's context window",
    ),
    (
        "failed-insufficient-quota-not-retried",
        unchecked(failed_events("resp_f", "insufficient_quota", "You exceeded your current quota")),
        RETRIES,
        1,
        "Quota exceeded",
    ),
    (
        "failed-usage-not-included-not-retried",
        unchecked(failed_events("resp_f", "usage_not_included", "Not in your plan")),
        RETRIES,
        1,
        "upgrade to Plus",
    ),
    (
        "failed-server-overloaded-not-retried",
        unchecked(failed_events("resp_f", "server_is_overloaded", "Overloaded")),
        RETRIES,
        1,
        "Selected model is at capacity",
    ),
    (
        "failed-cyber-policy-not-retried",
        unchecked(failed_events("resp_f", "cyber_policy", "Flagged for cyber risk")),
        RETRIES,
        1,
        "Flagged for cyber risk",
    ),
    (
        "failed-invalid-prompt-not-retried",
        Stream(failed_events("resp_f", "invalid_prompt", "Invalid prompt: flagged")),
        RETRIES,
        1,
        "Invalid prompt: flagged",
    ),
    (
        "failed-server-error-retried",
        Stream(failed_events("resp_f", "server_error", "The upstream failed")),
        RETRIES,
        2,
        "answer from resp_ok",
    ),
    (
        "failed-rate-limit-retried",
        Stream(
            failed_events("resp_f", "rate_limit_exceeded", "Rate limit reached. Please try again in 0.05s.")
        ),
        RETRIES,
        2,
        "answer from resp_ok",
    ),
    (
        "cut-stream-retried",
        Stream(response_events("resp_f", [message("msg_partial", "partial")], terminal="none")),
        RETRIES,
        2,
        "answer from resp_ok",
    ),
    (
        "cut-stream-no-retries-left",
        Stream(response_events("resp_f", [message("msg_partial", "partial")], terminal="none")),
        {},
        1,
        "stream closed before response.completed",
    ),
    (
        "incomplete-not-retried",
        Stream(incomplete_events("resp_f", "cut short")),
        RETRIES,
        1,
        "Incomplete response returned, reason: max_output_tokens",
    ),
    (
        "http-400-not-retried",
        HttpError(400, {"error": {"message": "Unsupported parameter: x", "type": "invalid_request_error"}}),
        RETRIES,
        1,
        "Unsupported parameter: x",
    ),
    (
        "http-429-with-retry-after-retried",
        HttpError(
            429, {"error": {"message": "Slow down", "code": "rate_limit_exceeded"}}, {"retry-after": "0"}
        ),
        RETRIES,
        2,
        "answer from resp_ok",
    ),
    (
        "http-429-without-retry-after-not-retried",
        HttpError(429, {"error": {"message": "Slow down", "code": "rate_limit_exceeded"}}),
        RETRIES,
        1,
        "exceeded retry limit, last status: 429",
    ),
    (
        "http-500-retried",
        HttpError(500, {"error": {"message": "Internal error", "type": "server_error"}}),
        RETRIES,
        2,
        "answer from resp_ok",
    ),
    (
        "completed-without-id-is-an-error",
        unchecked([{"type": "response.completed", "response": {"status": "completed"}}]),
        {},
        1,
        "failed to parse ResponseCompleted: missing field `id`",
    ),
    (
        "usage-details-without-cached-tokens-is-an-error",
        unchecked(
            [
                {
                    "type": "response.completed",
                    "response": {
                        "id": "resp_f",
                        "usage": {**USAGE, "input_tokens_details": {"cache_write_tokens": 0}},
                    },
                }
            ]
        ),
        {},
        1,
        "missing field `cached_tokens`",
    ),
]


@pytest.mark.parametrize(
    ("first", "config", "requests", "printed"),
    [pytest.param(*case[1:], id=case[0]) for case in FAILURES],
)
def test_codex_reaction_to_a_failure(
    scripted: Any, first: Reply, config: dict[str, int], requests: int, printed: str
) -> None:
    run, server = scripted([first, answer("resp_ok")], "Say hello", **config)
    assert len(server.requests) == requests, run.describe()
    assert run.egress == []
    if requests == 2:  # retried: the same request again (plus any item the failed stream finished)
        assert run.returncode == 0, run.describe()
        assert run.stdout.strip() == printed
        events = first.events if isinstance(first, Stream) else []
        finished = [event["item"] for event in events if event["type"] == "response.output_item.done"]
        retry_input, first_input = server.requests[1]["input"], server.requests[0]["input"]
        assert retry_input[: len(first_input)] == first_input
        assert [item["type"] for item in retry_input[len(first_input) :]] == [
            item["type"] for item in finished
        ]
    else:
        assert run.returncode != 0, run.describe()
        assert run.stdout.strip() == ""
        assert printed in run.stderr, run.describe()


def test_codex_keeps_items_done_before_a_cut_and_runs_their_calls(scripted: Any) -> None:
    """Items are final at ``response.output_item.done``: a call done before the stream is cut still runs,
    and the retry carries it and its output.  A gateway must not send ``done`` for a call it cannot finish.
    """
    call = {
        "type": "function_call",
        "id": "fc_cut",
        "call_id": "call_cut",
        "name": "exec_command",
        "arguments": json.dumps({"cmd": "printf cut > before_cut.txt"}),
        "status": "completed",
    }
    cut = Stream(response_events("resp_cut", [call], terminal="none"))
    run, server = scripted([cut, answer("resp_ok")], "Say hello", stream_max_retries=1)
    workdir = run.workdir
    assert run.returncode == 0, run.describe()
    assert (workdir / "before_cut.txt").read_text() == "cut"
    first, retry = server.requests
    added = retry["input"][len(first["input"]) :]
    assert [(item["type"], item["call_id"]) for item in added] == [
        ("function_call", "call_cut"),
        ("function_call_output", "call_cut"),
    ]


def test_codex_shows_only_what_output_item_done_carries(scripted: Any) -> None:
    """Text streamed as deltas but never closed by ``response.output_item.done`` is not an answer."""
    item = message("msg_open", "never finished")
    started = {**item, "status": "in_progress", "content": []}
    at = {"item_id": "msg_open", "output_index": 0, "content_index": 0}
    events = [
        {"type": "response.output_item.added", "output_index": 0, "item": started},
        {"type": "response.output_text.delta", **at, "delta": "never finished", "logprobs": []},
        {"type": "response.completed", "response": {"id": "resp_open"}},
    ]
    run, server = scripted([unchecked(events)], "Say hello")
    assert run.returncode == 0, run.describe()
    assert run.stdout.strip() == "" and run.last_message in (None, "")
    assert len(server.requests) == 1


# ----------------------------------------------------------------------------------------------------
# The harness itself


def test_find_codex_says_to_run_make_codex(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CODEX_BIN_ENV, raising=False)
    monkeypatch.setattr(codex_cli, "CODEX_DIR", tmp_path / "no-codex-here")
    binary, reason = find_codex()
    assert binary is None
    assert "not installed" in reason and "make codex" in reason

    wrong = tmp_path / "codex"
    wrong.write_text("#!/bin/sh\necho codex-cli 0.0.1\n")
    wrong.chmod(0o755)
    monkeypatch.setenv(CODEX_BIN_ENV, str(wrong))
    binary, reason = find_codex()
    assert binary is None
    assert "0.0.1" in reason and "make codex" in reason


def test_codex_home_points_a_responses_provider_at_the_base_url(tmp_path: Path) -> None:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    home = write_codex_home(tmp_path / "home", "http://127.0.0.1:8080/v1", stream_max_retries=3)
    config = tomllib.loads((home / "config.toml").read_text())
    assert config["model"] == MODEL
    assert config["model_provider"] == "translator"
    assert config["model_providers"]["translator"] == {
        "name": "translator",
        "base_url": "http://127.0.0.1:8080/v1",
        "wire_api": "responses",
        "env_key": "TRANSLATOR_API_KEY",
        "request_max_retries": 0,
        "stream_max_retries": 3,
        "stream_idle_timeout_ms": 20_000,
    }
    assert config["analytics"] == {"enabled": False}
    assert config["features"] == {"plugins": False}
