"""The fake upstream of the gateway tests and benchmarks: one scripted HTTP/1.1 server on loopback.

It speaks both protocols (``POST .../chat/completions`` and ``.../responses``); what it answers is
chosen by the request's ``model``, so one server serves every scenario:

=================================  ====================================================================
model                              answer
=================================  ====================================================================
``replay:<corpus file>``           the recorded stream (``chat/x.sse``, ``responses/x.sse``), one frame
                                   per HTTP chunk; a recorded object (``chat_json/x.json``) as JSON
``replay:<file>@<ms>``             the same, ``ms`` milliseconds between frames
``cut:<file>:<n>``                 the first ``n`` frames, half of the next, then the connection drops
``stall:<file>:<n>``               the first ``n`` frames, then silence (until the client goes away)
``break:<how>:<n>``                a role chunk and ``n`` content chunks of :func:`chat_frames`, then the
                                   connection breaks: ``length`` (the body announced twice as long by
                                   its Content-Length), ``reset`` (a TCP reset after the last whole HTTP
                                   chunk), ``gzip`` (the body, not compressed, said to be gzip);
                                   :func:`broken_body` is what was sent before
``headers-then-stall``             200 and SSE headers, then nothing
``status:<code>:<json file>``      that HTTP status with the body of ``chat_json/<json file>`` (or a
                                   literal JSON body after ``status:<code>:=``)
``slow-headers:<ms>``              waits ``ms`` before answering with a short stream
``echo-auth-error``                401 quoting the key it was sent, as some providers do
``echo:<where>``                   the key it was sent (the credential of its ``Authorization``), quoted
                                   back where a hostile or careless upstream might (:data:`ECHO_PLACES`):
                                   ``fields`` (a 400 error's message, type, code and param), ``ok-error``
                                   (a 200 JSON body that is an error), ``truncated`` (a 500 text body with
                                   the key across byte 500), ``html`` (a 200 HTML page with the key across
                                   byte 160), ``frame`` (a stream, then an error frame quoting it), ``split``
                                   (a stream whose text quotes it, cut inside the key into two reads)
``think-say-call``                  a tool loop's two steps: reasoning ("Let me think."), text ("I will look
                                   it up.") and a call of the first declared tool; once the last message
                                   is a tool result, the text "Done: <that result>"
``fast-<n>``                       a role chunk, ``n`` content chunks, a finish chunk, a usage chunk and
                                   ``[DONE]`` (:func:`chat_frames`), as fast as the connection takes them;
                                   on ``/responses`` (``fast`` and ``paced``), the same text as a
                                   Responses stream (:func:`responses_frames`: what a relayed gateway
                                   passes on)
``paced-<n>-<ms>``                 the same, ``ms`` milliseconds between content chunks
``big-<bytes>``                    content chunks of 4 KiB of text until about ``bytes`` were offered,
                                   written only as fast as the client reads them (flow control)
``stall-<n>``                      the first ``n`` content chunks, then silence until the client goes away
``html``, ``garbage:html``         200 with an HTML error page (``text/html``)
``binary``, ``garbage:binary``     200 ``text/event-stream`` with 2 KiB of binary bytes
``badjson``                        a valid first chunk, then a ``data:`` frame that is not JSON
``garbage:badjson``                a ``data:`` frame that is not JSON from the start
anything else                      a short stream saying ``Hello from <model>`` (Chat, or Responses on
                                   ``/responses``); a Chat completion object when ``stream`` is not true
=================================  ====================================================================

Token counts: ``POST /tokenize`` answers vLLM's shape (``count``) for ``messages`` and llama.cpp's
(``tokens``) for ``content``, ``POST /apply-template`` llama.cpp's ``prompt``, and a non-streamed Chat
request with ``max_tokens`` (or ``max_completion_tokens``) 1 reports ``usage.prompt_tokens``: each the
:func:`fake_token_count` of what it was sent.  A Responses upstream answers
``POST .../responses/input_tokens`` and ``.../responses/compact`` with fixed objects
(:data:`UPSTREAM_INPUT_TOKENS`, a compaction holding :data:`UPSTREAM_COMPACTION`).

``GET .../models`` answers a one-model list, ``GET /stats`` the counters (:class:`Stats`), and ``GET``
/``DELETE .../responses/<id>`` a Responses upstream's own stored response (:data:`UPSTREAM_RESPONSE_ID`;
:data:`ECHO_RESPONSE_ID`'s text quotes the key its request was sent).

Two ways to run it, one server:

* :class:`FakeUpstream` serves from a thread of the test process (an event loop of its own) and records
  every request (:class:`Seen`: path, headers, body, when the client was seen closing it), for tests
  that look at what the gateway sent;
* :class:`UpstreamProcess` runs this file as its own process (``python tests/support/fake_upstream.py
  --port 0`` prints ``port N`` once listening), for load tests and ``make bench-gateway``: its CPU time
  is not the measured process's, and it can be killed mid-stream.

The module needs only the standard library (and uses uvloop when installed), because the gateway
benchmark runs it with the Python of another virtualenv; the one exception is the ``Hello`` Responses
stream, written by the translator itself and imported only when one is asked for.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

__all__ = [
    "ECHO_PLACES",
    "ECHO_RESPONSE_ID",
    "UPSTREAM_COMPACTION",
    "UPSTREAM_INPUT_TOKENS",
    "UPSTREAM_RESPONSE_ID",
    "FakeUpstream",
    "Seen",
    "Stats",
    "UpstreamProcess",
    "broken_body",
    "chat_frames",
    "fake_token_count",
    "responses_frames",
    "split_frames",
    "text_stream_chat",
    "text_stream_responses",
    "think_say_call",
]

CREATED = 1_700_000_000
WORDS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa")
BIG_PIECE = 4096
DONE_FRAME = b"data: [DONE]\n\n"
#: Where ``echo:<where>`` quotes the key back.
ECHO_PLACES = ("fields", "ok-error", "truncated", "html", "frame", "split")
#: A stored response of the Responses upstream whose text quotes the key its GET was sent.
ECHO_RESPONSE_ID = "resp_echo_the_key"
HTML_PAGE = b"<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"
BINARY = bytes(range(256)) * 8
#: What a fake Responses upstream answers to input_tokens, and the content of its compaction item.
UPSTREAM_INPUT_TOKENS = 4242
UPSTREAM_COMPACTION = "sealed-by-the-upstream"
#: The one response a fake Responses upstream has stored of its own.
UPSTREAM_RESPONSE_ID = "resp_kept_by_the_upstream"
_NOT_FOUND = b'{"error":{"message":"not found","type":"invalid_request_error"}}'


def _sent_key(request: _Request) -> str:
    """The credential of the request's ``Authorization`` (what an upstream would quote back)."""
    return request.headers.get("authorization", "").partition(" ")[2].strip()


def _final_response(frames: list[bytes]) -> dict[str, Any]:
    """The response of a Responses stream's terminal event."""
    final: dict[str, Any] = json.loads(frames[-1].split(b"data: ", 1)[1])["response"]
    return final


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _data(payload: Any) -> bytes:
    return b"data: " + _json(payload) + b"\n\n"


# -- the streams it sends ----------------------------------------------------------------------------------


def split_frames(data: bytes) -> list[bytes]:
    """An SSE recording cut into frames (each ends with its blank line)."""
    data = data.replace(b"\r\n", b"\n")
    return [frame + b"\n\n" for frame in data.split(b"\n\n") if frame.strip()]


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{model}",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "system_fingerprint": None,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def chat_frames(model: str, n: int) -> list[bytes]:
    """The SSE frames of a ``fast-<n>`` (or ``paced``/``stall``) stream for ``model``: deterministic."""
    frames = [_data(_chunk(model, {"role": "assistant", "content": ""}))]
    frames += [_data(_chunk(model, {"content": f" {WORDS[i % len(WORDS)]}{i}"})) for i in range(n)]
    frames.append(_data(_chunk(model, {}, "stop")))
    usage = {"prompt_tokens": 12, "completion_tokens": n, "total_tokens": 12 + n}
    frames.append(_data({**_chunk(model, {}), "choices": [], "usage": usage}))
    frames.append(DONE_FRAME)
    return frames


def responses_frames(model: str, n: int) -> list[bytes]:
    """``fast-<n>`` as a Responses stream (the same ``n`` text deltas), written here with the standard
    library alone: created, in_progress, the message item and its part, the deltas, their ends,
    completed with usage."""
    rid, mid = f"resp_{model}", f"msg_{model}"
    base = {
        "id": rid,
        "object": "response",
        "created_at": CREATED,
        "model": model,
        "output": [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }
    words = [f" {WORDS[i % len(WORDS)]}{i}" for i in range(n)]
    part = {"type": "output_text", "text": "".join(words), "annotations": []}
    item = {"id": mid, "type": "message", "role": "assistant", "status": "completed", "content": [part]}
    usage = {
        "input_tokens": 12,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": n,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 12 + n,
    }
    at = {"item_id": mid, "output_index": 0, "content_index": 0}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": {**base, "status": "in_progress"}},
        {"type": "response.in_progress", "response": {**base, "status": "in_progress"}},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**item, "status": "in_progress", "content": []},
        },
        {"type": "response.content_part.added", **at, "part": {**part, "text": ""}},
        *({"type": "response.output_text.delta", **at, "delta": word, "logprobs": []} for word in words),
        {"type": "response.output_text.done", **at, "text": part["text"], "logprobs": []},
        {"type": "response.content_part.done", **at, "part": part},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {
            "type": "response.completed",
            "response": {**base, "status": "completed", "output": [item], "usage": usage},
        },
    ]
    return [
        b"event: %s\ndata: %s\n\n" % (e["type"].encode(), _json({**e, "sequence_number": k}))
        for k, e in enumerate(events)
    ]


def broken_body(n: int) -> bytes:
    """What ``break:<how>:<n>`` sends before the connection breaks (the upstream's bytes, decoded)."""
    return b"".join(chat_frames("break", n)[: n + 1])


def text_stream_chat(model: str, text: str) -> list[bytes]:
    """A short Chat stream answering ``text`` word by word, with a usage chunk (5 + 4 tokens)."""
    head = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": CREATED, "model": model}
    chunks = [
        {
            **head,
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
        },
        *(
            {**head, "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
            for word in text.replace(" ", "\0 ").split("\0")
        ),
        {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {**head, "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}},
    ]
    return [_data(c) for c in chunks] + [DONE_FRAME]


def text_stream_responses(model: str, text: str) -> list[bytes]:
    """A short Responses stream answering ``text``, written the way OpenAI streams it (by the translator)."""
    from translator import translate_chat_stream

    events = translate_chat_stream(text_stream_chat(model, text), response_fields={"store": False})
    return [b"event: %s\ndata: %s\n\n" % (e["type"].encode(), _json(e)) for e in events]


def think_say_call(model: str, body: dict[str, Any]) -> list[bytes]:
    """The ``think-say-call`` stream for this request (see the module docstring)."""
    messages = body.get("messages") or [{}]
    last = messages[-1] if isinstance(messages[-1], dict) else {}
    if last.get("role") == "tool":
        return text_stream_chat(model, f"Done: {last.get('content')}")
    tools = body.get("tools") or [{}]
    name = (tools[0].get("function") or {}).get("name", "lookup")
    call = {"index": 0, "id": "call_think_1", "type": "function"}
    deltas: list[tuple[dict[str, Any], str | None]] = [
        ({"role": "assistant", "content": None, "reasoning_content": "Let me think."}, None),
        ({"content": "I will look it up."}, None),
        ({"tool_calls": [{**call, "function": {"name": name, "arguments": ""}}]}, None),
        ({"tool_calls": [{"index": 0, "function": {"arguments": '{"q": "Ada"}'}}]}, None),
        ({}, "tool_calls"),
    ]
    frames = [_data(_chunk(model, delta, finish)) for delta, finish in deltas]
    usage = {"prompt_tokens": 7, "completion_tokens": 9, "total_tokens": 16}
    frames.append(_data({**_chunk(model, {}), "choices": [], "usage": usage}))
    return [*frames, DONE_FRAME]


def fake_token_count(value: Any) -> int:
    """The fake upstream's "tokenizer": one token per whitespace-separated word of every string in
    ``value`` (messages, tools or a prompt), plus 4 per message."""
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(fake_token_count(item) for item in value)
    if isinstance(value, dict):
        extra = 4 if "role" in value else 0
        return extra + sum(
            fake_token_count(item) for key, item in value.items() if key not in ("type", "role")
        )
    return 0


def _template(messages: list[Any]) -> str:
    return "".join(f"<|{m.get('role')}|> {fake_token_count(m.get('content')) * 'w '}" for m in messages)


def _counting(path: str, body: dict[str, Any]) -> bytes | None:
    """The answer to a token-counting request, or None when this is none."""
    route = path.split("?")[0]
    if route == "/tokenize" and "messages" in body:
        count = fake_token_count(body["messages"]) + fake_token_count(body.get("tools") or [])
        return _json({"count": count, "max_model_len": 32768, "tokens": list(range(count))})
    if route == "/tokenize":
        return _json({"tokens": list(range(len(str(body.get("content", "")).split())))})
    if route == "/apply-template":
        return _json({"prompt": _template(body.get("messages") or [])})
    if route.endswith("/responses/input_tokens"):
        return _json({"object": "response.input_tokens", "input_tokens": UPSTREAM_INPUT_TOKENS})
    if route.endswith("/responses/compact"):
        item = {"id": "cmp_upstream", "type": "compaction", "encrypted_content": UPSTREAM_COMPACTION}
        usage = {
            "input_tokens": 1,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 1,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 2,
        }
        compacted = {"id": "resp_upstream_compaction", "object": "response.compaction", "created_at": CREATED}
        return _json({**compacted, "output": [item], "usage": usage})
    if route.endswith("/chat/completions") and 1 in (
        body.get("max_tokens"),
        body.get("max_completion_tokens"),
    ):
        prompt = fake_token_count(body.get("messages") or []) + fake_token_count(body.get("tools") or [])
        completion = _completion(str(body.get("model", "")))
        completion["usage"] = {"prompt_tokens": prompt, "completion_tokens": 1, "total_tokens": prompt + 1}
        return _json(completion)
    return None


def _completion(model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": f"Hello from {model}"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    }


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # a status the standard library does not name (a provider's own)
        return "Status"


def _http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _dash_script(model: str) -> tuple[str, list[int]] | None:
    """``("fast", [n])``, ``("paced", [n, ms])``... for the load models, None for any other model."""
    kind, _, rest = model.partition("-")
    arity = {"fast": 1, "paced": 2, "big": 1, "stall": 1, "html": 0, "badjson": 0, "binary": 0}.get(kind)
    args = rest.split("-") if rest else []
    if arity is None or len(args) != arity or not all(a.isdigit() for a in args):
        return None
    return kind, [int(a) for a in args]


# -- what it saw -------------------------------------------------------------------------------------------


@dataclass
class Seen:
    """One request the fake upstream received (recorded by :class:`FakeUpstream`)."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    closed_at: float | None = None  # when the client was seen closing the connection mid-answer
    finished: bool = False  # the whole answer was written
    started: float = field(default_factory=time.monotonic)


@dataclass
class Stats:
    """Counters: requests started, answers finished, answers the client closed before their end,
    connections open, answers open now and at most, stream body bytes written; and the size of the last
    request (its ``messages`` or ``input`` items, its tools), for a process whose requests are not kept."""

    requests: int = 0
    finished: int = 0
    closed_early: int = 0
    open_connections: int = 0
    open_streams: int = 0
    peak_streams: int = 0
    bytes_written: int = 0
    last_items: int = 0
    last_tools: int = 0


class _Server:
    """What every connection of one server shares."""

    def __init__(self, corpus: Path | None, record: bool) -> None:
        self.corpus = corpus
        self.record = record
        self.stats = Stats()
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.connections: set[_Connection] = set()

    def corpus_file(self, name: str) -> Path:
        if self.corpus is None:
            raise FileNotFoundError(f"{name}: this fake upstream was started without a corpus folder")
        return self.corpus / name


@dataclass
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class _Connection(asyncio.Protocol):
    """One client connection: requests are read one after the other (keep-alive), answers streamed."""

    def __init__(self, server: _Server) -> None:
        self.server = server
        self.stats = server.stats
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.busy = False
        self.current: Seen | None = None
        self.writable = asyncio.Event()
        self.writable.set()
        self.lost = asyncio.Event()
        self.task: asyncio.Future[None] | None = None

    # -- asyncio.Protocol --------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.stats.open_connections += 1
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.stats.open_connections -= 1
        self.server.connections.discard(self)
        if self.current is not None and not self.current.finished and self.current.closed_at is None:
            self.current.closed_at = time.monotonic()
        self.writable.set()
        self.lost.set()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._next_request()

    # -- requests ----------------------------------------------------------------------------------

    def _next_request(self) -> None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        method, path, _ = head[0].split(" ", 2)
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        self.busy = True
        self.task = asyncio.ensure_future(self._serve(_Request(method, path, headers, body)))

    async def _serve(self, request: _Request) -> None:
        try:
            if request.method == "POST":
                await self._post(request)
            elif request.method in ("GET", "DELETE"):
                self._get_or_delete(request)
            else:
                self._answer(405, _NOT_FOUND)
        finally:
            self.busy = False
        if self.closed or self.transport is None or self.transport.is_closing():
            return
        if request.headers.get("connection", "").lower() == "close":
            self.transport.close()
        elif self.buffer:
            self._next_request()

    def _record(self, request: _Request, body: dict[str, Any]) -> Seen:
        seen = Seen(request.path, dict(request.headers), body)
        if self.server.record:
            with self.server.lock:
                self.server.seen.append(seen)
        return seen

    def _get_or_delete(self, request: _Request) -> None:
        path = request.path
        if request.method == "GET" and path.endswith("/stats"):
            self._answer(200, _json(asdict(self.stats)))
        elif "/responses/" in path:  # a Responses upstream's own stored responses
            self._record(request, {})
            if f"/responses/{ECHO_RESPONSE_ID}" in path:
                text = f"you sent {_sent_key(request)}"
                final = _final_response(text_stream_responses("upstream-model", text))
                self._answer(200, _json({**final, "id": ECHO_RESPONSE_ID}))
            else:
                self._stored_response(request.method, path)
        elif request.method == "GET" and path.split("?")[0].endswith("/models"):
            model = {"id": "fake-model", "object": "model", "created": 0, "owned_by": "fake"}
            self._answer(200, _json({"object": "list", "data": [model]}))
        else:
            self._answer(404, _NOT_FOUND)

    def _stored_response(self, method: str, path: str) -> None:
        if f"/responses/{UPSTREAM_RESPONSE_ID}" not in path:
            message = "not found" if method == "DELETE" else "Response not found"
            self._answer(404, _json({"error": {"message": message, "type": "invalid_request_error"}}))
        elif method == "DELETE":
            self._answer(200, _json({"id": UPSTREAM_RESPONSE_ID, "object": "response", "deleted": True}))
        elif path.split("?")[0].endswith("/input_items"):
            empty = {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}
            self._answer(200, _json(empty))
        else:
            final = _final_response(text_stream_responses("upstream-model", "kept upstream"))
            self._answer(200, _json({**final, "id": UPSTREAM_RESPONSE_ID}))

    async def _post(self, request: _Request) -> None:
        try:
            body = json.loads(request.body) if request.body else {}
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        seen = self._record(request, body)
        counted = _counting(request.path, body)
        if counted is not None:
            self._answer(200, counted, seen=seen)
            return
        stats = self.stats
        stats.requests += 1
        items = body.get("messages", body.get("input"))
        stats.last_items = len(items) if isinstance(items, list) else 1
        stats.last_tools = len(body.get("tools") or ())
        stats.open_streams += 1
        stats.peak_streams = max(stats.peak_streams, stats.open_streams)
        self.current = seen
        try:
            await self._script(str(body.get("model", "")), body, request, seen)
        finally:
            stats.open_streams -= 1
            self.current = None

    # -- the scripts -------------------------------------------------------------------------------

    async def _script(self, model: str, body: dict[str, Any], request: _Request, seen: Seen) -> None:
        kind, _, rest = model.partition(":")
        try:
            if await self._corpus_script(kind, rest, seen):
                return
        except FileNotFoundError as exc:
            self._answer(500, _json({"error": {"message": str(exc), "type": "fake_upstream_error"}}))
            return
        if await self._fault_script(kind, rest, request, seen):
            return
        load = _dash_script(model)
        if model == "think-say-call":
            await self._stream(think_say_call(model, body), seen)
        elif load is not None and load[0] in ("fast", "paced") and request.path.endswith("/responses"):
            pace = load[1][1] / 1000 if load[0] == "paced" else 0.0
            await self._stream(responses_frames(model, load[1][0]), seen, pace=pace)
        elif load is not None:
            await self._load_script(model, *load, seen)
        elif request.path.endswith("/responses"):
            await self._stream(text_stream_responses(model, f"Hello from {model}"), seen)
        elif body.get("stream") is True:
            await self._stream(text_stream_chat(model, f"Hello from {model}"), seen)
        else:
            self._answer(200, _json(_completion(model)), seen=seen)

    async def _corpus_script(self, kind: str, rest: str, seen: Seen) -> bool:
        """``replay:``, ``cut:``, ``stall:`` and ``status:`` (with a file): answers read from the corpus."""
        if kind == "replay":
            name, _, delay = rest.partition("@")
            path = self.server.corpus_file(name)
            if path.suffix == ".json":
                self._answer(200, path.read_bytes(), seen=seen)
            else:
                await self._stream(split_frames(path.read_bytes()), seen, delay=float(delay or 0) / 1000)
        elif kind == "cut":
            name, _, count = rest.rpartition(":")
            frames = split_frames(self.server.corpus_file(name).read_bytes())
            n = int(count)
            await self._stream([*frames[:n], frames[n][: len(frames[n]) // 2]], seen, cut=True)
        elif kind == "stall" and rest:
            name, _, count = rest.rpartition(":")
            frames = split_frames(self.server.corpus_file(name).read_bytes())
            await self._stream(frames[: int(count)], seen, stall=True)
        elif kind == "status":
            code, _, source = rest.partition(":")
            payload = (
                source[1:].encode()
                if source.startswith("=")
                else self.server.corpus_file(f"chat_json/{source}").read_bytes()
            )
            extra = {"retry-after": "7"} if code == "429" else None
            self._answer(int(code), payload, headers=extra, seen=seen)
        else:
            return False
        return True

    async def _fault_script(self, kind: str, rest: str, request: _Request, seen: Seen) -> bool:
        """The faults that need no corpus: stalls, garbage, slow headers, an auth error."""
        if kind == "headers-then-stall":
            await self._stream([], seen, stall=True)
        elif kind == "garbage" and rest == "badjson":
            await self._stream([b"data: {not json at all\n\n", DONE_FRAME], seen)
        elif kind == "garbage" and rest in ("html", "binary"):
            await self._load_script(rest, rest, [], seen)
        elif kind == "slow-headers":
            await asyncio.sleep(float(rest) / 1000)
            await self._stream(text_stream_chat(kind + ":" + rest, "late but fine"), seen)
        elif kind == "break":
            how, _, count = rest.partition(":")
            await self._break(how, broken_body(int(count)), seen)
        elif kind == "echo":
            await self._echo(rest, request, seen)
        elif kind == "echo-auth-error":  # as providers do: the key they were given, quoted back
            given = request.headers.get("authorization", "")
            message = f"Incorrect API key provided: {given.removeprefix('Bearer ')}"
            error = {"error": {"message": message, "type": "invalid_request_error"}}
            self._answer(401, _json(error), seen=seen)
        else:
            return False
        return True

    async def _echo(self, where: str, request: _Request, seen: Seen) -> None:
        """``echo:<where>``: the key this request was sent, quoted back in one of :data:`ECHO_PLACES`."""
        key = _sent_key(request)
        model = f"echo:{where}"
        responses = request.path.endswith("/responses")
        if where == "fields":
            error = {"message": f"the key {key} is revoked", "type": key, "code": key, "param": key}
            self._answer(400, _json({"error": error}), seen=seen)
        elif where == "ok-error":
            self._answer(200, _json({"error": {"message": f"key {key} revoked", "code": key}}), seen=seen)
        elif where == "truncated":
            body = ("x" * (500 - len(key) // 2) + key + " and more").encode()
            self._answer(500, body, content_type="text/plain", seen=seen)
        elif where == "html":
            page = ("<html><body>" + "." * (160 - 12 - len(key) // 2) + key + "</body></html>").encode()
            self._answer(200, page, content_type="text/html", seen=seen)
        elif where == "frame":
            if responses:
                frames = text_stream_responses(model, "partial")[:3]
                error = {"type": "error", "code": key, "message": f"upstream saw {key}", "sequence_number": 3}
                frames.append(b"event: error\n" + _data(error))
            else:
                frames = text_stream_chat(model, "partial")[:2]
                frames.append(_data({"error": {"message": f"upstream saw {key}", "code": key}}))
            await self._stream(frames, seen)
        elif where == "split":
            text = f"you sent {key} just now"
            frames = text_stream_responses(model, text) if responses else text_stream_chat(model, text)
            half = key[: len(key) // 2].encode()
            cut: list[bytes] = []
            for frame in frames:  # every frame quoting the key, in two HTTP chunks cut inside the key
                at = frame.find(half)
                cut += [frame[: at + len(half)], frame[at + len(half) :]] if at >= 0 else [frame]
            await self._stream(cut, seen, delay=0.02)
        else:
            self._answer(400, _json({"error": {"message": f"no echo place {where!r}"}}), seen=seen)

    async def _load_script(self, model: str, kind: str, args: list[int], seen: Seen) -> None:
        """``fast``, ``paced``, ``big``, ``stall``, ``html``, ``badjson``, ``binary`` (the load models)."""
        if kind == "html":
            self._answer(200, HTML_PAGE, content_type="text/html", seen=seen)
        elif kind == "binary":
            await self._stream([BINARY], seen)
        elif kind == "badjson":
            await self._stream([*chat_frames(model, 2)[:2], b"data: {this is not json\n\n"], seen)
        elif kind == "big":
            await self._big(model, args[0], seen)
        elif kind == "stall":
            await self._stream(chat_frames(model, args[0])[: args[0] + 1], seen, stall=True)
        else:
            frames = chat_frames(model, args[0])
            await self._stream(frames, seen, pace=args[1] / 1000 if kind == "paced" else 0.0)

    # -- writing -----------------------------------------------------------------------------------

    def _answer(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        seen: Seen | None = None,
    ) -> None:
        """A whole answer with a Content-Length."""
        if self.closed or self.transport is None:
            return
        lines = [f"HTTP/1.1 {status} {_reason(status)}", f"content-type: {content_type}"]
        lines.append(f"content-length: {len(body)}")
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        if seen is not None:
            self._finished(seen)

    def _finished(self, seen: Seen) -> None:
        seen.finished = True
        self.stats.finished += 1

    def _closed_early(self, seen: Seen) -> None:
        if seen.closed_at is None:
            seen.closed_at = time.monotonic()
        self.stats.closed_early += 1

    def _write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)
        self.stats.bytes_written += len(data)

    async def _stream(
        self,
        frames: list[bytes],
        seen: Seen,
        *,
        delay: float = 0.0,
        pace: float = 0.0,
        cut: bool = False,
        stall: bool = False,
    ) -> None:
        """200 ``text/event-stream``, one frame per HTTP chunk.

        ``delay`` waits before every frame but the first; ``pace`` between the content chunks of
        :func:`chat_frames` only; ``cut`` drops the connection inside the last frame; ``stall`` keeps the
        answer open until the client goes away.
        """
        if self.closed or self.transport is None:
            self._closed_early(seen)
            return
        self.transport.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        last = len(frames) - 1
        for number, frame in enumerate(frames):
            wait = delay if number else 0.0
            if pace and 2 <= number <= last - 2:
                wait = pace
            if wait:
                await asyncio.sleep(wait)
            elif number % 16 == 15:  # let other streams interleave, and notice a closed connection
                await asyncio.sleep(0)
            if self.closed:
                self._closed_early(seen)
                return
            if cut and number == last:  # the chunk says twice what it holds: the body ends inside it
                self._write(b"%x\r\n%s" % (len(frame) * 2, frame))
            else:
                self._write(_http_chunk(frame))
            if not self.writable.is_set():
                await self.writable.wait()
        if cut:  # the server broke the connection: neither finished nor closed by the client
            self.transport.close()
            return
        if stall:
            await self.lost.wait()
            self._closed_early(seen)
            return
        if self.closed:
            self._closed_early(seen)
            return
        self.transport.write(b"0\r\n\r\n")
        self._finished(seen)

    async def _break(self, how: str, body: bytes, seen: Seen) -> None:
        """``break:``: ``body``, then the connection breaks as ``how`` says (``length``, ``reset``,
        ``gzip``)."""
        assert self.transport is not None
        head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        if how in ("length", "gzip"):
            length = 2 * len(body) if how == "length" else len(body)
            encoding = b"content-encoding: gzip\r\n" if how == "gzip" else b""
            self._write(head + encoding + b"content-length: %d\r\n\r\n%s" % (length, body))
            await asyncio.sleep(0.05)
            self.transport.close()
        else:
            self._write(head + b"transfer-encoding: chunked\r\n\r\n" + _http_chunk(body))
            await asyncio.sleep(0.05)
            sock = self.transport.get_extra_info("socket")
            if sock is not None:  # linger 0: the close sends a reset, not a FIN
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.transport.abort()
        self._closed_early(seen)

    async def _big(self, model: str, total: int, seen: Seen) -> None:
        assert self.transport is not None
        frames = chat_frames(model, 0)
        content = _data(_chunk(model, {"content": "a" * (BIG_PIECE - 1) + " "}))
        self.transport.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        self._write(_http_chunk(frames[0]))
        sent = 0
        while sent < total:
            await self.writable.wait()
            if self.closed:
                self._closed_early(seen)
                return
            self._write(_http_chunk(content))
            sent += len(content)
            await asyncio.sleep(0)
        for frame in frames[1:]:
            self._write(_http_chunk(frame))
        self.transport.write(b"0\r\n\r\n")
        self._finished(seen)


def _listening_socket(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY only on sockets that say so (else Nagle's
    # algorithm holds each small frame back until the client's delayed ACK, some 40 ms)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(4096)
    return sock


# -- in the test process -----------------------------------------------------------------------------------


class FakeUpstream:
    """The fake upstream served from a thread (its own event loop); ``url`` is its ``/v1`` base URL.

    ``corpus`` is the folder the ``replay:``/``cut:``/``stall:``/``status:`` models read.  Every request
    is recorded: ``seen`` lists them, ``last()`` is the latest.
    """

    def __init__(self, corpus: Path | None = None) -> None:
        self._server = _Server(corpus, record=True)
        self._socket = _listening_socket("127.0.0.1", 0)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="fake-upstream", daemon=True)
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        host, port = self._socket.getsockname()[:2]
        return f"http://{host}:{port}/v1"

    @property
    def seen(self) -> list[Seen]:
        with self._server.lock:
            return list(self._server.seen)

    def last(self) -> Seen:
        return self.seen[-1]

    def stats(self) -> dict[str, int]:
        return asdict(self._server.stats)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            self._loop.create_server(lambda: _Connection(self._server), sock=self._socket)
        )
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            for connection in list(self._server.connections):
                if connection.transport is not None:
                    connection.transport.abort()
            self._loop.run_until_complete(server.wait_closed())
            pending = asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.close()

    def start(self) -> FakeUpstream:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake upstream did not start")
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._socket.close()


# -- as its own process ------------------------------------------------------------------------------------


class UpstreamProcess:
    """The fake upstream as its own process (this file run by ``sys.executable``), nothing recorded.

    ``stats()`` reads its counters over HTTP; ``kill()`` is SIGKILL, mid-stream if one is open.
    """

    def __init__(self, corpus: Path | None = None) -> None:
        command = [sys.executable, str(Path(__file__).resolve()), "--port", "0"]
        if corpus is not None:
            command += ["--corpus", str(corpus)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("port "):
            self.process.kill()
            self.process.wait(5)
            raise RuntimeError(f"the fake upstream did not start: {line!r}")
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def stats(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.url}/stats", timeout=5) as answer:
            return dict(json.loads(answer.read()))

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(5)
        if self.process.stdout is not None:
            self.process.stdout.close()

    stop = kill


async def serve(host: str, port: int, corpus: Path | None = None) -> None:
    """Serve until cancelled; prints ``port N`` once listening."""
    shared = _Server(corpus, record=False)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(shared), sock=_listening_socket(host, port))
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The scripted fake upstream of the gateway tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--corpus", type=Path, help="the folder replay:/cut:/stall:/status: models read")
    args = parser.parse_args(argv)
    runner: Any = asyncio.run
    with contextlib.suppress(ImportError):
        import uvloop

        runner = uvloop.run
    try:
        runner(serve(args.host, args.port, args.corpus))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
