"""The real Codex CLI through ``translator serve`` to a chat-only model.

Codex (``make codex``) speaks Responses to the gateway, which runs under uvicorn on loopback; the
gateway's upstream is a scripted fake Chat Completions model, a real HTTP server that plays three turns:

1. it thinks (``reasoning_content``) and calls Codex's shell tool ``exec_command``;
2. it thinks again and calls ``apply_patch``, which Codex declares as a ``custom`` (freeform) tool and
   the gateway declares to the model as a function taking one string ``input``; the arguments stream in
   small fragments, and the gateway must give them back to Codex as a ``custom_tool_call``;
3. it checks the history it receives (its reasoning of both turns replayed in ``reasoning_content``,
   both tool results, no ``developer`` role) and answers in text.

The test asserts that the command ran, that the file exists with the patched content and that Codex
printed the final answer, and it reads the three chat requests the model received.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.chat_chunks import ChatChunks, data_frame
from support.codex_cli import require_codex, run_codex, write_codex_home
from support.gateway import RunningGateway
from support.scripted_chat import ScriptedChat

from translator.gateway.app import Gateway
from translator.gateway.config import load_config

COMMAND = "printf 'codex-ran-this' > ran.txt && echo MARKER-51c2"
PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+Hello from a chat model\n*** End Patch\n"
THOUGHT_1 = "The user wants a file. First I will run a command."
THOUGHT_2 = "The command ran; now I create the file with apply_patch."
FINAL = "All done: the command ran and hello.txt exists."


_chat_chunk = ChatChunks(id="chatcmpl-scripted", created=1760000000, model="scripted-chat-model")


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    return data_frame(_chat_chunk(delta, finish))


def _usage() -> bytes:
    usage = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    return data_frame(_chat_chunk(None, usage=usage))


def _tool_call(call_id: str, name: str, arguments: str, pieces: int) -> list[bytes]:
    """A tool call streamed as OpenAI does: id and name first, then the arguments in fragments."""
    size = max(1, len(arguments) // pieces)
    fragments = [arguments[i : i + size] for i in range(0, len(arguments), size)]
    head = {"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
    return [_chunk({"tool_calls": [head]})] + [
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]}) for fragment in fragments
    ]


def history_problems(messages: list[dict[str, Any]]) -> list[str]:
    """What is wrong with the turn-3 history, as the model sees it (empty when all is there)."""
    problems = []
    roles = [m.get("role") for m in messages]
    if "developer" in roles:
        problems.append("a developer message reached a model that knows only system")
    assistants = [m for m in messages if m.get("role") == "assistant"]
    thoughts = [m.get("reasoning_content") or "" for m in assistants]
    if THOUGHT_1 not in thoughts or THOUGHT_2 not in thoughts:
        problems.append(f"the reasoning of turns 1 and 2 is not replayed: {thoughts!r}")
    calls = [c for m in assistants for c in m.get("tool_calls") or []]
    names = [c["function"]["name"] for c in calls]
    if names != ["exec_command", "apply_patch"]:
        problems.append(f"the history's tool calls are {names!r}")
    elif json.loads(calls[1]["function"]["arguments"]) != {"input": PATCH}:
        problems.append(f"apply_patch came back as {calls[1]['function']['arguments']!r}")
    results = {m.get("tool_call_id"): str(m.get("content")) for m in messages if m.get("role") == "tool"}
    if "MARKER-51c2" not in results.get("call_shell", ""):
        problems.append(f"the shell result is missing: {results!r}")
    if "hello.txt" not in results.get("call_patch", ""):
        problems.append(f"the apply_patch result is missing: {results!r}")
    return problems


class ScriptedChatModel:
    """A Chat Completions server on loopback that plays the three turns (by the tool results it has)."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.server = ScriptedChat(lambda n, body: self.reply(body))
        self.requests = self.server.requests
        self.base_url = self.server.base_url

    def reply(self, body: dict[str, Any]) -> list[bytes]:
        done = [m for m in body.get("messages", []) if m.get("role") == "tool"]
        frames = [_chunk({"role": "assistant", "content": None})]
        if len(done) == 0:
            words = THOUGHT_1.replace(" ", " \0").split("\0")  # streamed word by word
            frames += [_chunk({"reasoning_content": word}) for word in words]
            frames += _tool_call("call_shell", "exec_command", json.dumps({"cmd": COMMAND}), pieces=5)
            frames.append(_chunk({}, "tool_calls"))
        elif len(done) == 1:
            frames.append(_chunk({"reasoning_content": THOUGHT_2}))
            frames += _tool_call("call_patch", "apply_patch", json.dumps({"input": PATCH}), pieces=12)
            frames.append(_chunk({}, "tool_calls"))
        else:
            self.problems = history_problems(body["messages"])
            text = FINAL if not self.problems else "HISTORY BROKEN: " + "; ".join(self.problems)
            frames += [_chunk({"content": text}), _chunk({}, "stop")]
        return [*frames, _usage(), b"data: [DONE]\n\n"]

    def __enter__(self) -> ScriptedChatModel:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__()


@pytest.fixture
def chat_model() -> Iterator[ScriptedChatModel]:
    with ScriptedChatModel() as model:
        yield model


@pytest.mark.parametrize("transport", ["http", "websocket"])
def test_codex_works_through_the_gateway_with_a_chat_only_model(
    tmp_path: Path, chat_model: ScriptedChatModel, transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Over HTTP, and over the Responses WebSocket (``supports_websockets = true``): then every response
    is made on a socket, with no reconnect and no fallback to HTTP (the gateway's log lines say so)."""
    codex = require_codex()
    config = load_config(upstream=chat_model.base_url, store="memory")
    gateway = RunningGateway(Gateway(config)).start()
    try:
        home = write_codex_home(
            tmp_path / "codex-home", f"{gateway.url}/v1", websockets=transport == "websocket"
        )
        workdir = tmp_path / "work"
        workdir.mkdir()
        with caplog.at_level(logging.INFO, logger="translator.gateway"):
            run = run_codex(codex, "Create hello.txt", home=home, workdir=workdir, timeout=60)
    finally:
        gateway.stop()
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith("{")]
    responses = [line for line in lines if line["path"] == "/v1/responses"]
    assert {line["transport"] for line in responses} == {transport}, run.describe()
    assert len(responses) >= 3  # the three turns (and, over the socket, Codex's generate=false warm-up)
    assert all(line["status"] == 200 and line["error"] is None for line in responses), responses
    assert chat_model.problems == [], run.describe()
    assert run.returncode == 0, run.describe()
    assert (workdir / "ran.txt").read_text() == "codex-ran-this", run.describe()
    assert (workdir / "hello.txt").read_text() == "Hello from a chat model\n", run.describe()
    assert run.stdout.strip() == FINAL
    assert run.egress == []

    first, second, third = chat_model.requests
    declared = {tool["function"]["name"]: tool["function"] for tool in first["tools"]}
    assert declared["apply_patch"]["parameters"]["properties"]["input"]["type"] == "string"
    assert "exec_command" in declared
    assert first["stream"] is True and first["stream_options"] == {"include_usage": True}
    assert first["messages"][0]["role"] == "system"
    assert len(second["messages"]) < len(third["messages"])
