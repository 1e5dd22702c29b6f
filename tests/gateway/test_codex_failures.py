"""The real Codex CLI through ``translator serve`` to a Chat model whose streams break (issue 21).

Codex records every item announced by ``response.output_item.done`` and, when the stream then fails,
retries the whole turn with those items in its history.  So the gateway must never announce an item
that did not finish: a partial answer would go upstream again on every retry (one copy more each time),
and a tool call cut inside its arguments would be run.

The scripted Chat model cuts Codex's first attempt in the middle of its text, the second in the middle of
a tool call's arguments, and fails every later one with an error frame after some text.  Codex retries
(``stream_max_retries``) and gives up; every request the model received carries the same history (no
partial assistant text, no broken call), and no command ran.  A second run ends with an answer on the
third attempt, and the model checks that its history is still the user's question alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from support.chat_chunks import ChatChunks, data_frame
from support.codex_cli import require_codex, run_codex, write_codex_home
from support.gateway import RunningGateway
from support.scripted_chat import ScriptedChat

from translator.gateway.app import Gateway
from translator.gateway.config import load_config

PARTIAL = "Here is the partial ans"
CUT_COMMAND = "touch cutshell && echo RAN-THE-CUT-CALL"
FINAL = "The answer, on the third attempt."

_chunk = ChatChunks(id="chatcmpl-cut", created=1760000000, model="scripted-chat-model")


def _frame(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> bytes:
    return data_frame(_chunk(delta, finish, **extra))


def cut_mid_text() -> list[bytes]:
    """Text in pieces, then the connection drops inside a frame (no finish_reason, no [DONE])."""
    words = PARTIAL.replace(" ", " \0").split("\0")
    frames = [_frame({"role": "assistant", "content": ""}), *(_frame({"content": w}) for w in words)]
    return [*frames, b'data: {"id']


def cut_mid_arguments() -> list[bytes]:
    """A shell call whose arguments stop in the middle of the command (``{"cmd": "touch cutshe``)."""
    arguments = orjson.dumps({"cmd": CUT_COMMAND}).decode()[:20]
    function = {"name": "exec_command", "arguments": ""}
    head = {"index": 0, "id": "call_cut", "type": "function", "function": function}
    frames = [_frame({"role": "assistant", "content": None}), _frame({"tool_calls": [head]})]
    frames += [
        _frame({"tool_calls": [{"index": 0, "function": {"arguments": arguments[i : i + 6]}}]})
        for i in range(0, len(arguments), 6)
    ]
    return frames


def error_after_text(attempt: int) -> list[bytes]:
    """Some text, then an in-stream error frame (the upstream's own failure)."""
    return [
        _frame({"role": "assistant", "content": ""}),
        _frame({"content": f"attempt {attempt} says"}),
        _frame(
            None, error={"message": "the model is overloaded", "type": "server_error", "code": "overloaded"}
        ),
    ]


def answer() -> list[bytes]:
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    return [
        _frame({"role": "assistant", "content": ""}),
        _frame({"content": FINAL}),
        _frame({}, "stop"),
        _frame(None, usage=usage),
        b"data: [DONE]\n\n",
    ]


@pytest.fixture
def codex_through_gateway(tmp_path: Path) -> Iterator[Any]:
    """``run(script, retries) -> (codex run, chat model)``: Codex -> gateway -> the breaking model."""
    codex = require_codex()
    stack: list[Any] = []

    def run(script: Any, retries: int) -> tuple[Any, ScriptedChat]:
        model = ScriptedChat(script, close=True).__enter__()
        stack.append(model)
        gateway = RunningGateway(Gateway(load_config(upstream=model.base_url, store="memory"))).start()
        stack.append(gateway)
        home = write_codex_home(
            tmp_path / f"home-{len(stack)}", f"{gateway.url}/v1", stream_max_retries=retries
        )
        workdir = tmp_path / f"work-{len(stack)}"
        workdir.mkdir()
        return run_codex(codex, "Say hello", home=home, workdir=workdir, timeout=90), model

    yield run
    for thing in reversed(stack):
        if isinstance(thing, RunningGateway):
            thing.stop()
        else:
            thing.__exit__()


def _assistant_history(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in request["messages"] if m.get("role") in ("assistant", "tool")]


def test_codex_retries_cut_and_failing_streams_with_nothing_accumulated(codex_through_gateway: Any) -> None:
    def script(n: int, body: dict[str, Any]) -> list[bytes]:
        return {1: cut_mid_text, 2: cut_mid_arguments}.get(n, lambda: error_after_text(n))()

    run, model = codex_through_gateway(script, retries=4)
    assert run.returncode != 0, run.describe()  # it gave up after its retries
    assert len(model.requests) == 5, run.describe()  # the first attempt and 4 retries
    first = model.requests[0]["messages"]
    for n, request in enumerate(model.requests[1:], start=2):
        # the retry is the same request: no partial text, no cut call, no tool output, nothing added
        assert request["messages"] == first, f"request {n} differs: {_assistant_history(request)}"
    assert _assistant_history(model.requests[-1]) == []
    body = orjson.dumps(model.requests).decode()
    assert PARTIAL not in body and "cutshe" not in body and "attempt 3 says" not in body
    assert not (run.workdir / "cutshell").exists()  # the cut call never ran
    assert "RAN-THE-CUT-CALL" not in run.stdout + run.stderr
    assert "overloaded" in run.stderr, run.describe()
    assert run.egress == []


def test_codex_answers_after_two_cuts_with_a_clean_history(codex_through_gateway: Any) -> None:
    def script(n: int, body: dict[str, Any]) -> list[bytes]:
        return {1: cut_mid_text, 2: cut_mid_arguments}.get(n, answer)()

    run, model = codex_through_gateway(script, retries=2)
    assert run.returncode == 0, run.describe()
    assert run.stdout.strip() == FINAL
    assert len(model.requests) == 3
    assert model.requests[0]["messages"] == model.requests[1]["messages"] == model.requests[2]["messages"]
    assert _assistant_history(model.requests[2]) == []
    assert not (run.workdir / "cutshell").exists()
    assert run.egress == []
